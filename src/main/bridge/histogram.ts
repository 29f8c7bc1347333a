/**
 * The main-thread side of worker histograms: bucket counts merged from all workers.
 * @module
 */
import type { MetricValue } from "prom-client";
import { seriesKey } from "../../shared/model/series-key.js";
import type { LabelValue, MetricDeclaration } from "../../shared/model/types.js";
import { schemaForFactor } from "../../shared/model/native-histogram.js";
import { Binding, HistogramCounts, HistogramSeries, type HistogramArena, kKindHistogram, kKindNativeHistogram, createdNow, isRecorded, type SeriesLabels } from "./binding.js";
import { BridgeMetric, CreatedSample } from "./bridge-metric.js";
import { NativeHistogramSeries, type NativeLimits } from "./native-buckets.js";

/** The empty `labels` of `_sum` and `_count` samples; prom-client only reads it. */
const kNoLabels = Object.freeze({});

/** A histogram aggregated from worker threads, rendered as prom-client renders its own. */
export class BridgeHistogram extends BridgeMetric {
  readonly #series = new Map<string, Binding>();
  readonly #bounds: readonly number[];
  /** One `{ le }` labels object per bucket, `+Inf` last, shared by every series and every scrape. */
  readonly #leLabels: ReadonlyArray<{ le: number | string }>;
  /** Where the series keep their counts: side by side, so the drain's adds stay in few cache lines. */
  readonly #counts: HistogramCounts;
  #limits: NativeLimits | undefined;

  /** Create the histogram for `declaration`, its series' counts in the hub's `arena` while it has room. */
  constructor(declaration: MetricDeclaration, beforeCollect: () => void, arena?: HistogramArena) {
    super(declaration, beforeCollect);
    this.#bounds = declaration.buckets ?? [];
    this.#leLabels = [...this.#bounds.map((le) => ({ le })), { le: "+Inf" }];
    this.#counts = new HistogramCounts(this.#bounds.length, arena);
  }

  /** Return the binding of a label set; every worker's series with these values shares it. */
  bind(values: readonly LabelValue[]): Binding {
    const key = seriesKey(values);
    let binding = this.#series.get(key);
    if (binding === undefined) {
      if (!this.admit(key)) return this.bind(this.overflowValues);
      binding = this.#newBinding(this.labelsOf(values));
      this.#series.set(key, binding);
    }
    return binding;
  }

  #newBinding(labels: SeriesLabels): Binding {
    const n = this.#bounds.length;
    const d = this.declaration;
    // An unlabelled series is exported from construction, as prom-client does; others from their first record.
    if (d.nativeHistogramBucketFactor === undefined) return new Binding(kKindHistogram, new HistogramSeries(labels, n, this.unlabelled, this.#counts), n);
    const schema = schemaForFactor(d.nativeHistogramBucketFactor);
    const series = new NativeHistogramSeries(labels, n, this.unlabelled, schema, this.#nativeLimits(d), this.#counts);
    return new Binding(kKindNativeHistogram, series, n);
  }

  /** The native settings of the declaration (filled in by its validation), shared by every series. */
  #nativeLimits(d: MetricDeclaration): NativeLimits {
    this.#limits ??= {
      zeroThreshold: d.nativeHistogramZeroThreshold ?? 0,
      maxBuckets: d.nativeHistogramMaxBucketNumber ?? 0,
      maxZeroThreshold: d.nativeHistogramMaxZeroThreshold ?? 0,
      minResetDuration: d.nativeHistogramMinResetDuration ?? 0,
      // Native exemplars come only from observations with exemplars.
      maxExemplars: d.enableExemplars === true ? (d.nativeHistogramMaxExemplars ?? 0) : 0,
      exemplarTtl: d.nativeHistogramExemplarTTL ?? 0,
    };
    return this.#limits;
  }

  /** The upper bounds of the buckets, in increasing order (`+Inf` implied). */
  get bounds(): readonly number[] {
    return this.#bounds;
  }

  /**
   * @internal For scrapes that render the text formats in slices: a reader of the exported series
   * themselves (native ones settled), of at most `maxSeries` series per call, without draining the hub and without
   * building a sample object per bucket. Each call refills and returns the same array: read it before the
   * next call. `undefined` once every series was read.
   */
  seriesPages(): (maxSeries: number) => readonly HistogramSeries[] | undefined {
    const iterator = this.#series.values();
    const page: HistogramSeries[] = [];
    let done = false;
    return (maxSeries) => {
      if (done) return undefined;
      let count = 0;
      // Series visited, not series exported, bound a call: a registry just reset exports none.
      for (let visited = 0; visited < maxSeries; visited++) {
        const next = iterator.next();
        if (next.done === true) {
          done = true;
          break;
        }
        const series = next.value.target as HistogramSeries;
        if (series instanceof NativeHistogramSeries) series.settle();
        if (exported(series)) page[count++] = series;
      }
      // Written over in place and cut only when shorter: emptying it each call gave its elements' store
      // back, and pushing grew a new one, page after page (1.6 MB a scrape at 100,000 series).
      if (page.length !== count) page.length = count;
      return page;
    };
  }

  /**
   * The values of `bindings` in prom-client's shape. Bucket samples carry their exemplar when one was recorded; the
   * `_count` sample of a native histogram carries its native buckets in a `native` field, which only the
   * protobuf renderer reads (the text formats cannot express them).
   */
  protected seriesIterator(): Iterator<Binding> {
    return this.#series.values();
  }

  protected snapshotOf(bindings: Iterable<Binding>): MetricValue<string>[] {
    const values: MetricValue<string>[] = [];
    const bucketName = `${this.name}_bucket`;
    const n = this.#bounds.length;
    const infWithout = this.declaration.enableExemplars === true ? undefined : null;
    for (const { target } of bindings) {
      const series = target as HistogramSeries;
      if (series instanceof NativeHistogramSeries) series.settle();
      if (!exported(series)) continue;
      const exemplars = series.exemplars;
      let cumulative = 0;
      for (let i = 0; i <= n; i++) {
        cumulative += series.buckets[i] as number;
        const labels = { le: i < n ? (this.#bounds[i] as number) : "+Inf", ...series.labels };
        // On buckets without one, what prom-client's getMetricsAsJSON() shows: `null`, except on `+Inf`
        // of a histogram with enableExemplars, whose exemplar prom-client leaves undefined.
        const exemplar = exemplars?.[i] ?? (i === n ? infWithout : null);
        values.push({ labels, value: cumulative, metricName: bucketName, exemplar } as MetricValue<string>);
      }
      values.push({ labels: series.labels, value: series.sum, metricName: `${this.name}_sum` } as MetricValue<string>);
      const count = new CreatedSample(series.labels, cumulative, series.created) as CreatedSample & { metricName: string; native?: unknown };
      count.metricName = `${this.name}_count`;
      if (series instanceof NativeHistogramSeries) count.native = series.snapshot();
      values.push(count as unknown as MetricValue<string>);
    }
    return values;
  }

  /**
   * The same values as {@link snapshot}, shaped as prom-client's own histogram shapes them for the text
   * exposition: `le` alone in `labels`, the series' labels in `sharedLabels`. The series' labels object
   * is the same on every scrape, so prom-client formats it once and reuses the text. The exposition is
   * byte for byte prom-client's, also with a registry's default labels (they come before the series'
   * labels on `_sum` and `_count`, after `le` on buckets), and with exemplars on buckets (an OpenMetrics
   * registry prints them, as it does prom-client's own).
   */
  protected override promStringSnapshot(): MetricValue<string>[] {
    return promStringValues(this.name, this.#leLabels, this.#series.values());
  }

  /** As prom-client: every label set, the unlabelled one too, is not exported until its next record. */
  reset(): void {
    const created = createdNow();
    for (const { target } of this.#series.values()) {
      const series = target as HistogramSeries;
      series.created = created;
      series.buckets.fill(0);
      series.sum = -0;
      series.exemplars = undefined;
      if (series instanceof NativeHistogramSeries) {
        series.native.clear();
        series.nativeExemplars.clear();
      }
    }
  }
}

/**
 * The values of a histogram's series for prom-client's text exposition (see
 * {@link BridgeHistogram.promStringSnapshot}): `le` alone in `labels` (from `leLabels`, one object per
 * bucket, `+Inf` last), the series' labels in `sharedLabels`. Unexported series are left out; native
 * series are settled first.
 */
export function promStringValues(name: string, leLabels: ReadonlyArray<{ le: number | string }>, bindings: Iterable<{ readonly target: unknown }>): MetricValue<string>[] {
  const values: MetricValue<string>[] = [];
  const bucketName = `${name}_bucket`;
  const sumName = `${name}_sum`;
  const countName = `${name}_count`;
  const n = leLabels.length - 1;
  for (const { target } of bindings) {
    const series = target as HistogramSeries;
    if (series instanceof NativeHistogramSeries) series.settle();
    if (!exported(series)) continue;
    const sharedLabels = series.labels;
    const exemplars = series.exemplars;
    let cumulative = 0;
    for (let i = 0; i <= n; i++) {
      cumulative += series.buckets[i] as number;
      // A bucket's exemplar too: prom-client prints it in an OpenMetrics registry and ignores it otherwise.
      const exemplar = exemplars?.[i];
      if (exemplar === undefined) values.push({ labels: leLabels[i], sharedLabels, value: cumulative, metricName: bucketName } as unknown as MetricValue<string>);
      else values.push({ labels: leLabels[i], sharedLabels, value: cumulative, metricName: bucketName, exemplar } as unknown as MetricValue<string>);
    }
    values.push({ labels: kNoLabels, sharedLabels, value: series.sum, metricName: sumName } as unknown as MetricValue<string>);
    values.push({ labels: kNoLabels, sharedLabels, value: cumulative, metricName: countName } as unknown as MetricValue<string>);
  }
  return values;
}

/** A series is exported once it has an observation or was zeroed (its sum is no longer -0). */
function exported(series: HistogramSeries): boolean {
  if (isRecorded(series.sum)) return true;
  // An observation of -0 leaves the sum at -0: count it by its bucket.
  for (const count of series.buckets) if (count !== 0) return true;
  return false;
}
