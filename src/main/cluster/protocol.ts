/**
 * The messages cluster worker processes and the primary exchange over node:cluster's IPC channel, and
 * the conversion of a prom-client registry's `getMetricsAsJSON()` into the compact families they carry.
 *
 * A push carries CUMULATIVE values (a counter's total in that process, a histogram's cumulative buckets),
 * only for series that changed since the previous push. The primary turns them into increments itself, so
 * a push that is repeated, or lost while a later one arrives, changes nothing; the sequence number only
 * keeps an older push from overwriting a newer one.
 *
 * ```
 * worker ──push {session, seq, full, reply?, ack?, families}──▶ primary
 * worker ◀──ack {session, seq} ── (when the push asked for it)
 * worker ◀──collect {id} ──────── (a scrape wants fresh values: push now, with reply: id)
 * worker ◀──resync {session} ──── (the primary lacks this process's baseline: send every series)
 * worker ──announce {target, labels} / withdraw {target}──▶ primary (service discovery)
 * worker ◀──discover ──────────── (the primary's target directory started: announce again)
 * ```
 *
 * Versions: every message but the push is as in version 1. A push is version 2: a counter's or
 * histogram's series may end with a {@link WireExtra} (exemplars, created time, native buckets) and a
 * histogram family may be declared native (`nh`). A primary reads pushes of version 1 (numbers only) and
 * 2; a version-1 primary refuses (and reports) the pushes of a version-2 process.
 * @module
 */
import type { Registry } from "prom-client";
import { countsOfSparse } from "./native-merge.js";

/** The `type` of every prom-threads cluster message; other messages on the channel are ignored. */
export const kMessageType = "prom-threads:cluster";
/** Protocol version of every message but the push; a message of another version is dropped and reported. */
export const kProtocolVersion = 1;
/** Version of the push message: 2 adds exemplars, created times and native histograms (see {@link WireExtra}). */
export const kPushVersion = 2;

/** A number as it crosses the channel: JSON has no NaN or infinities, so they travel as strings. */
type WireNumber = number | "NaN" | "+Inf" | "-Inf";

/**
 * One series of a family: its labels, then its values.
 * - counter, gauge: `[labels, value]`
 * - histogram: `[labels, sum, ...cumulative bucket counts]`, one count per bound and a last one for +Inf
 * - summary: `[labels, sum, count, ...one value per quantile]`
 * A gauge or summary series whose values are `[labels, null]` is gone from the process. A counter or
 * histogram series may end with one {@link WireExtra} object (push version 2).
 */
export type WireSeries = [Record<string, string>, ...(WireNumber | null | WireExtra)[]];

/**
 * One exemplar: `[slot, labels, value, timestamp]`. The slot is 0 for a counter, the classic bucket's
 * position for a histogram (its bounds in order, then `+Inf`); the timestamp is in seconds since the epoch.
 */
type WireExemplar = [number, Record<string, string>, WireNumber, number];

/**
 * A process's native buckets of one histogram series, cumulative like the rest of the row: schema,
 * zero threshold, zero count, and each side as `[index, count, index, count, ...]` (populated buckets,
 * signed indexes at the schema; the negative side holds the buckets of `|v|`).
 */
interface WireNative {
  s: number;
  z: number;
  zc: number;
  p: number[];
  n: number[];
  /** The native histogram's own exemplar list (client_golang's, kept per series), `[labels, value, timestamp]` each. */
  x?: [Record<string, string>, WireNumber, number][];
}

/** What a counter or histogram series carries besides its numbers (push version 2); every field optional. */
interface WireExtra {
  /** The latest exemplar of each exported slot that has one. */
  x?: WireExemplar[];
  /** When the series was created in the process (first seen, or its last reset): seconds since the epoch. */
  c?: number;
  /** Native buckets, for a histogram declared native (`nh`). */
  h?: WireNative;
}

/** One metric family as a process has it. */
export interface WireFamily {
  /** Name. */
  n: string;
  /** Help. */
  h: string;
  /** Type. */
  t: "counter" | "gauge" | "histogram" | "summary";
  /** prom-client's aggregator of the metric (`sum`, `max`, `min`, `first`, `average`, `omit`). */
  a: string;
  /** Histogram bucket bounds without +Inf; summary quantiles. */
  b?: number[];
  /** `1` for a histogram with native buckets (push version 2). */
  nh?: 1;
  /** Series that changed since the previous push (every series when the push is full). */
  s: WireSeries[];
}

/** A worker process's push. */
export interface PushMessage {
  type: typeof kMessageType;
  v: typeof kPushVersion;
  kind: "push";
  /** Random id of the publisher, so a new publisher in the same process restarts the sequence. */
  session: string;
  /** 1, 2, 3, ... per session. */
  seq: number;
  /** Whether every series of the process is listed (series of gauges and summaries not listed are gone). */
  full: boolean;
  /** The collect request this push answers. */
  reply?: number;
  /** Ask the primary to acknowledge once it has applied this push. */
  ack?: boolean;
  families: WireFamily[];
}

/** The primary's acknowledgement of a push. */
export interface AckMessage {
  type: typeof kMessageType;
  v: typeof kProtocolVersion;
  kind: "ack";
  session: string;
  seq: number;
}

/** The primary asks every process for a push now. */
export interface CollectMessage {
  type: typeof kMessageType;
  v: typeof kProtocolVersion;
  kind: "collect";
  id: number;
}

/** The primary asks a process to send every series in its next push. */
export interface ResyncMessage {
  type: typeof kMessageType;
  v: typeof kProtocolVersion;
  kind: "resync";
  session: string;
}

/** A worker process serves its own metrics at `url` and wants to be listed for service discovery. */
export interface AnnounceMessage {
  type: typeof kMessageType;
  v: typeof kProtocolVersion;
  kind: "announce";
  /** `host:port` as Prometheus should scrape it. */
  target: string;
  labels: Record<string, string>;
}

/** The worker process no longer serves `target`. */
export interface WithdrawMessage {
  type: typeof kMessageType;
  v: typeof kProtocolVersion;
  kind: "withdraw";
  target: string;
}

/** The primary asks every process to announce its targets again (its directory started late). */
export interface DiscoverMessage {
  type: typeof kMessageType;
  v: typeof kProtocolVersion;
  kind: "discover";
}

/** Any prom-threads cluster message. */
export type ClusterMessage = PushMessage | AckMessage | CollectMessage | ResyncMessage | AnnounceMessage | WithdrawMessage | DiscoverMessage;

/** Whether `message` is meant for prom-threads (of any version); the rest of the channel's traffic is not ours. */
export function isOurs(message: unknown): message is { type: typeof kMessageType; v: unknown; kind: unknown } {
  return message !== null && typeof message === "object" && (message as { type?: unknown }).type === kMessageType;
}

/** Build a message of the current version. */
export function message<M extends ClusterMessage>(body: Omit<M, "type" | "v">): M {
  return { type: kMessageType, v: body.kind === "push" ? kPushVersion : kProtocolVersion, ...body } as M;
}

/** Encode a number for the channel. */
function toWire(value: number): WireNumber {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return "NaN";
  return value > 0 ? "+Inf" : "-Inf";
}

/** Decode a number from the channel; `undefined` for anything that is not one. */
export function fromWire(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (value === "NaN") return Number.NaN;
  if (value === "+Inf") return Number.POSITIVE_INFINITY;
  if (value === "-Inf") return Number.NEGATIVE_INFINITY;
  return undefined;
}

/** A key for a label set, independent of the order of its names. */
export function labelKey(labels: Record<string, string>): string {
  const names = Object.keys(labels).sort();
  let key = "";
  for (const name of names) {
    const value = labels[name] as string;
    key += `${name.length}:${name}${value.length}:${value}`;
  }
  return key;
}

interface JsonSample {
  value: number;
  labels?: Record<string, string | number | undefined>;
  metricName?: string;
  exemplar?: { labelSet?: Record<string, string | number | undefined>; value?: unknown; timestamp?: unknown } | null;
  created?: unknown;
  native?: { schema: number; zeroThreshold: number; zeroCount: number; positive: JsonSparse; negative: JsonSparse; exemplars?: readonly JsonSample["exemplar"][] };
}

interface JsonSparse {
  spans: readonly { offset: number; length: number }[];
  deltas: readonly number[];
}

/** The exemplar of a sample as it crosses the channel, or undefined when it has none. */
function wireExemplar(slot: number, exemplar: JsonSample["exemplar"]): WireExemplar | undefined {
  if (exemplar === null || exemplar === undefined || typeof exemplar.value !== "number") return undefined;
  const timestamp = typeof exemplar.timestamp === "number" && Number.isFinite(exemplar.timestamp) ? exemplar.timestamp : 0;
  return [slot, stringLabels(exemplar.labelSet), toWire(exemplar.value), timestamp];
}

/** A native snapshot's side as `[index, count, ...]`. */
function wirePairs(side: JsonSparse): number[] {
  const out: number[] = [];
  for (const [index, count] of countsOfSparse(side.spans, side.deltas)) out.push(index, count);
  return out;
}

/** Add `extra` to `row` when it holds anything. */
function withExtra(row: WireSeries, extra: WireExtra): WireSeries {
  if (extra.x !== undefined || extra.c !== undefined || extra.h !== undefined) row.push(extra);
  return row;
}

interface JsonMetric {
  name: string;
  help: string;
  type: string;
  aggregator?: string;
  values?: JsonSample[];
}

function stringLabels(labels: JsonSample["labels"], without?: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (labels === undefined) return out;
  for (const name in labels) {
    const value = labels[name];
    if (name === without || value === undefined) continue;
    out[name] = String(value);
  }
  return out;
}

/**
 * A process's metrics as families keyed by name, each with its series keyed by label key. This is what a
 * publisher compares from push to push.
 */
export type Snapshot = Map<string, { family: Omit<WireFamily, "s">; series: Map<string, WireSeries> }>;

/** One registry as a snapshot reads it: its `getMetricsAsJSON()` output, and its metric objects by name. */
export interface RegistryReading {
  readonly metrics: readonly unknown[];
  metric(name: string): unknown;
}

/** Read a prom-client registry for {@link snapshotOf}. */
export async function readRegistry(registry: Registry): Promise<RegistryReading> {
  return { metrics: (await registry.getMetricsAsJSON()) as unknown[], metric: (name) => registry.getSingleMetric(name) };
}

/**
 * The bucket bounds (histogram, without +Inf) or quantiles (summary) a metric was configured with, read
 * from the metric object itself: a hub's metric (`declaration`) or prom-client's (`upperBounds`,
 * `percentiles`). Undefined for a metric class that does not say.
 */
function configuredLayout(metric: unknown, type: "histogram" | "summary"): number[] | undefined {
  if (metric === null || typeof metric !== "object") return undefined;
  const object = metric as { declaration?: { buckets?: unknown; percentiles?: unknown }; upperBounds?: unknown; percentiles?: unknown };
  const values = type === "histogram" ? (object.declaration?.buckets ?? object.upperBounds) : (object.declaration?.percentiles ?? object.percentiles);
  if (!Array.isArray(values) || !values.every((v) => typeof v === "number")) return undefined;
  return type === "histogram" ? values.filter((v: number) => Number.isFinite(v)) : [...(values as number[])];
}

/**
 * Convert registry readings into a snapshot. Metrics of other types than the four Prometheus ones are
 * skipped; the first registry wins when two hold a metric of one name. A histogram's buckets and a
 * summary's quantiles come from the metric's configuration, so a family is declared the same way before
 * and after its first observation; only a metric class that does not expose its configuration has them
 * read from its samples, and is then left out until it has a series.
 */
export function snapshotOf(readings: readonly RegistryReading[]): Snapshot {
  const snapshot: Snapshot = new Map();
  for (const reading of readings) {
    for (const raw of reading.metrics) {
      const metric = raw as JsonMetric;
      if (snapshot.has(metric.name)) continue;
      const values = metric.values ?? [];
      const aggregator = typeof metric.aggregator === "string" ? metric.aggregator : "sum";
      switch (metric.type) {
        case "counter":
        case "gauge": {
          const series = new Map<string, WireSeries>();
          for (const sample of values) {
            const labels = stringLabels(sample.labels);
            const row: WireSeries = [labels, toWire(sample.value)];
            if (metric.type === "counter") {
              const exemplar = wireExemplar(0, sample.exemplar);
              withExtra(row, { ...(exemplar === undefined ? {} : { x: [exemplar] }), ...(typeof sample.created === "number" ? { c: sample.created } : {}) });
            }
            series.set(labelKey(labels), row);
          }
          snapshot.set(metric.name, { family: { n: metric.name, h: metric.help, t: metric.type, a: aggregator }, series });
          break;
        }
        case "histogram":
        case "summary": {
          const layout = configuredLayout(reading.metric(metric.name), metric.type);
          if (layout === undefined && values.length === 0) break;
          const object = reading.metric(metric.name);
          snapshot.set(metric.name, metric.type === "histogram" ? histogramOf(metric, aggregator, values, layout, isNative(object, values)) : summaryOf(metric, aggregator, values, layout));
          break;
        }
        default:
          break;
      }
    }
  }
  return snapshot;
}

/** Whether a histogram has native buckets: declared so (a hub's metric), or a series shows them. */
function isNative(metric: unknown, values: readonly JsonSample[]): boolean {
  const declaration = (metric as { declaration?: { nativeHistogramBucketFactor?: unknown } } | null | undefined)?.declaration;
  if (declaration !== undefined && declaration !== null && typeof declaration === "object") return declaration.nativeHistogramBucketFactor !== undefined;
  return values.some((sample) => sample.native !== undefined);
}

interface HistogramEntry {
  labels: Record<string, string>;
  buckets: Map<string, number>;
  exemplars: Map<number, JsonSample["exemplar"]>;
  sum: number;
  count?: JsonSample;
}

function histogramOf(metric: JsonMetric, aggregator: string, values: JsonSample[], configured: number[] | undefined, native: boolean) {
  const bounds: number[] = configured === undefined ? [] : [...configured];
  const seenBounds = new Set<number>();
  const grouped = new Map<string, HistogramEntry>();
  const group = (sample: JsonSample, without?: string) => {
    const labels = stringLabels(sample.labels, without);
    const key = labelKey(labels);
    let entry = grouped.get(key);
    if (entry === undefined) {
      entry = { labels, buckets: new Map(), exemplars: new Map(), sum: 0 };
      grouped.set(key, entry);
    }
    return entry;
  };
  for (const sample of values) {
    if (sample.metricName === `${metric.name}_bucket`) {
      const le = sample.labels?.le;
      const entry = group(sample, "le");
      const bound = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
      if (configured === undefined && Number.isFinite(bound) && !seenBounds.has(bound)) {
        seenBounds.add(bound);
        bounds.push(bound);
      }
      entry.buckets.set(String(bound), sample.value);
      if (sample.exemplar !== null && sample.exemplar !== undefined) entry.exemplars.set(bound, sample.exemplar);
    } else if (sample.metricName === `${metric.name}_sum`) {
      group(sample).sum = sample.value;
    } else if (sample.metricName === `${metric.name}_count`) {
      group(sample).count = sample;
    }
  }
  bounds.sort((a, b) => a - b);
  const series = new Map<string, WireSeries>();
  for (const [key, entry] of grouped) {
    const row: WireSeries = [entry.labels, toWire(entry.sum)];
    for (const bound of bounds) row.push(entry.buckets.get(String(bound)) ?? 0);
    row.push(entry.buckets.get(String(Number.POSITIVE_INFINITY)) ?? 0);
    series.set(key, withExtra(row, histogramExtra(entry, bounds, native)));
  }
  const family = { n: metric.name, h: metric.help, t: "histogram" as const, a: aggregator, b: bounds };
  return { family: native ? { ...family, nh: 1 as const } : family, series };
}

/** A histogram series' exemplars (by bucket position), created time and native buckets. */
function histogramExtra(entry: HistogramEntry, bounds: readonly number[], native: boolean): WireExtra {
  const extra: WireExtra = {};
  const exemplars: WireExemplar[] = [];
  for (const [bound, exemplar] of entry.exemplars) {
    const slot = bound === Number.POSITIVE_INFINITY ? bounds.length : bounds.indexOf(bound);
    const wire = slot < 0 ? undefined : wireExemplar(slot, exemplar);
    if (wire !== undefined) exemplars.push(wire);
  }
  if (exemplars.length > 0) extra.x = exemplars.sort((a, b) => a[0] - b[0]);
  const created = entry.count?.created;
  if (typeof created === "number") extra.c = created;
  const buckets = entry.count?.native;
  if (native && buckets !== undefined) {
    extra.h = { s: buckets.schema, z: buckets.zeroThreshold, zc: buckets.zeroCount, p: wirePairs(buckets.positive), n: wirePairs(buckets.negative) };
    if (Array.isArray(buckets.exemplars)) {
      const list: [Record<string, string>, WireNumber, number][] = [];
      for (const exemplar of buckets.exemplars) {
        const wire = wireExemplar(0, exemplar);
        if (wire !== undefined) list.push([wire[1], wire[2], wire[3]]);
      }
      extra.h.x = list;
    }
  }
  return extra;
}

function summaryOf(metric: JsonMetric, aggregator: string, values: JsonSample[], configured: number[] | undefined) {
  const quantiles: number[] = configured === undefined ? [] : [...configured];
  const seen = new Set<number>();
  const grouped = new Map<string, { labels: Record<string, string>; quantiles: Map<number, number>; sum: number; count: number }>();
  const group = (sample: JsonSample, without?: string) => {
    const labels = stringLabels(sample.labels, without);
    const key = labelKey(labels);
    let entry = grouped.get(key);
    if (entry === undefined) {
      entry = { labels, quantiles: new Map(), sum: 0, count: 0 };
      grouped.set(key, entry);
    }
    return entry;
  };
  for (const sample of values) {
    if (sample.metricName === `${metric.name}_sum`) group(sample).sum = sample.value;
    else if (sample.metricName === `${metric.name}_count`) group(sample).count = sample.value;
    else if (sample.labels?.quantile !== undefined) {
      const q = Number(sample.labels.quantile);
      if (configured === undefined && !seen.has(q)) {
        seen.add(q);
        quantiles.push(q);
      }
      group(sample, "quantile").quantiles.set(q, sample.value);
    }
  }
  const series = new Map<string, WireSeries>();
  for (const [key, entry] of grouped) {
    const row: WireSeries = [entry.labels, toWire(entry.sum), toWire(entry.count)];
    for (const q of quantiles) row.push(toWire(entry.quantiles.get(q) ?? Number.NaN));
    series.set(key, row);
  }
  return { family: { n: metric.name, h: metric.help, t: "summary" as const, a: aggregator, b: quantiles }, series };
}

/**
 * The families of a push: every series of `next` that differs from `previous` (all of them when
 * `previous` is empty), plus a `[labels, null]` for each gauge or summary series that is gone. Families
 * that are new are listed even without series, so the primary can show them at once.
 */
export function diffSnapshots(previous: Snapshot, next: Snapshot): WireFamily[] {
  const families: WireFamily[] = [];
  for (const [name, { family, series }] of next) {
    const before = previous.get(name);
    const changed: WireSeries[] = [];
    for (const [key, row] of series) {
      const old = before?.series.get(key);
      if (old === undefined || !sameRow(old, row)) changed.push(row);
    }
    if (before !== undefined && (family.t === "gauge" || family.t === "summary")) {
      for (const [key, row] of before.series) if (!series.has(key)) changed.push([row[0], null]);
    }
    if (changed.length > 0 || before === undefined) families.push({ ...family, s: changed });
  }
  for (const [name, { family, series }] of previous) {
    if (next.has(name) || (family.t !== "gauge" && family.t !== "summary") || series.size === 0) continue;
    families.push({ ...family, s: [...series.values()].map((row): WireSeries => [row[0], null]) });
  }
  return families;
}

function sameRow(a: WireSeries, b: WireSeries): boolean {
  if (a.length !== b.length) return false;
  for (let i = 1; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    // A series' extra (exemplars, native buckets) is a new object at every snapshot.
    if (x === null || y === null || typeof x !== "object" || typeof y !== "object" || JSON.stringify(x) !== JSON.stringify(y)) return false;
  }
  return true;
}
