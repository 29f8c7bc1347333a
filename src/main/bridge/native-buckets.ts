/**
 * The main-thread buckets of one native histogram series: counts per signed bucket index, a zero bucket,
 * and the schema they are kept at. Workers send indexes at the declared schema; this only adds, halving
 * its resolution (the schema minus one) when the number of buckets goes past the limit, as client_golang
 * does. Merging two of them is exact: it happens at the coarser schema of the two.
 * @module
 */
import {
  kNativeAuxBits,
  kNativeAuxMask,
  kNativeSchemaMin,
  kNativeZeroBucket,
  nativeIndexOfAux,
} from "../../shared/model/native-histogram.js";
import { HistogramSeries, type HistogramCounts, type SeriesLabels } from "./binding.js";

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
  /** The schema the buckets are kept at now; only goes down. */
  schema: number;
  /** Values with `|v| <= zeroThreshold` count in the zero bucket. */
  readonly zeroThreshold: number;
  /** Most buckets (both sides, the zero bucket aside) before the resolution halves; 0 means no limit. */
  readonly maxBuckets: number;
  /** Observations in the zero bucket. */
  zeroCount = 0;
  /** Counts of the positive buckets by index. */
  positive = new Map<number, number>();
  /** Counts of the negative buckets by index (the index of `|v|`). */
  negative = new Map<number, number>();

  /** Start empty at `schema`. */
  constructor(schema: number, zeroThreshold: number, maxBuckets: number) {
    this.schema = schema;
    this.zeroThreshold = zeroThreshold;
    this.maxBuckets = maxBuckets;
  }

  /** Count `count` observations in bucket `index` (given at `sourceSchema`, at least {@link schema}). */
  add(index: number, negative: boolean, sourceSchema: number, count = 1): void {
    const side = negative ? this.negative : this.positive;
    const key = coarserIndex(index, sourceSchema, this.schema);
    const previous = side.get(key);
    side.set(key, (previous ?? 0) + count);
    if (previous === undefined) this.#limit();
  }

  /** Count `count` observations in the zero bucket. */
  addZero(count = 1): void {
    this.zeroCount += count;
  }

  /** Add every count of `other` (same zero threshold), at the coarser of the two schemas. */
  merge(other: NativeBuckets): void {
    if (other.schema < this.schema) this.#reduceTo(other.schema);
    this.zeroCount += other.zeroCount;
    for (const [index, count] of other.positive) this.#addQuiet(this.positive, coarserIndex(index, other.schema, this.schema), count);
    for (const [index, count] of other.negative) this.#addQuiet(this.negative, coarserIndex(index, other.schema, this.schema), count);
    this.#limit();
  }

  /** Number of populated buckets, both sides. */
  get bucketCount(): number {
    return this.positive.size + this.negative.size;
  }

  /** Empty every bucket; the schema stays where it is. */
  clear(): void {
    this.zeroCount = 0;
    this.positive.clear();
    this.negative.clear();
  }

  #addQuiet(side: Map<number, number>, index: number, count: number): void {
    side.set(index, (side.get(index) ?? 0) + count);
  }

  /** Halve the resolution while there are more buckets than allowed and a coarser schema exists. */
  #limit(): void {
    if (this.maxBuckets === 0) return;
    while (this.bucketCount > this.maxBuckets && this.schema > kNativeSchemaMin) this.#reduceTo(this.schema - 1);
  }

  #reduceTo(schema: number): void {
    this.positive = rebucket(this.positive, this.schema, schema);
    this.negative = rebucket(this.negative, this.schema, schema);
    this.schema = schema;
  }
}

function rebucket(side: Map<number, number>, fine: number, coarse: number): Map<number, number> {
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
}

/** A series of a histogram that is native as well as classic: classic buckets, sum, native buckets. */
export class NativeHistogramSeries extends HistogramSeries {
  /** The native buckets. */
  readonly native: NativeBuckets;
  /** The schema workers find indexes at (the declared one). */
  readonly sourceSchema: number;

  /** Create an empty series. */
  constructor(labels: SeriesLabels, bucketCount: number, recorded: boolean, schema: number, zeroThreshold: number, maxBuckets: number, place?: HistogramCounts) {
    super(labels, bucketCount, recorded, place);
    this.sourceSchema = schema;
    this.native = new NativeBuckets(schema, zeroThreshold, maxBuckets);
  }

  /** Add one observation record (`aux` packs the classic bucket and the native field). */
  observe(aux: number, value: number): void {
    const classic = aux >>> kNativeAuxBits;
    this.buckets[classic] = (this.buckets[classic] as number) + 1;
    this.sum += value;
    if ((aux & kNativeAuxMask) === kNativeZeroBucket) this.native.addZero();
    else this.native.add(nativeIndexOfAux(aux), value < 0, this.sourceSchema);
  }

  /** The native part as the renderers want it. */
  snapshot(): NativeSnapshot {
    const native = this.native;
    return {
      schema: native.schema,
      zeroThreshold: native.zeroThreshold,
      zeroCount: native.zeroCount,
      positive: sparseSide(native.positive),
      negative: sparseSide(native.negative),
    };
  }
}
