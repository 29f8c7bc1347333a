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

/** Reads the bits of a number: the high word of a float64 holds its sign and exponent. */
const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);
/** Index of the high word in `scratchWords` (1 on little-endian machines). */
const kHighWord = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 1 : 0;

/** The biased exponent of a positive finite `value` (0 for subnormals). */
function exponentOf(value: number): number {
  scratch[0] = value;
  return (scratchWords[kHighWord] as number) >>> 20;
}

/**
 * The bucket search of one histogram's bounds, with a small table made once: for every power-of-two
 * range ("binade") from the smallest positive bound's to the largest bound's, the buckets a value in that
 * range can fall in. A positive observation reads its exponent, looks its range up, and compares with the
 * few bounds inside it (for a default histogram at most two, usually one); a value below every bound's
 * range or above it needs no comparison at all. Values of 0 or less take {@link bucketIndex}.
 *
 * @example
 * const buckets = new BucketSearch(Float64Array.of(0.1, 1, 10));
 * buckets.index(0.5); // 1
 */
export class BucketSearch {
  /** Upper bounds of the buckets, without `+Inf`. */
  readonly bounds: Float64Array;
  /** Per binade from {@link #firstExponent}: first candidate bucket at `2k`, last at `2k + 1`. */
  readonly #table: Int32Array;
  readonly #firstExponent: number;
  /** Last table entry: binades past it hold values above every bound. */
  readonly #lastEntry: number;
  /** The bucket of a positive value below the smallest positive bound's binade: the count of bounds <= 0. */
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
      this.#firstExponent = 2047;
      this.#lastEntry = -1;
      this.#table = new Int32Array(0);
      return;
    }
    const first = exponentOf(bounds[positive] as number);
    const last = exponentOf(bounds[n - 1] as number);
    this.#firstExponent = first;
    this.#lastEntry = last - first;
    this.#table = new Int32Array(2 * (last - first + 1));
    for (let e = first; e <= last; e++) {
      // The binade holds the values from `low` (its smallest) to below `high`.
      const low = e === 0 ? Number.MIN_VALUE : 2 ** (e - 1023);
      const high = 2 ** (e - 1022);
      // Every bound before `from` is below every value of the binade; the bound at `to` (or +Inf) is above them.
      let from = positive;
      while (from < n && (bounds[from] as number) < low) from++;
      let to = from;
      while (to < n && (bounds[to] as number) < high) to++;
      this.#table[2 * (e - first)] = from;
      this.#table[2 * (e - first) + 1] = to;
    }
  }

  /**
   * Return the bucket of `value`: the first `b` with `value <= bounds[b]`, or `bounds.length` (the `+Inf`
   * bucket) when there is none. `value` is not NaN.
   */
  index(value: number): number {
    if (!(value > 0)) return bucketIndex(this.bounds, value);
    const entry = exponentOf(value) - this.#firstExponent;
    if (entry < 0) return this.#belowAll;
    if (entry > this.#lastEntry) return this.bounds.length;
    return bucketIndex(this.bounds, value, this.#table[2 * entry] as number, this.#table[2 * entry + 1] as number);
  }
}
