/**
 * Bindings: what a worker-local series id points at in the main thread. The drain looks one up per
 * record and switches on its `kind`, so every binding has the same shape.
 * @module
 */

/** The series is a counter's: `target` is a {@link CounterSeries}. */
export const KIND_COUNTER = 0;
/** The series is this worker's contribution to a gauge: `target` is a {@link GaugeContribution}. */
export const KIND_GAUGE = 1;
/** The series is a histogram's: `target` is a {@link HistogramSeries}. */
export const KIND_HISTOGRAM = 2;
/** The series is a summary's: `target` is a {@link SummaryTarget}. */
export const KIND_SUMMARY = 3;
/** The series belongs to a metric whose declaration lost a conflict: its records are dropped and counted. */
export const KIND_REJECTED = 4;
/** The series is a native (and classic) histogram's: `target` is a NativeHistogramSeries (native-buckets.ts). */
export const KIND_NATIVE_HISTOGRAM = 5;

/** An exemplar kept by the hub (see exemplars.ts): labels, value, seconds since the epoch. */
export interface ExemplarValue {
  readonly labelSet: Record<string, string>;
  readonly value: number;
  readonly timestamp: number;
}

/** A counter's accumulated value for one label set. */
export class CounterSeries {
  value = 0;
  /** The latest exemplar, for counters with `enableExemplars`. */
  exemplar: ExemplarValue | undefined = undefined;
  constructor(readonly labels: Record<string, string>) {}
}

/** A histogram's accumulated buckets (not cumulative; the last is `+Inf`) and sum for one label set. */
export class HistogramSeries {
  readonly buckets: Float64Array;
  sum = 0;
  /** The latest exemplar per bucket, for histograms with `enableExemplars`; created at the first one. */
  exemplars: Array<ExemplarValue | undefined> | undefined = undefined;
  constructor(
    readonly labels: Record<string, string>,
    bucketCount: number,
  ) {
    this.buckets = new Float64Array(bucketCount + 1);
  }
}

/** One label set of a gauge: the contributions of the live workers that hold a value for it. */
export class GaugeSeries {
  readonly contributions = new Set<GaugeContribution>();
  constructor(
    readonly labels: Record<string, string>,
    /** Called when the last contribution leaves: the gauge forgets the label set. */
    readonly release: () => void = () => {},
  ) {}
}

/** One worker's value of one gauge series; `seq` orders updates for `aggregate: "last"`. */
export class GaugeContribution {
  value = 0;
  seq = 0;
  constructor(readonly series: GaugeSeries) {}
}

/** Where a summary's observations go: a prom-client Summary child. */
export interface SummaryTarget {
  observe(value: number): void;
}

/** A worker-local series id resolved to its main-thread target. */
export class Binding {
  constructor(
    readonly kind: number,
    readonly target: CounterSeries | GaugeContribution | HistogramSeries | SummaryTarget | null,
    /** For histograms: index of the `+Inf` bucket; the highest bucket index a record may carry. */
    readonly maxAux: number = 0,
  ) {}
}

/** The binding of every series of a rejected metric. */
export const REJECTED = new Binding(KIND_REJECTED, null);
