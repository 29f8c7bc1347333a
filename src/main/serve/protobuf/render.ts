/**
 * The Prometheus protobuf exposition: length-delimited io.prometheus.client.MetricFamily messages, read
 * from `registry.getMetricsAsJSON()` so every metric in the registry is rendered (the hub's and the
 * user's own prom-client metrics). Histograms carry their classic buckets and, when the hub holds them,
 * their native buckets and native exemplars; counters and buckets carry their exemplars (Prometheus
 * reads the exemplars of a native histogram from its exemplar list, or from its buckets when the list
 * is empty).
 *
 * Field numbers follow prometheus/client_model's metrics.proto:
 * ```text
 * MetricFamily  name 1, help 2, type 3 (COUNTER 0, GAUGE 1, SUMMARY 2, UNTYPED 3, HISTOGRAM 4), metric 4
 * Metric        label 1, gauge 2, counter 3, summary 4, untyped 5, histogram 7
 * LabelPair     name 1, value 2          Gauge/Untyped value 1     Counter value 1, exemplar 2
 * Summary       sample_count 1, sample_sum 2, quantile 3 (quantile 1, value 2)
 * Histogram     sample_count 1, sample_sum 2, bucket 3 (cumulative_count 1, upper_bound 2, exemplar 3),
 *               schema 5, zero_threshold 6, zero_count 7, negative_span 9, negative_delta 10,
 *               positive_span 12, positive_delta 13, exemplars 16 (native)  BucketSpan offset 1 (sint32), length 2
 * Exemplar      label 1, value 2, timestamp 3 (google.protobuf.Timestamp: seconds 1, nanos 2)
 * created_timestamp (google.protobuf.Timestamp): Counter 3, Summary 4, Histogram 15
 * ```
 * @module
 */
import type { NativeSnapshot, SparseSide } from "../../bridge/native-buckets.js";
import { labelNumber } from "../format.js";
import type { ExemplarSnapshot, FamilySnapshot, SampleLabels, SampleSnapshot } from "../snapshot.js";
import { ProtoWriter } from "./writer.js";

/** The Content-Type of the delimited protobuf format. */
export const kProtobufContentType = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

const kTypeCounter = 0;
const kTypeGauge = 1;
const kTypeSummary = 2;
const kTypeUntyped = 3;
const kTypeHistogram = 4;

/** A sample as the protobuf renderer may find it: the hub's `_count` samples carry native buckets. */
type Sample = SampleSnapshot & { readonly native?: NativeSnapshot };

/**
 * Render metric families as delimited protobuf messages.
 *
 * @example
 * const body = renderProtobuf(await registry.getMetricsAsJSON());
 */
export function renderProtobuf(families: readonly FamilySnapshot[]): Uint8Array {
  const w = new ProtoWriter();
  for (const family of families) {
    const values = (family.values ?? []) as readonly Sample[];
    // Prometheus skips families without metrics; leaving them out saves the bytes.
    if (values.length === 0) continue;
    w.fork();
    familyHead(w, family);
    familyMetrics(w, family, values);
    w.join();
  }
  return w.finish();
}

/**
 * Render one family's Metric messages for `values` (whole series), without the family's head: a family
 * rendered in slices is the concatenation of its parts (see {@link protobufFamilyHead}).
 */
export function protobufMetrics(family: FamilySnapshot, values: readonly SampleSnapshot[]): Uint8Array {
  const w = new ProtoWriter();
  familyMetrics(w, family, values as readonly Sample[]);
  return w.finish();
}

/**
 * The bytes in front of a family rendered in parts: the delimited message's length (its head and
 * `bodyBytes` of Metric messages), then its name, help and type.
 */
export function protobufFamilyHead(family: FamilySnapshot, bodyBytes: number): Uint8Array {
  const head = new ProtoWriter();
  familyHead(head, family);
  const fields = head.finish();
  const w = new ProtoWriter();
  w.varint(fields.length + bodyBytes);
  const prefix = w.finish();
  const out = new Uint8Array(prefix.length + fields.length);
  out.set(prefix, 0);
  out.set(fields, prefix.length);
  return out;
}

function familyHead(w: ProtoWriter, family: FamilySnapshot): void {
  w.string(1, family.name);
  if (family.help) w.string(2, family.help);
  w.uint(3, protobufType(family.type));
}

function protobufType(type: string): number {
  switch (type) {
    case "counter":
      return kTypeCounter;
    case "gauge":
      return kTypeGauge;
    case "histogram":
      return kTypeHistogram;
    case "summary":
      return kTypeSummary;
    default:
      return kTypeUntyped;
  }
}

function familyMetrics(w: ProtoWriter, family: FamilySnapshot, values: readonly Sample[]): void {
  switch (family.type) {
    case "counter":
      for (const sample of values) scalar(w, sample, 3, sample.exemplar);
      break;
    case "gauge":
      for (const sample of values) scalar(w, sample, 2, undefined);
      break;
    case "histogram":
      for (const group of groupSeries(family.name, values, "le")) histogram(w, group);
      break;
    case "summary":
      for (const group of groupSeries(family.name, values, "quantile")) summary(w, group);
      break;
    default:
      for (const sample of values) scalar(w, sample, 5, undefined);
  }
}

function labels(w: ProtoWriter, sampleLabels: SampleLabels | undefined, skip?: string): void {
  if (sampleLabels === undefined) return;
  for (const name in sampleLabels) {
    const value = sampleLabels[name];
    if (value === undefined || name === skip) continue;
    w.fork(1);
    w.string(1, name);
    w.string(2, String(value));
    w.join();
  }
}

/** A counter, gauge or untyped metric: labels and `{ value }` in field `field`. */
function scalar(w: ProtoWriter, sample: Sample, field: number, ex: ExemplarSnapshot | null | undefined): void {
  w.fork(4);
  labels(w, sample.labels);
  w.fork(field);
  w.double(1, sample.value);
  if (ex) exemplar(w, 2, ex);
  if (field === 3) timestamp(w, 3, sample.created);
  w.join();
  w.join();
}

function exemplar(w: ProtoWriter, field: number, ex: ExemplarSnapshot): void {
  if (typeof ex.value !== "number") return;
  w.fork(field);
  labels(w, ex.labelSet);
  w.double(2, ex.value);
  timestamp(w, 3, ex.timestamp);
  w.join();
}

/** A google.protobuf.Timestamp in field `field` from seconds since the epoch; nothing when not finite. */
function timestamp(w: ProtoWriter, field: number, seconds: number | undefined): void {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return;
  const whole = Math.floor(seconds);
  w.fork(field);
  w.uint(1, whole);
  w.uint(2, Math.min(999_999_999, Math.round((seconds - whole) * 1e9)));
  w.join();
}

/** The samples of one histogram or summary series. */
interface Group {
  labels: SampleLabels | undefined;
  points: Sample[];
  sum: Sample | undefined;
  count: Sample | undefined;
}

function groupSeries(name: string, values: readonly Sample[], special: string): Group[] {
  const groups = new Map<string, Group>();
  for (const sample of values) {
    const key = seriesKeyOf(sample.labels, special);
    let group = groups.get(key);
    if (group === undefined) {
      group = { labels: sample.labels, points: [], sum: undefined, count: undefined };
      groups.set(key, group);
    }
    const sampleName = sample.metricName ?? name;
    if (sampleName === `${name}_sum`) group.sum = sample;
    else if (sampleName === `${name}_count`) group.count = sample;
    else {
      group.points.push(sample);
      group.labels = sample.labels;
    }
  }
  return [...groups.values()];
}

/** A key of a sample's labels without `skip` (`le` or `quantile`): the series it belongs to. */
function seriesKeyOf(sampleLabels: SampleLabels | undefined, skip: string): string {
  let key = "";
  for (const name in sampleLabels) {
    const value = sampleLabels[name];
    if (name !== skip && value !== undefined) key += `${name}\u0000${String(value)}\u0001`;
  }
  return key;
}

function histogram(w: ProtoWriter, group: Group): void {
  const native = group.count?.native;
  const buckets = group.points.map((sample) => ({ sample, le: labelNumber(sample.labels?.le) })).sort((a, b) => a.le - b.le);
  const count = group.count?.value ?? buckets.at(-1)?.sample.value ?? 0;
  w.fork(4);
  labels(w, group.count?.labels ?? group.labels, "le");
  w.fork(7);
  w.uint(1, count);
  w.double(2, group.sum?.value ?? 0);
  for (const { sample, le } of buckets) {
    // +Inf is implied by sample_count; it is written only to carry an exemplar.
    if (le === Infinity && !sample.exemplar) continue;
    w.fork(3);
    w.uint(1, sample.value);
    w.double(2, le);
    if (sample.exemplar) exemplar(w, 3, sample.exemplar);
    w.join();
  }
  timestamp(w, 15, group.count?.created);
  if (native !== undefined) nativePart(w, native);
  w.join();
  w.join();
}

function nativePart(w: ProtoWriter, native: NativeSnapshot): void {
  w.sint(5, native.schema);
  w.double(6, native.zeroThreshold);
  w.uint(7, native.zeroCount);
  side(w, native.negative, 9, 10);
  side(w, native.positive, 12, 13);
  // The native histogram's own exemplars (Prometheus reads them instead of the buckets' when present).
  for (const ex of native.exemplars ?? []) exemplar(w, 16, ex);
}

function side(w: ProtoWriter, sparse: SparseSide, spanField: number, deltaField: number): void {
  for (const span of sparse.spans) {
    w.fork(spanField);
    w.sint(1, span.offset);
    w.uint(2, span.length);
    w.join();
  }
  w.packedSint(deltaField, sparse.deltas);
}

function summary(w: ProtoWriter, group: Group): void {
  w.fork(4);
  labels(w, group.count?.labels ?? group.labels, "quantile");
  w.fork(4);
  w.uint(1, group.count?.value ?? 0);
  w.double(2, group.sum?.value ?? 0);
  for (const sample of group.points) {
    w.fork(3);
    w.double(1, labelNumber(sample.labels?.quantile));
    w.double(2, sample.value);
    w.join();
  }
  timestamp(w, 4, group.count?.created);
  w.join();
  w.join();
}
