/**
 * The main-thread buckets of one native histogram series: counts per signed bucket index, a zero bucket,
 * and the schema they are kept at. Workers send indexes at the declared schema; this only adds. When the
 * number of buckets goes past the limit it does what client_golang does, in its order: reset the series
 * (when `nativeHistogramMinResetDuration` allows), else widen the zero bucket (up to
 * `nativeHistogramMaxZeroThreshold`), else halve its resolution (the schema minus one). Merging two of
 * them is exact: it happens at the coarser schema and the wider zero bucket of the two.
 * @module
 */
import {
  kNativeAuxBits,
  kNativeAuxMask,
  kNativeSchemaMin,
  kNativeZeroBucket,
  nativeBucketBound,
  nativeIndexOfAux,
} from "../../shared/model/native-histogram.js";
import { HistogramSeries, type ExemplarValue, type HistogramCounts, type SeriesLabels } from "./binding.js";

/** A run of consecutive buckets in the exposition: `offset` from the end of the previous run. */
interface BucketSpan {
  readonly offset: number;
  readonly length: number;
}

/** One side of a native histogram as the exposition formats want it: spans and count deltas. */
export interface SparseSide {
  readonly spans: BucketSpan[];
  /** The first count, then each count minus the previous one, over the buckets the spans cover. */
  readonly deltas: number[];
}

/** Convert an index at `fine` to the index of the bucket that contains it at `coarse` (coarse <= fine). */
export function coarserIndex(index: number, fine: number, coarse: number): number {
  const shift = fine - coarse;
  // Bucket i' at schema s-d covers buckets (i'-1)*2^d+1 .. i'*2^d at schema s: i' = ceil(i / 2^d).
  return shift === 0 ? index : (index + (1 << shift) - 1) >> shift;
}

/**
 * Native buckets of one series.
 *
 * @example
 * const buckets = new NativeBuckets(3, 2 ** -128, 160);
 * buckets.add(5, false, 3);
 */
export class NativeBuckets {
  /** The schema the buckets are kept at now; only goes down (until {@link restart}). */
  schema: number;
  /** Values with `|v| <= zeroThreshold` count in the zero bucket; only goes up (until {@link restart}). */
  zeroThreshold: number;
  /** Most buckets (both sides, the zero bucket aside) before the resolution halves; 0 means no limit. */
  readonly maxBuckets: number;
  /** How far the zero bucket may widen before the resolution halves; at or below the threshold: never. */
  readonly maxZeroThreshold: number;
  /** The declared schema and zero threshold, restored by {@link restart}. */
  readonly #initialSchema: number;
  readonly #initialZeroThreshold: number;
  /** Observations in the zero bucket. */
  zeroCount = 0;
  /** Counts of the positive buckets by index. */
  positive = new Map<number, number>();
  /** Counts of the negative buckets by index (the index of `|v|`). */
  negative = new Map<number, number>();

  /** Start empty at `schema`. */
  constructor(schema: number, zeroThreshold: number, maxBuckets: number, maxZeroThreshold = 0) {
    this.schema = schema;
    this.zeroThreshold = zeroThreshold;
    this.maxBuckets = maxBuckets;
    this.maxZeroThreshold = maxZeroThreshold;
    this.#initialSchema = schema;
    this.#initialZeroThreshold = zeroThreshold;
  }

  /** Count `count` observations in bucket `index` (given at `sourceSchema`, at least {@link schema}). */
  add(index: number, negative: boolean, sourceSchema: number, count = 1): void {
    if (this.addUnlimited(index, negative, sourceSchema, count)) this.limit();
  }

  /**
   * Count as {@link add} does without applying the limit; return whether the series is now over it (the
   * caller then resets it or calls {@link limit}).
   */
  addUnlimited(index: number, negative: boolean, sourceSchema: number, count = 1): boolean {
    const side = negative ? this.negative : this.positive;
    const key = coarserIndex(index, sourceSchema, this.schema);
    const previous = side.get(key);
    side.set(key, (previous ?? 0) + count);
    return previous === undefined && this.maxBuckets !== 0 && this.bucketCount > this.maxBuckets;
  }

  /** Count `count` observations in the zero bucket. */
  addZero(count = 1): void {
    this.zeroCount += count;
  }

  /**
   * Add every count of `other`, at the coarser of the two schemas and the wider of the two zero buckets
   * (buckets of either side that lie within it count in the zero bucket), then apply the limit.
   */
  merge(other: NativeBuckets): void {
    if (other.schema < this.schema) this.#reduceTo(other.schema);
    if (other.zeroThreshold > this.zeroThreshold) this.#widenTo(other.zeroThreshold);
    this.zeroCount += other.zeroCount;
    for (const [index, count] of other.positive) this.#addMerged(this.positive, coarserIndex(index, other.schema, this.schema), count);
    for (const [index, count] of other.negative) this.#addMerged(this.negative, coarserIndex(index, other.schema, this.schema), count);
    this.limit();
  }

  /** Number of populated buckets, both sides. */
  get bucketCount(): number {
    return this.positive.size + this.negative.size;
  }

  /** Empty every bucket; the schema and zero threshold stay where they are. */
  clear(): void {
    this.zeroCount = 0;
    this.positive.clear();
    this.negative.clear();
  }

  /** Empty every bucket and return to the declared schema and zero threshold (a reset). */
  restart(): void {
    this.clear();
    this.schema = this.#initialSchema;
    this.zeroThreshold = this.#initialZeroThreshold;
  }

  /**
   * Bring the buckets back within the limit as client_golang does once a reset is not allowed: widen
   * the zero bucket while the bucket closest to zero fits under `maxZeroThreshold`, else halve the
   * resolution, until the series fits or the schema is the coarsest (-4).
   */
  limit(): void {
    if (this.maxBuckets === 0) return;
    while (this.bucketCount > this.maxBuckets) {
      if (this.#widenZeroBucket()) continue;
      if (this.schema === kNativeSchemaMin) return;
      this.#reduceTo(this.schema - 1);
    }
  }

  #addMerged(side: Map<number, number>, index: number, count: number): void {
    // A bucket wholly within the (possibly widened) zero bucket counts there.
    if (this.zeroThreshold > 0 && nativeBucketBound(index, this.schema) <= this.zeroThreshold) this.zeroCount += count;
    else side.set(index, (side.get(index) ?? 0) + count);
  }

  /**
   * client_golang's maybeWidenZeroBucket: the new threshold is the upper bound of the populated bucket
   * closest to zero (either side); when it is at most `maxZeroThreshold`, that bucket (on both sides)
   * joins the zero bucket. Return whether it widened.
   */
  #widenZeroBucket(): boolean {
    if (this.zeroThreshold >= this.maxZeroThreshold) return false;
    let smallest = Infinity;
    for (const key of this.positive.keys()) if (key < smallest) smallest = key;
    for (const key of this.negative.keys()) if (key < smallest) smallest = key;
    if (smallest === Infinity) return false;
    const threshold = nativeBucketBound(smallest, this.schema);
    if (threshold > this.maxZeroThreshold) return false;
    this.zeroThreshold = threshold;
    this.zeroCount += (this.positive.get(smallest) ?? 0) + (this.negative.get(smallest) ?? 0);
    this.positive.delete(smallest);
    this.negative.delete(smallest);
    return true;
  }

  /** Widen the zero bucket to `threshold`: every bucket whose upper bound is within it moves there. */
  #widenTo(threshold: number): void {
    this.zeroThreshold = threshold;
    for (const side of [this.positive, this.negative]) {
      for (const [index, count] of side) {
        if (nativeBucketBound(index, this.schema) > threshold) continue;
        this.zeroCount += count;
        side.delete(index);
      }
    }
  }

  #reduceTo(schema: number): void {
    this.positive = rebucket(this.positive, this.schema, schema);
    this.negative = rebucket(this.negative, this.schema, schema);
    this.schema = schema;
  }
}

/** The buckets of one side at schema `fine`, merged into the buckets of the coarser schema `coarse`. */
export function rebucket(side: Map<number, number>, fine: number, coarse: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const [index, count] of side) {
    const key = coarserIndex(index, fine, coarse);
    out.set(key, (out.get(key) ?? 0) + count);
  }
  return out;
}

/**
 * Encode one side as spans and deltas. Gaps of one or two empty buckets stay inside a span as zero
 * counts (cheaper than a new span, as client_golang does); longer gaps start a new span.
 */
export function sparseSide(side: ReadonlyMap<number, number>): SparseSide {
  const indexes = [...side.keys()].sort((a, b) => a - b);
  const spans: BucketSpan[] = [];
  const deltas: number[] = [];
  let previousCount = 0;
  let next = 0; // index right after the last bucket covered by a span
  let span: { offset: number; length: number } | undefined;
  for (const index of indexes) {
    const gap = index - next;
    if (span === undefined || gap > 2) {
      span = { offset: span === undefined ? index : gap, length: 0 };
      spans.push(span);
    } else {
      for (let i = 0; i < gap; i++) {
        deltas.push(-previousCount);
        previousCount = 0;
        span.length++;
      }
    }
    const count = side.get(index) as number;
    deltas.push(count - previousCount);
    previousCount = count;
    span.length++;
    next = index + 1;
  }
  return { spans, deltas };
}

/** What a native histogram series exposes besides its classic buckets (read by the protobuf renderer). */
export interface NativeSnapshot {
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  readonly positive: SparseSide;
  readonly negative: SparseSide;
  /** The series' native exemplars, by value (absent when it holds none). */
  readonly exemplars?: readonly ExemplarValue[];
}

/** The buckets of a native histogram, as the hub and the cluster aggregator count them. */
export interface NativeCounts {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  positive: Map<number, number>;
  negative: Map<number, number>;
}

/**
 * `native` as the renderers want it (spans and deltas), with a copy of the series' native exemplar list
 * when it has one (the protobuf renderer writes it as the histogram's own exemplars).
 */
export function nativeSnapshotOf(native: Readonly<NativeCounts>, exemplars: readonly ExemplarValue[]): NativeSnapshot {
  const snapshot = {
    schema: native.schema,
    zeroThreshold: native.zeroThreshold,
    zeroCount: native.zeroCount,
    positive: sparseSide(native.positive),
    negative: sparseSide(native.negative),
  };
  return exemplars.length === 0 ? snapshot : { ...snapshot, exemplars: [...exemplars] };
}

/** The native settings of a series, from its declaration (see native-options.ts for their meaning). */
export interface NativeLimits {
  readonly zeroThreshold: number;
  readonly maxBuckets: number;
  readonly maxZeroThreshold: number;
  /** Milliseconds; 0: never reset. */
  readonly minResetDuration: number;
  readonly maxExemplars: number;
  /** Milliseconds. */
  readonly exemplarTtl: number;
}

/** A series of a histogram that is native as well as classic: classic buckets, sum, native buckets. */
export class NativeHistogramSeries extends HistogramSeries {
  /** The native buckets. */
  readonly native: NativeBuckets;
  /** The schema workers find indexes at (the declared one). */
  readonly sourceSchema: number;
  /** The native exemplars, by value. */
  readonly nativeExemplars: NativeExemplars;
  readonly #minResetDuration: number;
  /** When (ms since the epoch) the series was created or last reset. */
  #lastReset: number;
  /** When (ms since the epoch) a scheduled reset is due; Infinity when none is. */
  #resetDue = Infinity;

  /** Create an empty series. */
  constructor(labels: SeriesLabels, bucketCount: number, recorded: boolean, schema: number, limits: NativeLimits, place?: HistogramCounts) {
    super(labels, bucketCount, recorded, place);
    this.sourceSchema = schema;
    this.native = new NativeBuckets(schema, limits.zeroThreshold, limits.maxBuckets, limits.maxZeroThreshold);
    this.nativeExemplars = new NativeExemplars(limits.maxExemplars, limits.exemplarTtl);
    this.#minResetDuration = limits.minResetDuration;
    this.#lastReset = this.created * 1000;
  }

  /** Add one observation record (`aux` packs the classic bucket and the native field). */
  observe(aux: number, value: number): void {
    // Only a series that widened or halved with a reset duration has a reset scheduled.
    if (this.#resetDue !== Infinity) this.settle();
    if (!this.#record(aux, value)) return;
    // Over the bucket limit, client_golang's order: reset, else widen the zero bucket, else halve.
    const now = Date.now();
    if (this.#minResetDuration > 0 && this.#resetDue === Infinity && now - this.#lastReset >= this.#minResetDuration) {
      this.#reset(now);
      // The observation that went over the limit is kept, as client_golang repeats it after its reset.
      this.#record(aux, value);
      return;
    }
    // A widened or halved series returns to its declared resolution at its next reset, due
    // nativeHistogramMinResetDuration after the last one.
    if (this.#minResetDuration > 0 && this.#resetDue === Infinity) this.#resetDue = this.#lastReset + this.#minResetDuration;
    this.native.limit();
  }

  /** Apply a reset that has come due (see `nativeHistogramMinResetDuration`); called before reading. */
  settle(): void {
    if (this.#resetDue === Infinity) return;
    const now = Date.now();
    if (now >= this.#resetDue) this.#reset(now);
  }

  /** Record one observation; return whether the native buckets are now over their limit. */
  #record(aux: number, value: number): boolean {
    const classic = aux >>> kNativeAuxBits;
    this.buckets[classic] = (this.buckets[classic] as number) + 1;
    this.sum += value;
    const native = this.native;
    // A zero bucket widened by the hub also takes values above the declared threshold the worker used.
    if ((aux & kNativeAuxMask) === kNativeZeroBucket || Math.abs(value) <= native.zeroThreshold) {
      native.addZero();
      return false;
    }
    return native.addUnlimited(nativeIndexOfAux(aux), value < 0, this.sourceSchema);
  }

  /** Reset the whole series as client_golang does: every bucket, count and sum, and a new created time. */
  #reset(now: number): void {
    this.buckets.fill(0);
    this.sum = 0;
    this.native.restart();
    this.#lastReset = now;
    this.#resetDue = Infinity;
    this.created = now / 1000;
  }

  /** The native part as the renderers want it. */
  snapshot(): NativeSnapshot {
    return nativeSnapshotOf(this.native, this.nativeExemplars.list);
  }
}

/**
 * The exemplars of a native histogram series, at most `capacity`, kept sorted by value with
 * client_golang's replacement policy (its `nativeExemplars.addExemplar`): while there is room, every
 * exemplar is kept; then a new one replaces the oldest if that is older than the TTL, else the older of
 * the closest pair by value (on a log scale), or its neighbour when the new one would make a closer pair.
 *
 * @example
 * const kept = new NativeExemplars(10, 300_000);
 * kept.add({ labelSet: { trace_id: "abc" }, value: 0.42, timestamp: Date.now() / 1000 });
 */
export class NativeExemplars {
  /** The exemplars, by value. */
  readonly list: ExemplarValue[] = [];

  /** Keep at most `capacity` (0: none); `ttl` in milliseconds (0: always replace the oldest). */
  constructor(
    readonly capacity: number,
    readonly ttl: number,
  ) {}

  /** Keep `e` (timestamp in seconds), replacing one as client_golang does when full. */
  add(e: ExemplarValue): void {
    const list = this.list;
    if (this.capacity === 0) return;
    if (list.length < this.capacity) {
      let at = 0;
      while (at < list.length && !(e.value < (list[at] as ExemplarValue).value)) at++;
      list.splice(at, 0, e);
      return;
    }
    if (list.length === 1) {
      list[0] = e;
      return;
    }
    let oldest = -1;
    let insert = -1;
    let replace = -1;
    let closest = -1;
    let previousLog = 0;
    for (let i = 0; i < list.length; i++) {
      const kept = list[i] as ExemplarValue;
      if (oldest === -1 || kept.timestamp < (list[oldest] as ExemplarValue).timestamp) oldest = i;
      if (insert === -1 && e.value <= kept.value) insert = i;
      const log = Math.log(kept.value);
      if (i > 0) {
        const diff = Math.abs(log - previousLog);
        if (closest === -1 || diff < closest) {
          closest = diff;
          replace = kept.timestamp < (list[i - 1] as ExemplarValue).timestamp ? i : i - 1;
        }
      }
      previousLog = log;
    }
    if (insert === -1) insert = list.length;
    const age = (e.timestamp - (list[oldest] as ExemplarValue).timestamp) * 1000;
    if (this.ttl === 0 || age > this.ttl) {
      replace = oldest;
    } else {
      const log = Math.log(e.value);
      if (insert > 0) {
        const diff = Math.abs(log - Math.log((list[insert - 1] as ExemplarValue).value));
        if (diff < closest) {
          closest = diff;
          replace = insert - 1;
        }
      }
      if (insert < list.length && Math.abs(Math.log((list[insert] as ExemplarValue).value) - log) < closest) replace = insert;
    }
    if (replace === insert) {
      list[insert] = e;
    } else if (replace < insert) {
      list.splice(replace, 1);
      list.splice(insert - 1, 0, e);
    } else {
      list.splice(replace, 1);
      list.splice(insert, 0, e);
    }
  }

  /** Forget every exemplar. */
  clear(): void {
    this.list.length = 0;
  }
}
