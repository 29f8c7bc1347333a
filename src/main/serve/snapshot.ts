/**
 * The shape of `registry.getMetricsAsJSON()` that the renderers read. Typed loosely on purpose: any
 * metric object a prom-client Registry holds (prom-client's own, the hub's, a user's) produces it. Also
 * the naming step every response goes through: filtering by `name[]` and escaping names per request.
 * @module
 */
import { escapeName, quoteName, type EscapingScheme } from "../../shared/model/names.js";

/** Labels of one sample, as prom-client gives them (values may be numbers, e.g. `le`). */
export type SampleLabels = Readonly<Record<string, string | number | undefined>>;

/** An exemplar attached to a sample (prom-client's `Exemplar`). */
export interface ExemplarSnapshot {
  readonly labelSet?: SampleLabels;
  readonly value?: number | null;
  /** Seconds since the epoch. */
  readonly timestamp?: number;
}

/** One sample of a metric family. */
export interface SampleSnapshot {
  readonly value: number;
  readonly labels?: SampleLabels;
  /** The sample's own name when it differs from the family's (`x_bucket`, `x_sum`, `x_count`). */
  readonly metricName?: string;
  readonly exemplar?: ExemplarSnapshot | null;
  /** When the series was created (the hub first saw it, or its last reset): seconds since the epoch. */
  readonly created?: number;
}

/** One metric family. */
export interface FamilySnapshot {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly values?: readonly SampleSnapshot[];
  /** Whether names may lie outside the classic grammar (left so by `allow-utf-8`): the text formats quote them. */
  readonly quoted?: boolean;
  /** The declared UTF-8 names of a hub metric whose names are not all classic (see bridge-metric.ts). */
  readonly utf8?: { readonly name: string; readonly labels: Readonly<Record<string, string>> };
}

/**
 * Render a label set `{a="x",b="y"}` (or the empty string) with `escapeValue` applied to values; with `quoted`,
 * a label name outside the classic grammar is quoted (`{"http.route"="/a"}`).
 */
export function renderLabels(labels: SampleLabels | undefined, escapeValue: (value: string) => string, quoted = false): string {
  const out = labelPairs(labels, escapeValue, quoted);
  return out === "" ? "" : `{${out}}`;
}

/**
 * Rendered pairs of frozen label objects (the hub's self-metrics make each once and reuse it on every
 * scrape), per escaping function and quoting: a frozen object cannot change, so its text cannot either.
 */
const frozenPairs = new WeakMap<object, Map<(value: string) => string, string>>();

function labelPairs(labels: SampleLabels | undefined, escapeValue: (value: string) => string, quoted: boolean): string {
  if (labels === undefined) return "";
  if (quoted || !Object.isFrozen(labels)) return renderPairs(labels, escapeValue, quoted);
  let byEscape = frozenPairs.get(labels);
  if (byEscape === undefined) {
    byEscape = new Map();
    frozenPairs.set(labels, byEscape);
  }
  let text = byEscape.get(escapeValue);
  if (text === undefined) {
    text = renderPairs(labels, escapeValue, false);
    byEscape.set(escapeValue, text);
  }
  return text;
}

function renderPairs(labels: SampleLabels, escapeValue: (value: string) => string, quoted: boolean): string {
  let out = "";
  for (const name in labels) {
    const value = labels[name];
    if (value === undefined) continue;
    out += `${out === "" ? "" : ","}${quoted ? quoteName(name, "label") : name}="${escapeValue(String(value))}"`;
  }
  return out;
}

/**
 * Render a sample's name and labels for the text formats: `name{a="x"}`, or, with `quoted` and a metric
 * name outside the classic grammar, the quoted form with the name first inside the braces
 * (`{"a.b_total",a="x"}`). Only families named under `allow-utf-8` are rendered with `quoted`: the
 * common case pays no grammar check per sample.
 */
export function renderSeries(name: string, labels: SampleLabels | undefined, escapeValue: (value: string) => string, quoted = false): string {
  const metric = quoted ? quoteName(name, "metric") : name;
  if (metric === name) return `${name}${renderLabels(labels, escapeValue, quoted)}`;
  const pairs = labelPairs(labels, escapeValue, quoted);
  return `{${metric}${pairs === "" ? "" : `,${pairs}`}}`;
}

/** Keep only the families named in `names` (by declared or registry name); every family without a filter. */
export function filterFamilies(families: readonly FamilySnapshot[], names: readonly string[] | undefined): readonly FamilySnapshot[] {
  if (names === undefined || names.length === 0) return families;
  const wanted = new Set(names);
  return families.filter((family) => wanted.has(family.name) || (family.utf8 !== undefined && wanted.has(family.utf8.name)));
}

/**
 * Write every family's names as a scraper asked (`escaping=`): the declared UTF-8 names under
 * `allow-utf-8`, escaped by `scheme` otherwise. Families with classic names come back as they are
 * (except under `dots`, which rewrites every underscore).
 */
export function nameFamilies(families: readonly FamilySnapshot[], scheme: EscapingScheme): readonly FamilySnapshot[] {
  if (scheme !== "dots" && !families.some((family) => family.utf8 !== undefined)) return families;
  return families.map((family) => nameFamily(family, scheme));
}

function nameFamily(family: FamilySnapshot, scheme: EscapingScheme): FamilySnapshot {
  const utf8 = family.utf8;
  if (utf8 === undefined && scheme !== "dots") return family;
  const declared = utf8?.name ?? family.name;
  // A counter's `_total` stays a suffix, so that the renderers still recognize it.
  const total = family.type === "counter" && declared.endsWith("_total") ? "_total" : "";
  const name = escapeName(declared.slice(0, declared.length - total.length), scheme) + total;
  const labelName = (label: string): string => escapeName(utf8?.labels[label] ?? label, scheme, "label");
  const renameLabels = (labels: SampleLabels | undefined): SampleLabels | undefined => {
    if (labels === undefined) return undefined;
    const out: Record<string, string | number | undefined> = {};
    for (const label in labels) out[labelName(label)] = labels[label];
    return out;
  };
  const values = (family.values ?? []).map((sample) => {
    const sampleName = sample.metricName;
    const renamed: Record<string, unknown> = { ...sample, labels: renameLabels(sample.labels) };
    if (sampleName?.startsWith(family.name)) renamed.metricName = name + sampleName.slice(family.name.length);
    if (sample.exemplar) renamed.exemplar = { ...sample.exemplar, labelSet: renameLabels(sample.exemplar.labelSet) };
    // Spreading copies own enumerable fields only: the created time (a getter) is copied by hand.
    if (sample.created !== undefined) renamed.created = sample.created;
    return renamed as unknown as SampleSnapshot;
  });
  return { name, help: family.help, type: family.type, values, quoted: scheme === "allow-utf-8" };
}
