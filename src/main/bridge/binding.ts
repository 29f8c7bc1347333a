/**
 * Bindings: what a worker-local series id points at in the main thread. The drain looks one up per
 * record and switches on its `kind`, so every binding has the same shape.
 * @module
 */

/** The series is a counter's: `target` is a {@link CounterSeries}. */
export const kKindCounter = 0;
/** The series is this worker's contribution to a gauge: `target` is a {@link GaugeContribution}. */
export const kKindGauge = 1;
/** The series is a histogram's: `target` is a {@link HistogramSeries}. */
export const kKindHistogram = 2;
/** The series is a summary's: `target` is a {@link SummaryTarget}. */
export const kKindSummary = 3;
/** The series belongs to a metric whose declaration lost a conflict: its records are dropped and counted. */
export const kKindRejected = 4;
/** The series is a native (and classic) histogram's: `target` is a NativeHistogramSeries (native-buckets.ts). */
export const kKindNativeHistogram = 5;

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
 *
 * The numbers live in `counts`, a Float64Array its histogram shares among many series (see
 * {@link HistogramCounts}): `bucketCount + 1` bucket counts from `base`, then the sum. The drain adds to
 * them through the {@link Binding} without reaching this object, and neighbouring series share cache lines.
 */
export class HistogramSeries {
  /** The bucket counts, a view of {@link counts}. */
  readonly buckets: Float64Array;
  /** The array that holds this series' counts and sum. */
  readonly counts: Float64Array;
  /** Index of this series' first bucket count in {@link counts}. */
  readonly base: number;
  /** The latest exemplar per bucket, for histograms with `enableExemplars`; created at the first one. */
  exemplars: Array<ExemplarValue | undefined> | undefined = undefined;
  /** When the hub first saw this series, or its last reset: seconds since the epoch. */
  created: number = createdNow();
  /**
   * Its label pairs as the text formats write them (`a="x",b="y"`), made at its first scrape and kept:
   * its labels never change (serve/histogram-lines.ts).
   */
  linePairs: string | undefined = undefined;
  readonly #sumIndex: number;
  constructor(
    readonly labels: SeriesLabels,
    bucketCount: number,
    recorded: boolean,
    place: HistogramCounts = new HistogramCounts(bucketCount),
  ) {
    const { counts, base } = place.take();
    this.counts = counts;
    this.base = base;
    this.buckets = counts.subarray(base, base + bucketCount + 1);
    this.#sumIndex = base + bucketCount + 1;
    this.sum = recorded ? 0 : -0;
  }

  /** The sum of the observations. */
  get sum(): number {
    return this.counts[this.#sumIndex] as number;
  }

  set sum(value: number) {
    this.counts[this.#sumIndex] = value;
  }
}

/** Most series one block of {@link HistogramCounts} holds. */
const kSeriesPerBlock = 256;

/** The view of an arena that has not grown yet. */
const kNoNumbers = new Float64Array(0);

/** Numbers a {@link HistogramArena} starts with room for (64 KiB), doubling as it fills. */
const kArenaInitialNumbers = 8192;

/**
 * Numbers a {@link HistogramArena} may grow to unless told otherwise: 2^27 (1 GiB of address space
 * reserved, not memory). Internal; tests lower it to see what happens past it.
 */
export const histogramArenaDefaults = { maxNumbers: 2 ** 27 };

/**
 * Room for the counts of every classic histogram series of one hub, side by side in one array, so that
 * the drain reads them through one array it loads once per run of records, instead of one array per
 * series (measured: about a third of the drain's time per record, with 1,000 series).
 *
 * The array is a view of a growable SharedArrayBuffer that only this thread uses: it grows in place (its
 * memory never moves and never shrinks), so the views handed out before a growth stay valid, and a
 * fixed-length view of it costs what any typed array costs. Memory is committed as it grows; the rest
 * is address space. Once it holds `maxNumbers`, further series get blocks of their own (see
 * {@link HistogramCounts}).
 */
export class HistogramArena {
  readonly #maxNumbers: number;
  #buffer: SharedArrayBuffer | undefined;
  /** A view of everything grown so far: every series in the arena is at its base in it. */
  view: Float64Array = kNoNumbers;
  #used = 0;

  /** An arena of at most `maxNumbers` numbers. */
  constructor(maxNumbers = histogramArenaDefaults.maxNumbers) {
    this.#maxNumbers = maxNumbers;
  }

  /** Whether `counts` is a view of this arena (the drain's fast path reads it through {@link view}). */
  holds(counts: Float64Array): boolean {
    return this.#buffer !== undefined && counts.buffer === this.#buffer;
  }

  /** Room for `numbers` numbers side by side, or `undefined` when the arena is full. */
  take(numbers: number): { counts: Float64Array; base: number } | undefined {
    const end = this.#used + numbers;
    if (end > this.view.length && !this.#grow(end)) return undefined;
    const base = this.#used;
    this.#used = end;
    return { counts: this.view, base };
  }

  #grow(numbers: number): boolean {
    if (numbers > this.#maxNumbers) return false;
    const length = Math.min(this.#maxNumbers, Math.max(numbers, kArenaInitialNumbers, 2 * this.view.length));
    try {
      if (this.#buffer === undefined) {
        this.#buffer = new SharedArrayBuffer(length * 8, { maxByteLength: this.#maxNumbers * 8 });
      } else {
        this.#buffer.grow(length * 8);
      }
    } catch {
      // No memory (or address space) for it: the series get blocks of their own.
      return false;
    }
    this.view = new Float64Array(this.#buffer, 0, length);
    return true;
  }
}

/**
 * Room for the counts of one histogram's series, each series `bucketCount + 2` numbers: its bucket
 * counts, then its sum. Series never move. In the hub's {@link HistogramArena} while it has room; then in
 * blocks of up to 256 series (the first blocks smaller, doubling).
 */
export class HistogramCounts {
  readonly #stride: number;
  readonly #arena: HistogramArena | undefined;
  #block = new Float64Array(0);
  #blockSeries = 0;
  #used = 0;

  /** Room for series of `bucketCount` bounds (plus `+Inf`), in `arena` first when given. */
  constructor(bucketCount: number, arena?: HistogramArena) {
    this.#stride = bucketCount + 2;
    this.#arena = arena;
  }

  /** Where the next series keeps its numbers. */
  take(): { counts: Float64Array; base: number } {
    const inArena = this.#arena?.take(this.#stride);
    if (inArena !== undefined) return inArena;
    if (this.#used === this.#blockSeries) {
      this.#blockSeries = Math.min(kSeriesPerBlock, Math.max(4, this.#blockSeries * 2));
      this.#block = new Float64Array(this.#blockSeries * this.#stride);
      this.#used = 0;
    }
    return { counts: this.#block, base: this.#used++ * this.#stride };
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

/** No counts: the {@link Binding.counts} of every binding that is not a classic histogram's. */
const kNoCounts = new Float64Array(0);

/** A worker-local series id resolved to its main-thread target. Every binding has the same shape. */
export class Binding {
  /** For classic histograms: the array that holds the series' counts and sum (the drain adds there directly). */
  readonly counts: Float64Array;
  /** For classic histograms: index of the series' first bucket count in {@link counts}; its sum is at `base + maxAux + 1`. */
  readonly base: number;
  constructor(
    readonly kind: number,
    readonly target: CounterSeries | GaugeContribution | HistogramSeries | SummaryTarget | null,
    /** For histograms: index of the `+Inf` bucket; the highest bucket index a record may carry. */
    readonly maxAux: number = 0,
  ) {
    const classic = kind === kKindHistogram && target instanceof HistogramSeries;
    this.counts = classic ? target.counts : kNoCounts;
    this.base = classic ? target.base : 0;
  }
}

/** The binding of every series of a rejected metric. */
export const kRejected = new Binding(kKindRejected, null);

/** Mark a declared series as exported at 0 (`zero()` in the worker): a counter's or histogram's -0 becomes 0. */
export function zeroSeries(binding: Binding): void {
  if (binding.kind === kKindCounter) (binding.target as CounterSeries).value += 0;
  else if (binding.kind === kKindHistogram) (binding.target as HistogramSeries).sum += 0;
}
