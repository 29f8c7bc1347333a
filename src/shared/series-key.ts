/**
 * The key that identifies a label set within one metric, on both sides of the ring.
 * @module
 */

/** Return an unambiguous key for label values: each value prefixed by its length when there are several. */
export function seriesKey(values: readonly string[]): string {
  if (values.length === 0) return "";
  if (values.length === 1) return values[0] as string;
  let key = "";
  for (const value of values) key += `${value.length}:${value}`;
  return key;
}
