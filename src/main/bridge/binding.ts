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

/** Label values by label name: strings, or numbers where the worker gave numbers (as prom-client keeps them). */
export type SeriesLabels = Record<string, string | number>;

/**
 * Whether a series is exported. prom-client exports a label set from its first record (or `zero()`), and
 * an unlabelled one from construction; `labels("x")` alone exports nothing. The hub marks "declared, not
 * recorded yet" with a negative zero, at no cost in the drain: counter values and histogram sums start at
 * -0, and the first record's `+=` turns them into an ordinary number (-0 + 0 is +0).
 */
export function isRecorded(value: number): boolean {
  return !Object.is(value, -0);
}

/**
 * Seconds since the epoch, now: a series' created time. Taken when the hub first sees a series (its
 * binding is made) and when it is reset, never per record.
 */
export function createdNow(): number {
  return Date.now() / 1000;
}

/** A counter's accumulated value for one label set; -0 until its first record (see {@link isRecorded}). */
export class CounterSeries {
  value: number;
  /** The latest exemplar, for counters with `enableExemplars`. */
  exemplar: ExemplarValue | undefined = undefined;
  /** When the hub first saw this series, or its last reset: seconds since the epoch. */
  created: number = createdNow();
  constructor(
    readonly labels: SeriesLabels,
    recorded: boolean,
  ) {
    this.value = recorded ? 0 : -0;
  }
}

/**
 * A histogram's accumulated buckets (not cumulative; the last is `+Inf`) and sum for one label set; the
 * sum is -0 until its first record or `zero()` (see {@link isRecorded}).
 */
export class HistogramSeries {
  readonly buckets: Float64Array;
  sum: number;
  /** The latest exemplar per bucket, for histograms with `enableExemplars`; created at the first one. */
  exemplars: Array<ExemplarValue | undefined> | undefined = undefined;
  /** When the hub first saw this series, or its last reset: seconds since the epoch. */
  created: number = createdNow();
  constructor(
    readonly labels: SeriesLabels,
    bucketCount: number,
    recorded: boolean,
  ) {
    this.buckets = new Float64Array(bucketCount + 1);
    this.sum = recorded ? 0 : -0;
  }
}

/** One label set of a gauge: the contributions of the live workers that hold a value for it. */
export class GaugeSeries {
  readonly contributions = new Set<GaugeContribution>();
  constructor(
    readonly labels: SeriesLabels,
    /** Called when the last contribution leaves: the gauge forgets the label set. */
    readonly release: () => void = () => {},
  ) {}
}

/**
 * One worker's value of one gauge series; `seq` orders updates for `aggregate: "last"`, and is 0 while the
 * worker has not set it (since its declaration or the last reset): such a contribution is left out.
 */
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

/** Mark a declared series as exported at 0 (`zero()` in the worker): a counter's or histogram's -0 becomes 0. */
export function zeroSeries(binding: Binding): void {
  if (binding.kind === KIND_COUNTER) (binding.target as CounterSeries).value += 0;
  else if (binding.kind === KIND_HISTOGRAM) (binding.target as HistogramSeries).sum += 0;
}
