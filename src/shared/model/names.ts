/**
 * The name grammar of Prometheus metric and label names, in one place: worker validation, the hub,
 * cluster pushes, the Pushgateway client and service discovery all ask this module.
 * @module
 */

const kClassicMetricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const kClassicLabelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const kLoneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The grammar of a classic metric name, for error messages. */
export const kClassicMetricNameGrammar = "[a-zA-Z_:][a-zA-Z0-9_:]*";
/** The grammar of a classic label name, for error messages. */
export const kClassicLabelNameGrammar = "[a-zA-Z_][a-zA-Z0-9_]*";

/** Whether `name` is a classic metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`). */
export function isClassicMetricName(name: unknown): name is string {
  return typeof name === "string" && kClassicMetricName.test(name);
}

/** Whether `name` is a classic label name (`[a-zA-Z_][a-zA-Z0-9_]*`). */
export function isClassicLabelName(name: unknown): name is string {
  return typeof name === "string" && kClassicLabelName.test(name);
}

/** Whether `name` starts with `__`, the prefix Prometheus reserves for its own names. */
export function isReservedName(name: string): boolean {
  return name.startsWith("__");
}

/** Whether `text` holds a lone UTF-16 surrogate, which has no UTF-8 form. */
export function hasLoneSurrogate(text: string): boolean {
  return kLoneSurrogate.test(text);
}

/**
 * Whether `name` is a UTF-8 name as Prometheus 3 accepts it: a non-empty string with a UTF-8 form (no lone
 * surrogate). Classic names are UTF-8 names too.
 */
export function isUtf8Name(name: unknown): name is string {
  return typeof name === "string" && name.length > 0 && !hasLoneSurrogate(name);
}

/**
 * How names outside the classic grammar are written for a scraper (prometheus/docs, "UTF-8 escaping
 * schemes"): `allow-utf-8` keeps them (quoted in the text formats), `underscores` replaces each character
 * outside the classic set by `_`, `dots` writes `.` as `_dot_` and `_` as `__`, `values` writes
 * `U__` and each such character as `_<hex code point>_`.
 */
export type EscapingScheme = "allow-utf-8" | "underscores" | "dots" | "values";

/** The schemes a scraper may name in `escaping=`. */
export const kEscapingSchemes: readonly EscapingScheme[] = ["allow-utf-8", "underscores", "dots", "values"];

/** Whether code point `c` at position `index` may stand in a classic name (`:` only in metric names). */
function isClassicChar(c: number, index: number, metric: boolean): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    c === 0x5f || // _
    (metric && c === 0x3a) || // :
    (index > 0 && c >= 0x30 && c <= 0x39) // 0-9, not first
  );
}

/**
 * Write `name` under `scheme` so that a scraper without UTF-8 support can read it. A metric name (`kind`
 * "metric") may keep `:`, a label name may not. Classic names come back as they are, except under `dots`,
 * which doubles every `_` so that the escaping can be undone.
 *
 * @example
 * escapeName("http.server.request.duration", "underscores"); // "http_server_request_duration"
 * escapeName("http.route", "dots", "label"); // "http_dot_route"
 * escapeName("a.b", "values"); // "U__a_2e_b"
 */
export function escapeName(name: string, scheme: EscapingScheme, kind: "metric" | "label" = "metric"): string {
  const metric = kind === "metric";
  if (scheme === "allow-utf-8" || name === "") return name;
  if (scheme !== "dots" && (metric ? isClassicMetricName(name) : isClassicLabelName(name))) return name;
  let out = scheme === "values" ? "U__" : "";
  let index = 0;
  for (const char of name) {
    const c = char.codePointAt(0) as number;
    if (scheme === "underscores") out += isClassicChar(c, index, metric) ? char : "_";
    else if (scheme === "dots") out += c === 0x5f ? "__" : c === 0x2e ? "_dot_" : isClassicChar(c, index, metric) ? char : "_";
    else out += c === 0x5f ? "__" : isClassicChar(c, index, metric) ? char : `_${c.toString(16)}_`;
    index++;
  }
  return out;
}

/**
 * Write a metric or label name for the text formats: as it is when it is classic, else in double quotes
 * with backslash, double quote and line feed escaped (the quoted syntax of Prometheus 3's parsers).
 */
export function quoteName(name: string, kind: "metric" | "label"): string {
  if (kind === "metric" ? isClassicMetricName(name) : isClassicLabelName(name)) return name;
  return `"${name.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`))}"`;
}
