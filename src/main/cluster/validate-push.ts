/**
 * What the cluster primary accepts from a worker process's push. A process is part of the application,
 * but a bug (or a forged message on the channel) must not reach the primary's exposition: every name,
 * label and layout is checked here before a family is declared or a series applied, so every scrape of
 * the primary stays valid.
 * @module
 */
import { kMaxHelpBytes, kMaxLabelNames, kMaxLabelValueBytes } from "../../shared/model/limits.js";
import { hasLoneSurrogate, isClassicLabelName, isClassicMetricName, isReservedName } from "../../shared/model/names.js";
import { validateExemplarLabels } from "../../shared/model/exemplar.js";
import { kNativeSchemaMin } from "../../shared/model/native-histogram.js";
import type { ExemplarValue } from "../bridge/binding.js";
import { emptyNative } from "./native-merge.js";
import type { NativeCounts } from "../bridge/native-buckets.js";
import { fromWire, type WireFamily } from "./protocol.js";

/** Longest metric name accepted from a process, in characters. */
const kMaxMetricNameLength = 1024;
/** Most bucket bounds (histogram) or quantiles (summary) accepted in one family. */
const kMaxLayoutLength = 1024;

const kTypes = new Set(["counter", "gauge", "histogram", "summary"]);

/** Why a family's declaration is refused, or undefined when it is acceptable. */
export function familyProblem(wire: WireFamily): string | undefined {
  const { n: name, h: help, t: type, b: layout } = wire;
  if (typeof name !== "string" || name.length > kMaxMetricNameLength || !isClassicMetricName(name) || isReservedName(name)) {
    return `a metric name ${JSON.stringify(typeof name === "string" ? name.slice(0, 100) : name)} that is not a valid Prometheus name (or starts with "__")`;
  }
  if (typeof help !== "string" || Buffer.byteLength(help, "utf8") > kMaxHelpBytes || hasLoneSurrogate(help)) {
    return `metric "${name}" with a help text that is not a string of at most ${kMaxHelpBytes} bytes of valid UTF-16`;
  }
  if (typeof type !== "string" || !kTypes.has(type)) return `metric "${name}" of unknown type ${JSON.stringify(type)}`;
  if (typeof wire.a !== "string") return `metric "${name}" without an aggregator`;
  if (wire.nh !== undefined && (wire.nh !== 1 || type !== "histogram")) return `metric "${name}" with a native flag ${JSON.stringify(wire.nh)} (only a histogram may be native, flagged 1)`;
  if (type === "histogram") {
    if (!Array.isArray(layout) || layout.length > kMaxLayoutLength || !layout.every((b, i) => typeof b === "number" && Number.isFinite(b) && (i === 0 || b > (layout[i - 1] as number)))) {
      return `histogram "${name}" whose buckets are not finite numbers in increasing order`;
    }
  }
  if (type === "summary") {
    if (!Array.isArray(layout) || layout.length > kMaxLayoutLength || !layout.every((q) => typeof q === "number" && q >= 0 && q <= 1) || new Set(layout).size !== layout.length) {
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
  if (names.length > kMaxLabelNames) return `a series of metric "${name}" with ${names.length} labels (at most ${kMaxLabelNames})`;
  for (const label of names) {
    if (!isClassicLabelName(label) || isReservedName(label)) return `a series of metric "${name}" with the label name ${JSON.stringify(label.slice(0, 100))}, which is invalid or reserved`;
    if (type === "histogram" && label === "le") return `a series of histogram "${name}" with a label "le", which the histogram's buckets use`;
    if (type === "summary" && label === "quantile") return `a series of summary "${name}" with a label "quantile", which the summary's quantiles use`;
    const value = (labels as Record<string, unknown>)[label];
    if (typeof value !== "string" || Buffer.byteLength(value, "utf8") > kMaxLabelValueBytes || hasLoneSurrogate(value)) {
      return `a series of metric "${name}" whose label "${label}" is not a string of at most ${kMaxLabelValueBytes} bytes of valid UTF-16`;
    }
  }
  return undefined;
}

/** Finest native schema a push may carry. */
const kNativeSchemaMax = 8;
/** Largest bucket index (either sign) a push may carry: the 20-bit field workers send indexes in. */
const kMaxNativeIndex = 1 << 20;
/** Most native exemplars of one series in a push. */
const kMaxNativeExemplars = 1024;
/** Most populated buckets per side of one native histogram series in a push. */
const kMaxNativeBucketsPerSide = 1 << 16;

/** A series' extra as the aggregator applies it (see `WireExtra` in protocol.ts), validated. */
export interface SeriesExtra {
  /** The exemplar of each slot that has one, by slot. */
  readonly exemplars: ReadonlyMap<number, ExemplarValue>;
  /** Created time, seconds since the epoch. */
  readonly created: number | undefined;
  /** Cumulative native buckets. */
  readonly native: NativeCounts | undefined;
  /** The native histogram's own exemplar list, as the process keeps it now (undefined: none sent). */
  readonly nativeExemplars: readonly ExemplarValue[] | undefined;
}

/** The extra of a counter or histogram series: `slots` exemplar slots, `count` observations in the row. */
export interface ExtraShape {
  readonly name: string;
  readonly slots: number;
  readonly native: boolean;
  readonly count: number;
}

/**
 * Decode and check the extra object a series ends with (exemplars, created time, native buckets), or
 * return why it is refused: a wrong shape, an exemplar label set a hub would refuse to record, a slot or
 * bucket out of range, native counts that are not counts or exceed the series' count.
 */
export function parseExtra(raw: unknown, shape: ExtraShape): SeriesExtra | string {
  const what = `a series of metric "${shape.name}"`;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return `${what} with an extra that is not an object`;
  const { x, c, h } = raw as { x?: unknown; c?: unknown; h?: unknown };
  const exemplars = new Map<number, ExemplarValue>();
  if (x !== undefined) {
    if (!Array.isArray(x) || x.length > shape.slots) return `${what} with more exemplars than its ${shape.slots} slots`;
    for (const item of x as unknown[]) {
      const problem = exemplarProblem(item, shape, exemplars);
      if (problem !== undefined) return `${what} with ${problem}`;
    }
  }
  if (c !== undefined && !(typeof c === "number" && Number.isFinite(c) && c >= 0)) return `${what} with a created time that is not a time`;
  let native: NativeCounts | undefined;
  let nativeExemplars: ExemplarValue[] | undefined;
  if (h !== undefined) {
    if (!shape.native) return `${what} with native buckets, but the histogram is not declared native`;
    const list = (h as { x?: unknown } | null)?.x;
    if (list !== undefined) {
      const parsedList = nativeExemplarsOf(shape.name, list);
      if (typeof parsedList === "string") return `${what} with ${parsedList}`;
      nativeExemplars = parsedList;
    }
    const parsed = parseNative(h);
    if (typeof parsed === "string") return `${what} with ${parsed}`;
    let total = parsed.zeroCount;
    for (const n of parsed.positive.values()) total += n;
    for (const n of parsed.negative.values()) total += n;
    if (total > shape.count) return `${what} with ${total} observations in its native buckets, more than its count ${shape.count}`;
    native = parsed;
  }
  return { exemplars, created: c as number | undefined, native, nativeExemplars };
}

function exemplarProblem(item: unknown, shape: ExtraShape, into: Map<number, ExemplarValue>): string | undefined {
  if (!Array.isArray(item) || item.length !== 4) return "an exemplar that is not [slot, labels, value, timestamp]";
  const [slot, labels, rawValue, timestamp] = item as unknown[];
  if (!Number.isSafeInteger(slot) || (slot as number) < 0 || (slot as number) >= shape.slots || into.has(slot as number)) return `an exemplar slot ${JSON.stringify(slot)} out of range or repeated`;
  const exemplar = exemplarOf(shape.name, labels, rawValue, timestamp);
  if (typeof exemplar === "string") return exemplar;
  into.set(slot as number, exemplar);
  return undefined;
}

/** One exemplar from its wire parts, or why it is refused. */
function exemplarOf(metric: string, labels: unknown, rawValue: unknown, timestamp: unknown): ExemplarValue | string {
  if (labels === null || typeof labels !== "object" || Array.isArray(labels)) return "exemplar labels that are not an object";
  for (const [label, value] of Object.entries(labels)) {
    if (typeof value !== "string" || hasLoneSurrogate(value)) return `an exemplar label ${JSON.stringify(label.slice(0, 100))} that is not a string of valid UTF-16`;
  }
  let labelSet: Record<string, string>;
  try {
    labelSet = validateExemplarLabels(metric, labels);
  } catch (error) {
    return `an exemplar label set Prometheus would refuse (${(error as Error).message})`;
  }
  const value = fromWire(rawValue);
  if (value === undefined) return "an exemplar value that is not a number";
  if (typeof timestamp !== "number" || !Number.isFinite(timestamp) || timestamp < 0) return "an exemplar timestamp that is not a time";
  return { labelSet, value, timestamp };
}

/** A native histogram's exemplar list (`[labels, value, timestamp]` each), or why it is refused. */
function nativeExemplarsOf(metric: string, raw: unknown): ExemplarValue[] | string {
  if (!Array.isArray(raw) || raw.length > kMaxNativeExemplars) return `a native exemplar list that is not a list of at most ${kMaxNativeExemplars}`;
  const out: ExemplarValue[] = [];
  for (const item of raw as unknown[]) {
    if (!Array.isArray(item) || item.length !== 3) return "a native exemplar that is not [labels, value, timestamp]";
    const exemplar = exemplarOf(metric, item[0], item[1], item[2]);
    if (typeof exemplar === "string") return exemplar;
    out.push(exemplar);
  }
  return out;
}

function parseNative(raw: unknown): NativeCounts | string {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return "native buckets that are not an object";
  const { s, z, zc, p, n } = raw as Record<string, unknown>;
  if (!Number.isInteger(s) || (s as number) < kNativeSchemaMin || (s as number) > kNativeSchemaMax) return `a native schema ${JSON.stringify(s)} outside ${kNativeSchemaMin}..${kNativeSchemaMax}`;
  if (typeof z !== "number" || !Number.isFinite(z) || z < 0) return "a native zero threshold that is not a finite number from 0";
  if (!isCount(zc)) return "a native zero count that is not a count";
  const native = emptyNative(s as number, z);
  native.zeroCount = zc as number;
  const positive = sideOf(p, native.positive);
  if (positive !== undefined) return positive;
  return sideOf(n, native.negative) ?? native;
}

function sideOf(raw: unknown, into: Map<number, number>): string | undefined {
  if (!Array.isArray(raw) || raw.length % 2 !== 0 || raw.length > 2 * kMaxNativeBucketsPerSide) {
    return `a native side that is not a list of at most ${kMaxNativeBucketsPerSide} index and count pairs`;
  }
  let previous = -Infinity;
  for (let i = 0; i < raw.length; i += 2) {
    const index = raw[i] as unknown;
    const count = raw[i + 1] as unknown;
    if (!Number.isInteger(index) || Math.abs(index as number) > kMaxNativeIndex || (index as number) <= previous) return "native bucket indexes that are not increasing integers in range";
    if (!isCount(count) || count === 0) return "a native bucket count that is not a positive count";
    into.set(index as number, count as number);
    previous = index as number;
  }
  return undefined;
}

function isCount(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
