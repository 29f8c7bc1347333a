/**
 * The pieces both exposition formats share: escaping and number rendering.
 * @module
 */

/** Escape a label value: backslash, double quote and line feed (both formats). */
export function escapeLabelValue(value: string): string {
  // Most values need nothing: a scan of their characters costs a fraction of a replace() per value, and a
  // scrape escapes every label value of every sample.
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x5c || c === 0x22 || c === 0x0a) return value.replace(/[\\"\n]/g, escapeChar);
  }
  return value;
}

/** Escape HELP text for the text format 0.0.4: backslash and line feed only. */
export function escapeTextHelp(help: string): string {
  // As for label values: most help texts need nothing.
  for (let i = 0; i < help.length; i++) {
    const c = help.charCodeAt(i);
    if (c === 0x5c || c === 0x0a) return help.replace(/[\\\n]/g, escapeChar);
  }
  return help;
}

/** Escape HELP text for OpenMetrics, whose `escaped-string` also excludes the double quote. */
export function escapeOpenMetricsHelp(help: string): string {
  return escapeLabelValue(help);
}

function escapeChar(char: string): string {
  return char === "\n" ? "\\n" : `\\${char}`;
}

/**
 * Render a sample value: `NaN`, `+Inf`, `-Inf`, or JavaScript's shortest round-trip form.
 *
 * A finite number is written by JSON.stringify(), whose text is String()'s: V8's String() keeps what it
 * makes in its number-to-string cache, in the old generation, so a scrape of 100,000 sums left about 2.3 MB
 * of garbage there, and the heap a full collection per scrape (docs/design.md).
 */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  // Anything else a custom collector put there (a string, a bigint) is written as String() writes it.
  return typeof value === "number" ? JSON.stringify(value) : String(value);
}

/**
 * Render a number the way Go's `%g` does with the shortest precision: exponent form when the exponent is
 * below -4 or at least 6, with at least two exponent digits (`1e-05`, `1e+06`), fixed form otherwise.
 */
export function formatGoFloat(value: number): string {
  if (!Number.isFinite(value)) return formatValue(value);
  if (value === 0) return Object.is(value, -0) ? "-0" : "0";
  const [mantissa = "", exponentText = "0"] = value.toExponential().split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  // In this range JavaScript's String() is already fixed notation with the shortest digits.
  return String(value);
}

/**
 * Render an OpenMetrics canonical number, for `le` and `quantile` label values: Go's `%g`, with `.0`
 * appended when there is neither a decimal point nor an exponent (`1.0`, `0.25`, `1e-05`, `+Inf`).
 */
export function formatCanonical(value: number): string {
  const text = formatGoFloat(value);
  if (!Number.isFinite(value) || /[.e]/.test(text)) return text;
  return `${text}.0`;
}

/** Parse a `le` or `quantile` label value (a number or a string such as `"+Inf"`) into a number. */
export function labelNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (value === "+Inf" || value === "Inf") return Infinity;
  if (value === "-Inf") return -Infinity;
  return Number(value);
}
