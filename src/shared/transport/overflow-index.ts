/**
 * Index arithmetic of a slot's overflow, shared by its writer and its reader.
 *
 * The overflow's capacity is the user's `overflowRecords` plus room for declarations, so it is not a power of
 * two. Its indices therefore do not run freely through 2^32 as ring indices do (a wrap at 2^32 would
 * break `i mod capacity`): they run from 0 to `2 × capacity - 1` and start again at 0. Twice the capacity
 * tells a full overflow (fill = capacity) from an empty one (fill = 0).
 * @module
 */

/** The index after `index` in an overflow of `capacity` records. */
export function nextOverflowIndex(index: number, capacity: number): number {
  const next = index + 1;
  return next === 2 * capacity ? 0 : next;
}

/** `index + n` in an overflow of `capacity` records (`n` at most the capacity). */
export function advanceOverflowIndex(index: number, n: number, capacity: number): number {
  const next = index + n;
  return next >= 2 * capacity ? next - 2 * capacity : next;
}

/** Records between `read` and `write` in an overflow of `capacity` records. */
export function overflowFill(write: number, read: number, capacity: number): number {
  const fill = write - read;
  return fill < 0 ? fill + 2 * capacity : fill;
}

/** The record position (0 to capacity - 1) of `index`. */
export function overflowPosition(index: number, capacity: number): number {
  return index >= capacity ? index - capacity : index;
}
