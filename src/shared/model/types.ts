/**
 * Configuration types shared by the worker-side metrics and the main-side bridge.
 * They follow prom-client's configuration objects, so moving a metric into a worker is a change of import.
 * @module
 */

/** Label values keyed by label name; values are strings or numbers, as in prom-client. */
export type LabelValues<T extends string = string> = Partial<Record<T, string | number>>;

/**
 * One label value as it travels to the hub: a string, or a finite number kept as a number so that
 * `getMetricsAsJSON()` shows it with the type it was given, as prom-client does.
 */
export type LabelValue = string | number;

/**
 * prom-client's `aggregator`: how prom-client's `AggregatorRegistry` combines a metric across processes.
 * It is shown by `getMetricsAsJSON()` and used by `AggregatorRegistry`, as in prom-client.
 */
export type ClusterAggregator = "sum" | "first" | "min" | "max" | "average" | "omit";

/** How a gauge combines the values that live workers hold for one label set. */
export type GaugeAggregate = "sum" | "max" | "min" | "last";

/** Options every metric takes. */
export interface MetricConfiguration<T extends string = string> {
  /** Metric name, following the Prometheus grammar `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
  name: string;
  /** Help text shown in the exposition. */
  help: string;
  /**
   * Label names, in order.
   * @default []
   */
  labelNames?: readonly T[];
  /** Accepted for prom-client compatibility and ignored: worker metrics always land in the hub's registry. */
  registers?: unknown;
  /**
   * prom-client's option for clusters, kept as given: `getMetricsAsJSON()` shows it and prom-client's
   * `AggregatorRegistry` uses it. On a gauge without `aggregate`, `"max"` and `"min"` also choose how
   * worker threads combine (see {@link GaugeConfiguration.aggregate}).
   * @default "sum"
   */
  aggregator?: ClusterAggregator;
  /**
   * Accept prom-client's exemplar call shapes, `inc({ value, labels, exemplarLabels })` and
   * `observe({ value, labels, exemplarLabels })`. Counters and histograms record the value and export the
   * exemplar in OpenMetrics and protobuf responses; a summary checks the exemplar and records only the
   * value; a gauge ignores the option.
   * @default false
   */
  enableExemplars?: boolean;
  /**
   * Most label sets this metric may have across all workers; label sets past it fold into one overflow
   * series whose label values are all `"__overflow__"`. Each worker also keeps at most this many of its
   * own label sets. Part of the declaration: every worker must declare the metric with the same value.
   * @default the hub's `maxSeries` (2000)
   */
  maxSeries?: number;
}

/** Options of a {@link Counter}. */
export interface CounterConfiguration<T extends string = string> extends MetricConfiguration<T> {
  /**
   * Accept exemplars: `inc()` then takes one object, `{ value, labels, exemplarLabels }`, as in
   * prom-client. Exemplars are exposed in OpenMetrics and protobuf responses.
   * @default false
   */
  enableExemplars?: boolean;
}

/** Options of a {@link Gauge}. */
export interface GaugeConfiguration<T extends string = string> extends MetricConfiguration<T> {
  /**
   * How values of live workers combine into the exposed value.
   * @default `aggregator` when it is "max" or "min", otherwise "sum"
   */
  aggregate?: GaugeAggregate;
}

/** Options of a {@link Histogram}. */
export interface HistogramConfiguration<T extends string = string> extends MetricConfiguration<T> {
  /**
   * Upper bounds of the buckets, strictly increasing; `+Inf` is implied.
   * @default [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
   */
  buckets?: readonly number[];
  /**
   * Make the histogram native (sparse, exponential buckets) as well: the largest growth factor allowed
   * between bucket bounds, greater than 1 (client_golang's option; 1.1 picks schema 3). With
   * `buckets: []` the histogram is native only. See docs/native-histograms.md.
   * @default undefined (not native)
   */
  nativeHistogramBucketFactor?: number;
  /**
   * Observations with an absolute value at most this count in the native zero bucket; 0 or more.
   * @default 2 ** -128
   */
  nativeHistogramZeroThreshold?: number;
  /**
   * Most native buckets of one series; past it the resolution halves (the schema goes down by one) as in
   * client_golang. 0 means no limit.
   * @default 160
   */
  nativeHistogramMaxBucketNumber?: number;
  /**
   * Milliseconds: when a series goes past `nativeHistogramMaxBucketNumber` and at least this long has
   * passed since its creation or last reset, the hub resets it (every bucket, count and sum; a new
   * created time) instead of widening the zero bucket or halving the resolution, as client_golang's
   * `NativeHistogramMinResetDuration`. A series widened or halved is reset this long after its last
   * reset. 0 means never reset.
   * @default 0
   */
  nativeHistogramMinResetDuration?: number;
  /**
   * When a series goes past `nativeHistogramMaxBucketNumber`, the hub first widens its zero bucket
   * (merging the buckets closest to zero into it) as long as the new threshold stays at most this, and
   * only then halves the resolution, as client_golang's `NativeHistogramMaxZeroThreshold`. 0 means
   * never widen.
   * @default 0
   */
  nativeHistogramMaxZeroThreshold?: number;
  /**
   * With `enableExemplars`: most exemplars kept per series for the native histogram (exported in the
   * protobuf format's native exemplar list), replaced with client_golang's policy. 0 keeps none.
   * @default 10
   */
  nativeHistogramMaxExemplars?: number;
  /**
   * Milliseconds: once a series holds `nativeHistogramMaxExemplars` native exemplars, a new one replaces
   * the oldest if that is older than this; otherwise the older of the two closest in value. 0 always
   * replaces the oldest.
   * @default 300000 (5 minutes, as client_golang)
   */
  nativeHistogramExemplarTTL?: number;
  /**
   * Accept exemplars: `observe()` then takes one object, `{ value, labels, exemplarLabels }`, as in
   * prom-client. One exemplar is kept per classic bucket (per series for a native-only histogram), at
   * most one drain interval older than the latest (writes are sampled: docs/native-histograms.md), and a
   * native histogram keeps up to `nativeHistogramMaxExemplars` more per series.
   * @default false
   */
  enableExemplars?: boolean;
}

/** Options of a {@link Summary}. */
export interface SummaryConfiguration<T extends string = string> extends MetricConfiguration<T> {
  /**
   * Quantiles to expose, each in [0, 1].
   * @default [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999]
   */
  percentiles?: readonly number[];
  /** Width of the sliding window in seconds; with `ageBuckets`, as in prom-client. */
  maxAgeSeconds?: number;
  /** Number of buckets of the sliding window; with `maxAgeSeconds`, as in prom-client. */
  ageBuckets?: number;
  /** prom-client's t-digest compression setting, passed through. */
  compressCount?: number;
  /**
   * With `maxAgeSeconds` and `ageBuckets`: a label set whose window holds no observation is no longer
   * exported, as in prom-client.
   * @default false
   */
  pruneAgedBuckets?: boolean;
}

/** The kind of a metric, as Prometheus names it. */
export type MetricType = "counter" | "gauge" | "histogram" | "summary";

/**
 * A metric declaration as it travels on the ring and as the main thread compares it:
 * two declarations of one name must be equal in every field, or the first one wins.
 */
export interface MetricDeclaration {
  name: string;
  help: string;
  type: MetricType;
  labelNames: string[];
  /** Most label sets; absent means the hub's `maxSeries`. */
  maxSeries?: number;
  /** Histogram bucket bounds, without `+Inf`; empty for a native-only histogram. */
  buckets?: number[];
  /** Native histogram bucket factor; absent for a classic-only histogram. */
  nativeHistogramBucketFactor?: number;
  /** Native zero threshold (set when the histogram is native). */
  nativeHistogramZeroThreshold?: number;
  /** Most native buckets per series, 0 for no limit (set when the histogram is native). */
  nativeHistogramMaxBucketNumber?: number;
  /** Milliseconds between resets of a series over its bucket limit, 0 for never (set when native). */
  nativeHistogramMinResetDuration?: number;
  /** Widest zero bucket before the resolution halves, 0 for never widen (set when native). */
  nativeHistogramMaxZeroThreshold?: number;
  /** Native exemplars kept per series (set when native). */
  nativeHistogramMaxExemplars?: number;
  /** Milliseconds after which a native exemplar is replaced first (set when native). */
  nativeHistogramExemplarTTL?: number;
  /** Counters and histograms: observations may carry exemplars. */
  enableExemplars?: boolean;
  /** Gauge aggregation. */
  aggregate?: GaugeAggregate;
  /** prom-client's `aggregator`, when given. */
  aggregator?: ClusterAggregator;
  /** Summary settings. */
  percentiles?: number[];
  maxAgeSeconds?: number;
  ageBuckets?: number;
  compressCount?: number;
  pruneAgedBuckets?: boolean;
}

/** prom-client's default histogram buckets. */
export const kDefaultBuckets: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** prom-client's default summary quantiles. */
export const kDefaultPercentiles: readonly number[] = [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999];
