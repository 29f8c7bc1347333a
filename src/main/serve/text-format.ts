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
import { renderSeries, type FamilySnapshot, type SampleSnapshot } from "./snapshot.js";

/** The Content-Type of the text format 0.0.4. */
export const kTextContentType = "text/plain; version=0.0.4; charset=utf-8";
/** The Content-Type of the text format 1.0.0, without its `escaping` parameter (always added). */
export const kText1ContentType = "text/plain; version=1.0.0; charset=utf-8";

const kTextTypes = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** Render metric families in the text format 0.0.4. */
export function renderText(families: readonly FamilySnapshot[]): string {
  const blocks: string[] = [];
  for (const family of families) blocks.push(`${textFamilyHead(family)}${textSamples(family, family.values ?? [])}`);
  return `${blocks.join("\n\n")}\n`;
}

/** A family's `# HELP` and `# TYPE` lines, without a line feed after them (samples start with one). */
export function textFamilyHead(family: FamilySnapshot): string {
  const header = family.quoted === true ? quoteName(family.name, "metric") : family.name;
  const type = kTextTypes.has(family.type) ? family.type : "untyped";
  return `# HELP ${header} ${escapeTextHelp(family.help ?? "")}\n# TYPE ${header} ${type}`;
}

/** Sample lines of `values` (some or all of a family's), each after a line feed. */
export function textSamples(family: FamilySnapshot, values: readonly SampleSnapshot[]): string {
  const quoted = family.quoted === true;
  let out = "";
  for (const sample of values) out += `\n${renderSeries(sample.metricName ?? family.name, sample.labels, escapeLabelValue, quoted)} ${formatValue(sample.value)}`;
  return out;
}
