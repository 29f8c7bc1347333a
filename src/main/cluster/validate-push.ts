/**
 * What the cluster primary accepts from a worker process's push. A process is part of the application,
 * but a bug (or a forged message on the channel) must not reach the primary's exposition: every name,
 * label and layout is checked here before a family is declared or a series applied, so every scrape of
 * the primary stays valid.
 * @module
 */
import { MAX_HELP_BYTES, MAX_LABEL_NAMES, MAX_LABEL_VALUE_BYTES } from "../../shared/model/limits.js";
import { hasLoneSurrogate, isClassicLabelName, isClassicMetricName, isReservedName } from "../../shared/model/names.js";
import type { WireFamily } from "./protocol.js";

/** Longest metric name accepted from a process, in characters. */
export const MAX_METRIC_NAME_LENGTH = 1024;
/** Most bucket bounds (histogram) or quantiles (summary) accepted in one family. */
export const MAX_LAYOUT_LENGTH = 1024;

const TYPES = new Set(["counter", "gauge", "histogram", "summary"]);

/** Why a family's declaration is refused, or undefined when it is acceptable. */
export function familyProblem(wire: WireFamily): string | undefined {
  const { n: name, h: help, t: type, b: layout } = wire;
  if (typeof name !== "string" || name.length > MAX_METRIC_NAME_LENGTH || !isClassicMetricName(name) || isReservedName(name)) {
    return `a metric name ${JSON.stringify(typeof name === "string" ? name.slice(0, 100) : name)} that is not a valid Prometheus name (or starts with "__")`;
  }
  if (typeof help !== "string" || Buffer.byteLength(help, "utf8") > MAX_HELP_BYTES || hasLoneSurrogate(help)) {
    return `metric "${name}" with a help text that is not a string of at most ${MAX_HELP_BYTES} bytes of valid UTF-16`;
  }
  if (typeof type !== "string" || !TYPES.has(type)) return `metric "${name}" of unknown type ${JSON.stringify(type)}`;
  if (typeof wire.a !== "string") return `metric "${name}" without an aggregator`;
  if (type === "histogram") {
    if (!Array.isArray(layout) || layout.length > MAX_LAYOUT_LENGTH || !layout.every((b, i) => typeof b === "number" && Number.isFinite(b) && (i === 0 || b > (layout[i - 1] as number)))) {
      return `histogram "${name}" whose buckets are not finite numbers in increasing order`;
    }
  }
  if (type === "summary") {
    if (!Array.isArray(layout) || layout.length > MAX_LAYOUT_LENGTH || !layout.every((q) => typeof q === "number" && q >= 0 && q <= 1) || new Set(layout).size !== layout.length) {
      return `summary "${name}" whose quantiles are not distinct numbers from 0 to 1`;
    }
  }
  return undefined;
}

/** Why a series' label set is refused, or undefined when it is acceptable. */
export function labelsProblem(name: string, type: WireFamily["t"], row: unknown): string | undefined {
  if (!Array.isArray(row)) return `a series of metric "${name}" that is not a list`;
  const labels = row[0] as unknown;
  if (labels === null || typeof labels !== "object" || Array.isArray(labels)) return `a series of metric "${name}" without a label object`;
  const names = Object.keys(labels);
  if (names.length > MAX_LABEL_NAMES) return `a series of metric "${name}" with ${names.length} labels (at most ${MAX_LABEL_NAMES})`;
  for (const label of names) {
    if (!isClassicLabelName(label) || isReservedName(label)) return `a series of metric "${name}" with the label name ${JSON.stringify(label.slice(0, 100))}, which is invalid or reserved`;
    if (type === "histogram" && label === "le") return `a series of histogram "${name}" with a label "le", which the histogram's buckets use`;
    if (type === "summary" && label === "quantile") return `a series of summary "${name}" with a label "quantile", which the summary's quantiles use`;
    const value = (labels as Record<string, unknown>)[label];
    if (typeof value !== "string" || Buffer.byteLength(value, "utf8") > MAX_LABEL_VALUE_BYTES || hasLoneSurrogate(value)) {
      return `a series of metric "${name}" whose label "${label}" is not a string of at most ${MAX_LABEL_VALUE_BYTES} bytes of valid UTF-16`;
    }
  }
  return undefined;
}
