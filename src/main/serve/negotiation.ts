/**
 * HTTP content negotiation for a scrape: which exposition format and name escaping (`Accept`, as
 * prometheus/docs "Scrape protocol content negotiation" specifies) and whether to gzip
 * (`Accept-Encoding`), following RFC 9110's rules for quality values and the most specific match.
 * @module
 */
import { kEscapingSchemes, type EscapingScheme } from "../../shared/model/names.js";

/** An exposition format prom-threads can render. */
export type ExpositionFormat = "openmetrics" | "text" | "protobuf";

/** What a scrape renders: the format, its version, and how names outside the classic grammar are written. */
export interface Negotiated {
  readonly format: ExpositionFormat;
  /** `0.0.4` or `1.0.0` for the text format, `1.0.0` for OpenMetrics, `""` for protobuf. */
  readonly version: string;
  /** The chosen range's `escaping=` when it names a known scheme, else `underscores`. */
  readonly escaping: EscapingScheme;
  /** Whether the chosen range named a scheme (then the response's Content-Type repeats it). */
  readonly escapingNamed: boolean;
}

interface MediaRange {
  type: string;
  subtype: string;
  params: Map<string, string>;
  q: number;
  position: number;
}

interface Candidate {
  format: ExpositionFormat;
  type: string;
  subtype: string;
  /** Versions this format answers; a range without a `version` parameter matches any. */
  versions: readonly string[];
  /** Other parameters a range may name; when it does, their values must be these. */
  params?: Readonly<Record<string, string>>;
}

// Why text first: a tie through the same range (`*\/*`) keeps the first candidate, the default format.
// Why text 1.0.0 after 0.0.4: `text/plain` without a version keeps answering 0.0.4, as it always did.
// Why OpenMetrics 0.0.1 too: Prometheus offers it (at q=0.75) as the pre-1.0 name of the same syntax.
const kCandidates: readonly Candidate[] = [
  { format: "text", type: "text", subtype: "plain", versions: ["0.0.4"] },
  { format: "text", type: "text", subtype: "plain", versions: ["1.0.0"] },
  { format: "openmetrics", type: "application", subtype: "openmetrics-text", versions: ["1.0.0", "0.0.1"] },
  // Only when asked for by name: a wildcard never selects a binary format.
  {
    format: "protobuf",
    type: "application",
    subtype: "vnd.google.protobuf",
    versions: [],
    params: { proto: "io.prometheus.client.MetricFamily", encoding: "delimited" },
  },
];

/**
 * Choose the exposition format for an `Accept` header: the acceptable format with the highest quality,
 * the earlier-listed one on a tie, and the text format 0.0.4 when the header is missing, asks for
 * neither format or makes them equal (through a wildcard).
 *
 * @example
 * negotiateFormat("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"); // "openmetrics"
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  return negotiate(accept).format;
}

const kDefaultNegotiated: Negotiated = Object.freeze({ format: "text", version: "0.0.4", escaping: "underscores", escapingNamed: false });

/**
 * Choose format, version and name escaping for an `Accept` header, as {@link negotiateFormat} chooses
 * the format. The escaping is the chosen range's `escaping=` parameter (`allow-utf-8`, `underscores`,
 * `dots` or `values`); without one, or with an unknown one, names are escaped with `underscores`, so a
 * scraper that does not know UTF-8 names always gets names it can parse.
 *
 * @example
 * negotiate("text/plain;version=1.0.0;escaping=allow-utf-8"); // { format: "text", version: "1.0.0", escaping: "allow-utf-8", escapingNamed: true }
 */
export function negotiate(accept: string | undefined): Negotiated {
  if (accept === undefined || accept.trim() === "") return kDefaultNegotiated;
  // A scraper sends the same header every time: about 3 µs of parsing, twice a scrape, saved.
  if (accept === lastAccept) return lastNegotiated;
  const negotiated = negotiateAccept(accept);
  lastAccept = accept;
  lastNegotiated = negotiated;
  return negotiated;
}

/** The last header {@link negotiate} parsed, and what it chose (a frozen object, shared). */
let lastAccept: string | undefined;
let lastNegotiated: Negotiated = kDefaultNegotiated;

function negotiateAccept(accept: string): Negotiated {
  const ranges = parseAccept(accept);
  let best: { candidate: Candidate | undefined; range: MediaRange | undefined; q: number; position: number } = { candidate: undefined, range: undefined, q: 0, position: Infinity };
  for (const candidate of kCandidates) {
    const match = bestMatch(candidate, ranges);
    if (match === undefined || match.q <= 0) continue;
    if (match.q > best.q || (match.q === best.q && match.position < best.position)) {
      best = { candidate, range: match, q: match.q, position: match.position };
    }
  }
  if (best.candidate === undefined || best.range === undefined) return kDefaultNegotiated;
  const named = best.range.params.get("escaping");
  const escaping = kEscapingSchemes.find((scheme) => scheme === named);
  return Object.freeze({
    format: best.candidate.format,
    version: best.candidate.versions[0] ?? "",
    escaping: escaping ?? "underscores",
    escapingNamed: escaping !== undefined,
  });
}

/** The range that decides a candidate's quality: the most specific one that matches it. */
function bestMatch(candidate: Candidate, ranges: readonly MediaRange[]): MediaRange | undefined {
  let best: MediaRange | undefined;
  let bestSpecificity = -1;
  for (const range of ranges) {
    const specificity = matchSpecificity(candidate, range);
    if (specificity > bestSpecificity) {
      best = range;
      bestSpecificity = specificity;
    }
  }
  return best;
}

/** -1 when `range` does not match, else 0 for `*\/*`, 1 for `type/*`, 2 for `type/subtype`, 3 with a version. */
function matchSpecificity(candidate: Candidate, range: MediaRange): number {
  if (candidate.params !== undefined) return matchParams(candidate, candidate.params, range);
  if (range.type === "*" && range.subtype === "*") return 0;
  if (range.type !== candidate.type) return -1;
  if (range.subtype === "*") return 1;
  if (range.subtype !== candidate.subtype) return -1;
  const version = range.params.get("version");
  if (version === undefined) return 2;
  return candidate.versions.includes(version) ? 3 : -1;
}

/** A format matched only by its full type, whose named parameters must agree: 3, else -1. */
function matchParams(candidate: Candidate, params: Readonly<Record<string, string>>, range: MediaRange): number {
  if (range.type !== candidate.type || range.subtype !== candidate.subtype) return -1;
  for (const [key, value] of Object.entries(params)) {
    const given = range.params.get(key);
    if (given !== undefined && given !== value) return -1;
  }
  return 3;
}

function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  let position = 0;
  for (const part of splitList(header)) {
    const [mediaType = "", ...paramParts] = part.split(";");
    const [type, subtype] = mediaType.trim().toLowerCase().split("/");
    if (!type || !subtype) continue;
    const params = new Map<string, string>();
    let q = 1;
    for (const param of paramParts) {
      const eq = param.indexOf("=");
      if (eq < 0) continue;
      const key = param.slice(0, eq).trim().toLowerCase();
      const value = param.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
      if (key === "q") q = parseQuality(value);
      else params.set(key, value);
    }
    ranges.push({ type, subtype, params, q, position: position++ });
  }
  return ranges;
}

/**
 * Whether an `Accept-Encoding` header accepts gzip: `gzip` (or `x-gzip`) with a quality above 0, or `*`
 * above 0 when gzip is not named. A missing header means no compression.
 *
 * @example
 * acceptsGzip("gzip, deflate, br"); // true
 * acceptsGzip("gzip;q=0, *"); // false
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  let gzip: number | undefined;
  let wildcard: number | undefined;
  for (const part of splitList(header)) {
    const [coding = "", ...params] = part.split(";");
    const name = coding.trim().toLowerCase();
    let q = 1;
    for (const param of params) {
      const [key = "", value = ""] = param.split("=");
      if (key.trim().toLowerCase() === "q") q = parseQuality(value.trim());
    }
    if (name === "gzip" || name === "x-gzip") gzip = Math.max(gzip ?? 0, q);
    else if (name === "*") wildcard = q;
  }
  if (gzip !== undefined) return gzip > 0;
  return wildcard !== undefined && wildcard > 0;
}

function splitList(header: string): string[] {
  return header.split(",").map((part) => part.trim()).filter((part) => part !== "");
}

/** A quality value: a number from 0 to 1; anything unparsable counts as 0 (not acceptable). */
function parseQuality(value: string): number {
  if (!/^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(value)) return 0;
  return Number(value);
}
