/**
 * The key that identifies a label set within one metric, on both sides of the ring.
 * @module
 */

/** Return an unambiguous key for label values: each value prefixed by its length when there are several. */
export function seriesKey(values: readonly (string | number)[]): string {
  if (values.length === 0) return "";
  // A number and its string form are one label set, as in prom-client (200 and "200").
  if (values.length === 1) return String(values[0]);
  let key = "";
  for (const value of values) {
    const text = String(value);
    key += `${text.length}:${text}`;
  }
  return key;
}
