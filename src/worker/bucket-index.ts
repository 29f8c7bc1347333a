/**
 * The bucket search of a worker-side histogram observation.
 * @module
 */

/** Widest range searched linearly: up to 8 bounds a scan beats halving (fewer unpredictable branches). */
const kLinearWidth = 8;

/**
 * Return the bucket of `value` among `bounds[low]` to `bounds[high - 1]`: the first `b` with
 * `value <= bounds[b]`, or `high` when there is none. `bounds` is strictly increasing; `value` is not NaN.
 *
 * Halves the range while it is wider than 8 bounds, then scans: a default histogram (11 bounds) takes one
 * halving step, one of 30 bounds takes two, and one of up to 8 is a plain scan.
 *
 * @example
 * bucketIndex(Float64Array.of(0.1, 1, 10), 0.5); // 1
 */
export function bucketIndex(bounds: Float64Array, value: number, low = 0, high = bounds.length): number {
  while (high - low > kLinearWidth) {
    const mid = (low + high) >>> 1;
    if (value > (bounds[mid] as number)) low = mid + 1;
    else high = mid;
  }
  while (low < high && value > (bounds[low] as number)) low++;
  return low;
}

/** Reads the bits of a number: the high word of a float64 holds its sign, exponent and top of its mantissa. */
const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);
/** Index of the high word in `scratchWords` (1 on little-endian machines). */
const kHighWord = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 1 : 0;
/** Bits of the high word below the ones that key the table: exponent and the top 2 bits of the mantissa. */
const kKeyShift = 18;

/** The table key of a positive finite `value`: its exponent and the top 2 bits of its mantissa. */
function keyOf(value: number): number {
  scratch[0] = value;
  return (scratchWords[kHighWord] as number) >>> kKeyShift;
}

/** The smallest positive number whose key is `key` (0 for the key of the subnormals below a quarter of the smallest normal). */
function smallestOfKey(key: number): number {
  scratchWords[kHighWord] = key << kKeyShift;
  scratchWords[1 - kHighWord] = 0;
  return scratch[0] as number;
}

/** Kinds of a quarter in a {@link BucketSearch} table entry (its low 2 bits). */
const kNoBound = 0;
const kOneBound = 1;
const kManyBounds = 2;

/**
 * The bucket search of one histogram's bounds, with a small table made once. Each power-of-two range of
 * values is cut in 4 by the top 2 bits of the mantissa; for every such quarter from the smallest positive
 * bound's to the largest bound's, the table holds, in one entry, the first bucket a value in it can fall
 * in and whether no bound, one bound or more lie inside it. A positive observation reads the high word of
 * its float64, loads its quarter's entry, and compares with the bound inside it, if any (for the default
 * buckets and exponential ones there is at most one, so no loop); a value below or above every bound's
 * quarter needs no comparison at all. Wider quarters (linear buckets) halve, then scan; values of 0 or
 * less take {@link bucketIndex}.
 *
 * @example
 * const buckets = new BucketSearch(Float64Array.of(0.1, 1, 10));
 * buckets.index(0.5); // 1
 */
export class BucketSearch {
  /** Upper bounds of the buckets, without `+Inf`. */
  readonly bounds: Float64Array;
  /**
   * Per quarter from {@link #firstKey}: its first candidate bucket times 4, plus its kind in the low 2 bits
   * (no bound inside, one, or more). One load per observation.
   */
  readonly #table: Int32Array;
  /** Per quarter: one past its last candidate bound, read only for quarters of more than one bound. */
  readonly #ends: Int32Array;
  readonly #firstKey: number;
  /** Last table entry: quarters past it hold values above every bound. */
  readonly #lastEntry: number;
  /** The bucket of a positive value below the smallest positive bound's quarter: the count of bounds <= 0. */
  readonly #belowAll: number;

  /** Build the table for `bounds` (strictly increasing, finite). */
  constructor(bounds: Float64Array) {
    this.bounds = bounds;
    const n = bounds.length;
    let positive = 0;
    while (positive < n && (bounds[positive] as number) <= 0) positive++;
    this.#belowAll = positive;
    if (positive === n) {
      // No positive bound: every positive value is above all of them.
      this.#firstKey = 0x7ff << 2;
      this.#lastEntry = -1;
      this.#table = new Int32Array(0);
      this.#ends = new Int32Array(0);
      return;
    }
    const first = keyOf(bounds[positive] as number);
    const last = keyOf(bounds[n - 1] as number);
    this.#firstKey = first;
    this.#lastEntry = last - first;
    this.#table = new Int32Array(last - first + 1);
    this.#ends = new Int32Array(last - first + 1);
    for (let key = first; key <= last; key++) {
      // The quarter holds the values from `low` (its smallest) to below `high` (Infinity past the largest).
      const low = smallestOfKey(key);
      const high = smallestOfKey(key + 1);
      // Every bound before `from` is below every value of the quarter; the bound at `to` (or +Inf) is above them.
      let from = positive;
      while (from < n && (bounds[from] as number) < low) from++;
      let to = from;
      while (to < n && (bounds[to] as number) < high) to++;
      const kind = to === from ? kNoBound : to - from === 1 ? kOneBound : kManyBounds;
      this.#table[key - first] = (from << 2) | kind;
      this.#ends[key - first] = to;
    }
  }

  /**
   * Return the bucket of `value`: the first `b` with `value <= bounds[b]`, or `bounds.length` (the `+Inf`
   * bucket) when there is none. `value` is not NaN.
   */
  index(value: number): number {
    if (!(value > 0)) return bucketIndex(this.bounds, value);
    const entry = keyOf(value) - this.#firstKey;
    if (entry < 0) return this.#belowAll;
    if (entry > this.#lastEntry) return this.bounds.length;
    const quarter = this.#table[entry] as number;
    const from = quarter >> 2;
    const kind = quarter & 3;
    // No bound in the quarter, or one (the usual cases): no comparison, or one, and no loop.
    if (kind === kNoBound) return from;
    if (kind === kOneBound) return value <= (this.bounds[from] as number) ? from : from + 1;
    return bucketIndex(this.bounds, value, from, this.#ends[entry] as number);
  }
}
