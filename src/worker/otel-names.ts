/**
 * How an OpenTelemetry instrument's name, unit and attribute keys become Prometheus names in the hub.
 * Until the hub takes UTF-8 names, they are escaped as OpenTelemetry's Prometheus exporter escapes them:
 * every character outside `[a-zA-Z0-9_]` becomes `_`, runs of `_` become one, and a leading digit gets a
 * `_` before it. This file is the one place that decides it, so the day names may keep their dots only
 * {@link escapeName} changes.
 * @module
 */

/** OpenTelemetry's unit strings (UCUM) and the words the Prometheus compatibility specification gives them. */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: "days",
  h: "hours",
  min: "minutes",
  s: "seconds",
  ms: "milliseconds",
  us: "microseconds",
  ns: "nanoseconds",
  By: "bytes",
  KiBy: "kibibytes",
  MiBy: "mebibytes",
  GiBy: "gibibytes",
  TiBy: "tibibytes",
  KBy: "kilobytes",
  MBy: "megabytes",
  GBy: "gigabytes",
  TBy: "terabytes",
  m: "meters",
  V: "volts",
  A: "amperes",
  J: "joules",
  W: "watts",
  g: "grams",
  Cel: "celsius",
  Hz: "hertz",
  "%": "percent",
};

/** The words for the denominator of a `x/y` unit. */
const PER_UNIT_WORDS: Readonly<Record<string, string>> = { s: "second", m: "minute", h: "hour", d: "day", w: "week", mo: "month", y: "year" };

/** What kind of Prometheus metric an instrument records into: it decides the `_total` and `ratio` suffixes. */
export type NamedKind = "counter" | "gauge" | "histogram";

/**
 * Escape an OpenTelemetry name or attribute key to the Prometheus grammar, as OpenTelemetry's Prometheus
 * exporter does (until UTF-8 names land: then this returns `name` as it is).
 */
export function escapeName(name: string): string {
  const escaped = name.replace(/[^a-zA-Z0-9_]/g, "_").replace(/_{2,}/g, "_");
  return /^[0-9]/.test(escaped) ? `_${escaped}` : escaped;
}

/** The suffix a unit adds to a name (`ms` → `milliseconds`, `By/s` → `bytes_per_second`); `""` for none. */
export function unitSuffix(unit: string | undefined, kind: NamedKind): string {
  if (unit === undefined) return "";
  // Annotations in braces (`{request}`) name what is counted; they are no unit.
  const bare = unit.replace(/\{[^}]*\}/g, "").trim();
  if (bare === "") return "";
  if (bare === "1") return kind === "gauge" ? "ratio" : "";
  const slash = bare.indexOf("/");
  const words =
    slash < 0 ? (UNIT_WORDS[bare] ?? bare) : `${UNIT_WORDS[bare.slice(0, slash)] ?? bare.slice(0, slash)}_per_${PER_UNIT_WORDS[bare.slice(slash + 1)] ?? bare.slice(slash + 1)}`;
  return escapeName(words).replace(/^_+|_+$/g, "");
}

/**
 * The Prometheus metric name of an instrument: the escaped name, the unit's suffix unless the name ends
 * with it already, and `_total` on counters, as the Prometheus compatibility specification adds them.
 *
 * @example
 * metricName("http.server.request.duration", "s", "histogram"); // "http_server_request_duration_seconds"
 */
export function metricName(name: string, unit: string | undefined, kind: NamedKind): string {
  let result = escapeName(name);
  const suffix = unitSuffix(unit, kind);
  if (suffix !== "" && !result.endsWith(`_${suffix}`) && result !== suffix) result = `${result}_${suffix}`;
  if (kind === "counter" && !result.endsWith("_total")) result = `${result}_total`;
  return result;
}

/** The Prometheus label name of an attribute key. */
export function labelName(key: string): string {
  return escapeName(key);
}
