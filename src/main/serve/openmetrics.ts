/**
 * The OpenMetrics 1.0 text renderer. It reads `registry.getMetricsAsJSON()` output and never calls
 * prom-client's OpenMetrics mode, which renames counter objects in the registry for good.
 *
 * What the spec requires and this file does: counter families named without `_total` and samples with
 * it; `le` and `quantile` values as canonical numbers (`1.0`, `0.25`, `1e-05`, `+Inf`); HELP escaping of
 * backslash, double quote and line feed; TYPE before HELP; `# EOF` at the end. Where a value cannot be
 * expressed (a histogram `_sum` that is negative or NaN, or a histogram with negative buckets, which must
 * not have a sum; a negative summary `_sum` or quantile value), that sample is left out, never the family.
 * @module
 */
import { quoteName } from "../../shared/model/names.js";
import { escapeLabelValue, escapeOpenMetricsHelp, formatCanonical, formatValue, labelNumber } from "./format.js";
import { renderLabels, renderSeries, type ExemplarSnapshot, type FamilySnapshot, type SampleLabels, type SampleSnapshot } from "./snapshot.js";

/** The Content-Type of OpenMetrics 1.0. */
export const kOpenmetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/**
 * Render metric families in OpenMetrics 1.0 text, ending with `# EOF`. With `createdSamples`, a `_created`
 * sample (seconds since the epoch) follows each counter, histogram and summary series that knows its
 * created time.
 */
export function renderOpenMetrics(families: readonly FamilySnapshot[], options?: { readonly createdSamples?: boolean }): string {
  const created = options?.createdSamples === true;
  let out = "";
  for (const family of families) out += renderFamily(family, created);
  return `${out}# EOF\n`;
}

function renderFamily(family: FamilySnapshot, created: boolean): string {
  return openMetricsFamilyHead(family) + openMetricsSamples(family, family.values ?? [], created);
}

/** A family's `# TYPE` and `# HELP` lines (see {@link openMetricsSamples}). */
export function openMetricsFamilyHead(family: FamilySnapshot): string {
  const q = family.quoted === true;
  switch (family.type) {
    case "counter":
      return header(q, counterName(family), "counter", family.help);
    case "gauge":
    case "histogram":
    case "summary":
      return header(q, family.name, family.type, family.help);
    default:
      return header(q, family.name, "unknown", family.help);
  }
}

/**
 * The sample lines of `values`, whole series of `family` (with `created`, their `_created` lines): a
 * family rendered in slices is its head, then the lines of each slice's series.
 */
export function openMetricsSamples(family: FamilySnapshot, values: readonly SampleSnapshot[], created: boolean): string {
  switch (family.type) {
    case "counter":
      return renderCounter(family, values, created);
    case "histogram":
      return renderHistogram(family, values, created);
    case "summary":
      return renderSummary(family, values, created);
    default:
      return renderPlain(family, values);
  }
}

function counterName(family: FamilySnapshot): string {
  return family.name.endsWith("_total") ? family.name.slice(0, -"_total".length) : family.name;
}

function header(q: boolean, name: string, type: string, help: string | undefined): string {
  const quoted = q ? quoteName(name, "metric") : name;
  // An empty HELP means no HELP (spec, "MetricFamily metadata"); writing `# HELP name ` adds nothing.
  const helpLine = help ? `# HELP ${quoted} ${escapeOpenMetricsHelp(help)}\n` : "";
  return `# TYPE ${quoted} ${type}\n${helpLine}`;
}

function line(q: boolean, name: string, labels: SampleLabels | undefined, value: number, exemplar?: ExemplarSnapshot | null): string {
  return `${renderSeries(name, labels, escapeLabelValue, q)} ${formatValue(value)}${renderExemplar(exemplar)}\n`;
}

/** The `_created` line of a series, when asked for and known. */
function createdLine(q: boolean, enabled: boolean, name: string, labels: SampleLabels | undefined, sample: SampleSnapshot | undefined): string {
  const created = sample?.created;
  if (!enabled || created === undefined) return "";
  return line(q, `${name}_created`, labels, created);
}

/** An exemplar as OpenMetrics writes it after a sample (` # {a="x"} 1 1.5`), or the empty string. */
export function renderExemplar(exemplar: ExemplarSnapshot | null | undefined): string {
  if (exemplar === null || exemplar === undefined || typeof exemplar.value !== "number") return "";
  const labels = renderLabels(exemplar.labelSet, escapeLabelValue) || "{}";
  const timestamp = typeof exemplar.timestamp === "number" && Number.isFinite(exemplar.timestamp) ? ` ${exemplar.timestamp}` : "";
  return ` # ${labels} ${formatValue(exemplar.value)}${timestamp}`;
}

function renderPlain(family: FamilySnapshot, values: readonly SampleSnapshot[]): string {
  const q = family.quoted === true;
  let out = "";
  for (const sample of values) out += line(q, sample.metricName ?? family.name, sample.labels, sample.value);
  return out;
}

function renderCounter(family: FamilySnapshot, values: readonly SampleSnapshot[], created: boolean): string {
  const q = family.quoted === true;
  const name = counterName(family);
  let out = "";
  for (const sample of values) {
    out += line(q, `${name}_total`, sample.labels, sample.value, sample.exemplar);
    out += createdLine(q, created, name, sample.labels, sample);
  }
  return out;
}

/** The samples of one histogram or summary series (one label set), gathered in order. */
interface Group {
  readonly labels: SampleLabels | undefined;
  /** The names of its labels that have a value, in order. */
  readonly names: readonly string[];
  /** Its labels rendered, `{a="x"}` (or the empty string): the key it was gathered by. */
  readonly key: string;
  readonly points: SampleSnapshot[];
  sum: SampleSnapshot | undefined;
  count: SampleSnapshot | undefined;
}

/**
 * Gather samples by series. prom-client lists each series' samples together; the key (labels without
 * `skip`) also merges a series whose samples come apart. A sample whose labels are those of the group
 * before it (apart from `skip`, in the same order) joins it without rendering its key.
 */
function groupSeries(family: FamilySnapshot, values: readonly SampleSnapshot[], pointSuffix: string, skip: string): Group[] {
  const groups = new Map<string, Group>();
  const pointName = `${family.name}${pointSuffix}`;
  const sumName = `${family.name}_sum`;
  const countName = `${family.name}_count`;
  let last: Group | undefined;
  for (const sample of values) {
    let group = last !== undefined && sameLabelsBut(sample.labels, last, skip) ? last : undefined;
    if (group === undefined) {
      const labels = withoutLabel(sample.labels, skip);
      const key = renderLabels(labels, escapeLabelValue);
      group = groups.get(key);
      if (group === undefined) {
        const names: string[] = [];
        for (const name in labels) if (labels[name] !== undefined) names.push(name);
        group = { labels, names, key, points: [], sum: undefined, count: undefined };
        groups.set(key, group);
      }
    }
    last = group;
    const sampleName = sample.metricName ?? family.name;
    if (sampleName === pointName) group.points.push(sample);
    else if (sampleName === sumName) group.sum = sample;
    else if (sampleName === countName) group.count = sample;
  }
  return [...groups.values()];
}

/** Whether `labels` without `skip` are `group`'s labels: the same names, in the same order, with the same values. */
function sameLabelsBut(labels: SampleLabels | undefined, group: Group, skip: string): boolean {
  if (labels === group.labels) return true;
  if (labels === undefined) return false;
  const names = group.names;
  let i = 0;
  for (const name in labels) {
    if (name === skip) continue;
    const value = labels[name];
    if (value === undefined) continue;
    if (name !== names[i++] || value !== (group.labels as SampleLabels)[name]) return false;
  }
  return i === names.length;
}

/**
 * OpenMetrics canonical numbers of bucket bounds and quantiles, by value: every series of a histogram
 * has the same bounds, so each is formatted once (bounded; -0 is not kept, a Map would take it for 0).
 */
const canonicalCache = new Map<number, string>();
const kCanonicalCacheSize = 4096;

function canonical(value: number): string {
  let text = canonicalCache.get(value);
  if (text !== undefined && !Object.is(value, -0)) return text;
  text = formatCanonical(value);
  if (canonicalCache.size >= kCanonicalCacheSize) canonicalCache.clear();
  if (!Object.is(value, -0)) canonicalCache.set(value, text);
  return text;
}

function withoutLabel(labels: SampleLabels | undefined, skip: string): SampleLabels | undefined {
  if (labels === undefined || !(skip in labels)) return labels;
  const copy: Record<string, string | number | undefined> = {};
  for (const name in labels) if (name !== skip) copy[name] = labels[name];
  return copy;
}

/** Labels of a point, with its special label (`le` or `quantile`) written as a canonical number. */
function pointLabels(sample: SampleSnapshot, special: string): SampleLabels | undefined {
  const labels = sample.labels;
  if (labels === undefined || labels[special] === undefined) return labels;
  const copy: Record<string, string | number | undefined> = {};
  for (const name in labels) copy[name] = name === special ? canonical(labelNumber(labels[name])) : labels[name];
  return copy;
}

/** Whether `special` is the first label of `labels` that has a value. */
function firstLabelIs(labels: SampleLabels | undefined, special: string): boolean {
  for (const name in labels) {
    if (labels[name] === undefined) continue;
    return name === special;
  }
  return false;
}

function renderHistogram(family: FamilySnapshot, values: readonly SampleSnapshot[], created: boolean): string {
  const q = family.quoted === true;
  const name = family.name;
  let out = "";
  const bucketName = `${name}_bucket`;
  for (const group of groupSeries(family, values, "_bucket", "le")) {
    const buckets: Array<{ sample: SampleSnapshot; le: number }> = [];
    let sorted = true;
    for (const sample of group.points) {
      const le = labelNumber(sample.labels?.le);
      if (Number.isNaN(le)) continue;
      if (buckets.length > 0 && le < (buckets[buckets.length - 1] as { le: number }).le) sorted = false;
      buckets.push({ sample, le });
    }
    if (!sorted) buckets.sort((a, b) => a.le - b.le);
    // The series' labels rendered once (its group key) for the buckets that list `le` first, as the hub's
    // histograms do: `{le="0.5",a="x"}`; any other bucket is rendered label by label.
    const rest = group.key === "" ? "" : `,${group.key.slice(1, -1)}`;
    let negativeBucket = false;
    for (const { sample, le } of buckets) {
      if (le < 0) negativeBucket = true;
      if (!q && firstLabelIs(sample.labels, "le")) {
        out += `${bucketName}{le="${canonical(le)}"${rest}} ${formatValue(sample.value)}${renderExemplar(sample.exemplar)}\n`;
      } else {
        out += line(q, bucketName, pointLabels(sample, "le"), sample.value, sample.exemplar);
      }
    }
    // Spec: a histogram with negative buckets has no sum, a sum is never negative or NaN, and _count
    // appears if and only if _sum does.
    const sum = group.sum;
    if (sum !== undefined && group.count !== undefined && !negativeBucket && sum.value >= 0) {
      out += line(q, `${name}_count`, group.labels, group.count.value);
      out += line(q, `${name}_sum`, group.labels, sum.value);
    }
    out += createdLine(q, created, name, group.labels, group.count);
  }
  return out;
}

function renderSummary(family: FamilySnapshot, values: readonly SampleSnapshot[], created: boolean): string {
  const q = family.quoted === true;
  const name = family.name;
  let out = "";
  for (const group of groupSeries(family, values, "", "quantile")) {
    for (const sample of group.points) {
      // Spec: quantile values are never negative; NaN (no recent observations) is allowed.
      if (sample.value < 0) continue;
      out += line(q, name, pointLabels(sample, "quantile"), sample.value);
    }
    if (group.count !== undefined) out += line(q, `${name}_count`, group.labels, group.count.value);
    if (group.sum !== undefined && group.sum.value >= 0) out += line(q, `${name}_sum`, group.labels, group.sum.value);
    out += createdLine(q, created, name, group.labels, group.count);
  }
  return out;
}
