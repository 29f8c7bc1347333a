/**
 * Configuration types shared by the worker-side metrics and the main-side bridge.
 * They follow prom-client's configuration objects, so moving a metric into a worker is a change of import.
 * @module
 */

/** Label values keyed by label name; values are strings or numbers, as in prom-client. */
export type LabelValues<T extends string = string> = Partial<Record<T, string | number>>;

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
   * @default "sum"
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
   * Accept exemplars: `observe()` then takes one object, `{ value, labels, exemplarLabels }`, as in
   * prom-client. The latest exemplar is kept per classic bucket (per series for a native-only histogram).
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
  /** Counters and histograms: observations may carry exemplars. */
  enableExemplars?: boolean;
  /** Gauge aggregation. */
  aggregate?: GaugeAggregate;
  /** Summary settings. */
  percentiles?: number[];
  maxAgeSeconds?: number;
  ageBuckets?: number;
  compressCount?: number;
}

/** prom-client's default histogram buckets. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** prom-client's default summary quantiles. */
export const DEFAULT_PERCENTILES: readonly number[] = [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999];
