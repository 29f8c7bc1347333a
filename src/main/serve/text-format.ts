/**
 * The Prometheus text format 0.0.4 renderer. Its output matches prom-client's own `registry.metrics()`
 * for a registry in text mode (apart from NaN, written `NaN` rather than `Nan`), so serving through
 * prom-threads changes nothing for scrapers that ask for this format.
 * @module
 */
import { escapeLabelValue, escapeTextHelp, formatValue } from "./format.js";
import { renderLabels, type FamilySnapshot } from "./snapshot.js";

/** The Content-Type of the text format. */
export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const TEXT_TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** Render metric families in the text format 0.0.4. */
export function renderText(families: readonly FamilySnapshot[]): string {
  const blocks: string[] = [];
  for (const family of families) {
    const name = family.name;
    const type = TEXT_TYPES.has(family.type) ? family.type : "untyped";
    let block = `# HELP ${name} ${escapeTextHelp(family.help ?? "")}\n# TYPE ${name} ${type}`;
    for (const sample of family.values ?? []) {
      block += `\n${sample.metricName ?? name}${renderLabels(sample.labels, escapeLabelValue)} ${formatValue(sample.value)}`;
    }
    blocks.push(block);
  }
  return `${blocks.join("\n\n")}\n`;
}
