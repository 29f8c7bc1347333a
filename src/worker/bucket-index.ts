/**
 * The bucket search of a worker-side histogram observation.
 * @module
 */

/** Widest range searched linearly: up to 8 bounds a scan beats halving (fewer unpredictable branches). */
const kLinearWidth = 8;

/**
 * Return the bucket of `value`: the first `b` with `value <= bounds[b]`, or `bounds.length` (the `+Inf`
 * bucket) when there is none. `bounds` is strictly increasing; `value` is not NaN.
 *
 * Halves the range while it is wider than 8 bounds, then scans: a default histogram (11 bounds) takes one
 * halving step, one of 30 bounds takes two, and one of up to 8 is a plain scan.
 *
 * @example
 * bucketIndex(Float64Array.of(0.1, 1, 10), 0.5); // 1
 */
export function bucketIndex(bounds: Float64Array, value: number): number {
  let low = 0;
  let high = bounds.length;
  while (high - low > kLinearWidth) {
    const mid = (low + high) >>> 1;
    if (value > (bounds[mid] as number)) low = mid + 1;
    else high = mid;
  }
  while (low < high && value > (bounds[low] as number)) low++;
  return low;
}
