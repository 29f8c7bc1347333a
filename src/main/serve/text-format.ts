/**
 * The Prometheus text format renderer (0.0.4, and 1.0.0, the same syntax with quoted UTF-8 names). Its
 * output matches prom-client's own `registry.metrics()` for a registry in text mode (apart from NaN,
 * written `NaN` rather than `Nan`), so serving through prom-threads changes nothing for scrapers that ask
 * for this format. Names outside the classic grammar (only left by `escaping=allow-utf-8`) are quoted:
 * `# HELP "a.b" ...`, `{"a.b","c.d"="x"} 1`.
 * @module
 */
import { quoteName } from "../../shared/model/names.js";
import { escapeLabelValue, escapeTextHelp, formatValue } from "./format.js";
import { renderSeries, type FamilySnapshot } from "./snapshot.js";

/** The Content-Type of the text format 0.0.4. */
export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** The Content-Type of the text format 1.0.0, without its `escaping` parameter (always added). */
export const kText1ContentType = "text/plain; version=1.0.0; charset=utf-8";

const TEXT_TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** Render metric families in the text format 0.0.4. */
export function renderText(families: readonly FamilySnapshot[]): string {
  const blocks: string[] = [];
  for (const family of families) {
    const name = family.name;
    const quoted = family.quoted === true;
    const header = quoted ? quoteName(name, "metric") : name;
    const type = TEXT_TYPES.has(family.type) ? family.type : "untyped";
    let block = `# HELP ${header} ${escapeTextHelp(family.help ?? "")}\n# TYPE ${header} ${type}`;
    for (const sample of family.values ?? []) {
      block += `\n${renderSeries(sample.metricName ?? name, sample.labels, escapeLabelValue, quoted)} ${formatValue(sample.value)}`;
    }
    blocks.push(block);
  }
  return `${blocks.join("\n\n")}\n`;
}
