/**
 * The Prometheus text format 0.0.4 renderer. Its output matches prom-client's own `registry.metrics()`
 * for a registry in text mode (apart from NaN, written `NaN` rather than `Nan`), so serving through
 * prom-threads changes nothing for scrapers that ask for this format.
 * @module
 */
import { escapeLabelValue, escapeTextHelp, formatValue } from "./format.js";
import { renderLabels, type FamilySnapshot, type SampleSnapshot } from "./snapshot.js";

/** The Content-Type of the text format. */
export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const TEXT_TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** Render metric families in the text format 0.0.4. */
export function renderText(families: readonly FamilySnapshot[]): string {
  const blocks: string[] = [];
  for (const family of families) blocks.push(`${textFamilyHead(family)}${textSamples(family, family.values ?? [])}`);
  return `${blocks.join("\n\n")}\n`;
}

/** A family's `# HELP` and `# TYPE` lines, without a line feed after them (samples start with one). */
export function textFamilyHead(family: FamilySnapshot): string {
  const type = TEXT_TYPES.has(family.type) ? family.type : "untyped";
  return `# HELP ${family.name} ${escapeTextHelp(family.help ?? "")}\n# TYPE ${family.name} ${type}`;
}

/** Sample lines of `values` (some or all of a family's), each after a line feed. */
export function textSamples(family: FamilySnapshot, values: readonly SampleSnapshot[]): string {
  let out = "";
  for (const sample of values) out += `\n${sample.metricName ?? family.name}${renderLabels(sample.labels, escapeLabelValue)} ${formatValue(sample.value)}`;
  return out;
}
