/**
 * The metrics a ClusterAggregator places in its registry: one per metric name, holding every process's
 * contribution. Counters and histograms keep a published total that only ever grows by what processes
 * add, so it never goes down when a process leaves; gauges and summaries show live processes only. Each
 * family holds at most `maxSeries` label sets; further ones fold into an overflow series, as in the hub.
 * @module
 */
import type { MetricValue, Registry } from "prom-client";
import { kOverflowLabelValue } from "../../shared/model/limits.js";
import type { ExemplarValue } from "../bridge/binding.js";
import { addNative, copyNative, emptyNative, isEmptyNative, nativeIncrease } from "./native-merge.js";
import { nativeSnapshotOf, type NativeCounts } from "../bridge/native-buckets.js";
import { fromWire, labelKey, type WireFamily, type WireSeries } from "./protocol.js";
import type { ExtraShape, SeriesExtra } from "./validate-push.js";

/** Identifies a process within an aggregator: the cluster worker's id, or `"primary"`. */
export type ProcessId = string;

/**
 * What a family reports back about a series: applied (`ok`), folded into the overflow series for the
 * first time (`folded`), refused by a bound (`rejected`), or not understood (`malformed`, `conflict`).
 */
export type ApplyResult = "ok" | "folded" | "rejected" | "malformed" | "conflict";

/** Overflow series one family may have: one per set of label names that was folded. */
const kMaxOverflowSeries = 16;

type PromAggregator = "sum" | "max" | "min" | "first" | "average" | "omit";

/** The shape prom-client's Registry reads from `get()`. */
interface FamilyValues {
  name: string;
  help: string;
  type: WireFamily["t"];
  values: MetricValue<string>[];
  aggregator: PromAggregator;
}

/** Base of the aggregated families. */
export abstract class ClusterFamily {
  /** Metric name (prom-client renames counters in place when a registry renders OpenMetrics). */
  name: string;
  /** Help of the first process that reported the metric. */
  readonly help: string;
  /** Prometheus type. */
  readonly type: WireFamily["t"];
  /** prom-client's aggregator, kept for registries that aggregate again. */
  readonly aggregator: PromAggregator;
  /** Label sets this family holds before further ones fold into its overflow series. */
  protected readonly maxSeries: number;

  protected constructor(family: WireFamily, maxSeries: number) {
    this.name = family.n;
    this.help = family.h;
    this.type = family.t;
    this.aggregator = (["sum", "max", "min", "first", "average"].includes(family.a) ? family.a : "sum") as PromAggregator;
    this.maxSeries = maxSeries;
  }

  /** Place this family in `registry`; throws when the name is taken. */
  register(registry: Registry): void {
    registry.registerMetric(this as never);
  }

  /** Describe how `family` differs in a way that cannot be merged, or return undefined. */
  difference(family: WireFamily): string | undefined {
    if (family.t !== this.type) return `type ${family.t} differs from ${this.type}`;
    return undefined;
  }

  /**
   * Apply one series a process pushed, whose labels the aggregator has validated. `live` is false for a
   * process that has exited (late messages). `extra` is the series' validated extra (counters and
   * histograms only).
   */
  abstract apply(process: ProcessId, row: WireSeries, live: boolean, extra?: SeriesExtra): ApplyResult;

  /**
   * How the extra object of a series of this family must look (see validate-push.ts), or undefined when
   * the family's series carry none (gauges, summaries).
   */
  extraShape(_row: WireSeries): ExtraShape | undefined {
    return undefined;
  }

  /** The process is gone: its live values (gauges, summaries) disappear; totals stay. */
  abstract drop(process: ProcessId): void;

  /** The process will never report again: free what is kept of it. Totals stay as published. */
  forget(process: ProcessId): void {
    this.drop(process);
  }

  /** prom-client's `registry.resetMetrics()`: totals restart from 0. */
  abstract reset(): void;

  protected abstract snapshot(): MetricValue<string>[];

  /**
   * Return the values in prom-client's shape. The registry's `metrics()` and `getMetricsAsJSON()` collect
   * from the processes first (the aggregator wraps them), so the list of families is fresh too.
   */
  async get(): Promise<FamilyValues> {
    return { name: this.name, help: this.help, type: this.type, values: this.snapshot(), aggregator: this.aggregator };
  }
}

/** The labels of the overflow series for a label set: every one of its label names, valued `__overflow__`. */
function overflowLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(labels)) out[name] = kOverflowLabelValue;
  return out;
}

function labelsOf(row: unknown): Record<string, string> | undefined {
  if (!Array.isArray(row)) return undefined;
  const labels = row[0] as unknown;
  if (labels === null || typeof labels !== "object" || Array.isArray(labels)) return undefined;
  for (const value of Object.values(labels)) if (typeof value !== "string") return undefined;
  return labels as Record<string, string>;
}

/** Read `count` numbers from `row` starting at index 1; undefined when any is missing or not a number. */
function numbersOf(row: WireSeries, count: number): number[] | undefined {
  if (row.length !== count + 1) return undefined;
  const out: number[] = [];
  for (let i = 1; i <= count; i++) {
    const value = fromWire(row[i]);
    if (value === undefined) return undefined;
    out.push(value);
  }
  return out;
}

/** How many label sets each process has folded into a family's overflow series, each bounded by maxSeries. */
class FoldBudget {
  readonly #limit: number;
  readonly #used = new Map<ProcessId, number>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Take room for one more folded label set of `process`; false when it has none left. */
  take(process: ProcessId): boolean {
    const used = this.#used.get(process) ?? 0;
    if (used >= this.#limit) return false;
    this.#used.set(process, used + 1);
    return true;
  }

  /** Give back the room of one folded label set of `process`. */
  give(process: ProcessId): void {
    const used = (this.#used.get(process) ?? 1) - 1;
    if (used <= 0) this.#used.delete(process);
    else this.#used.set(process, used);
  }

  /** Forget `process` entirely. */
  forget(process: ProcessId): void {
    this.#used.delete(process);
  }
}

interface TotalSeries {
  labels: Record<string, string>;
  /** The published totals. They change only by what processes add: a process leaving changes nothing. */
  total: number[];
  /** The latest exemplar (by timestamp) of each slot over every process. */
  exemplars: (ExemplarValue | undefined)[];
  /** The earliest created time of what the totals hold (seconds), or undefined when no process said. */
  created: number | undefined;
  /** When the totals were last reset (seconds): what they hold started then at the earliest. */
  resetAt: number;
  /** The native buckets, summed exactly like `total`. */
  native: NativeCounts | undefined;
  /** The native exemplar list: the newest over every process, as many as the longest list a process sent. */
  nativeExemplars: ExemplarValue[];
  /** The length of the longest native exemplar list a process sent for this series. */
  nativeExemplarRoom: number;
}

/** What the aggregator keeps of a process's last push of one series. */
interface LastPush {
  values: number[];
  native: NativeCounts | undefined;
}

/**
 * Shared by counters and histograms. Each series holds its published total; each push adds the process's
 * increase since its previous push of that series (its cumulative value when new, or when it went down,
 * which means the process's metric was reset). A process that leaves only frees its last values: the
 * total is never recomputed, so floating-point sums cannot move when processes come and go.
 */
abstract class TotalsFamily extends ClusterFamily {
  readonly #series = new Map<string, TotalSeries>();
  /** Each process's last cumulative values, by the label key it pushed (folded ones included). */
  readonly #last = new Map<ProcessId, Map<string, LastPush>>();
  readonly #folds: FoldBudget;
  #admitted = 0;
  #overflows = 0;

  protected abstract readonly width: number;

  /** Validate a decoded row (after the labels). */
  protected abstract valid(values: number[]): boolean;

  /** Whether `next` cannot follow `last` without a reset in the process (a count went down). */
  protected abstract wentDown(last: number[], next: number[]): boolean;

  protected constructor(family: WireFamily, maxSeries: number) {
    super(family, maxSeries);
    this.#folds = new FoldBudget(maxSeries);
  }

  apply(process: ProcessId, row: WireSeries, _live: boolean, extra?: SeriesExtra): ApplyResult {
    const labels = labelsOf(row);
    const values = labels === undefined ? undefined : numbersOf(row, this.width);
    if (labels === undefined || values === undefined || !this.valid(values)) return "malformed";
    const key = labelKey(labels);
    let last = this.#last.get(process);
    const previous = last?.get(key);
    let target = this.#series.get(key);
    let folded = false;
    if (target === undefined) {
      if (this.#admitted < this.maxSeries) {
        target = this.#create(key, labels);
        this.#admitted++;
      } else {
        const overflow = overflowLabels(labels);
        const overflowKey = labelKey(overflow);
        target = this.#series.get(overflowKey);
        if (target === undefined) {
          if (this.#overflows >= kMaxOverflowSeries) return "rejected";
          target = this.#create(overflowKey, overflow);
          this.#overflows++;
        }
        if (previous === undefined) {
          if (!this.#folds.take(process)) return "rejected";
          folded = true;
        }
      }
    }
    // A new series, or one whose count went down (the process reset it), adds its whole value; so do
    // its native buckets, which must follow the same way (a reset shows in one or the other).
    const native = extra?.native;
    let nativeGrowth = native;
    let base = previous === undefined || this.wentDown(previous.values, values) ? undefined : previous;
    if (base !== undefined && native !== undefined && base.native !== undefined) {
      nativeGrowth = nativeIncrease(base.native, native);
      if (nativeGrowth === undefined) {
        base = undefined;
        nativeGrowth = native;
      }
    }
    for (let i = 0; i < this.width; i++) {
      const increase = (values[i] as number) - (base === undefined ? 0 : (base.values[i] as number));
      target.total[i] = (target.total[i] as number) + increase;
    }
    if (nativeGrowth !== undefined && !isEmptyNative(nativeGrowth)) {
      if (target.native === undefined) target.native = copyNative(nativeGrowth);
      else addNative(target.native, nativeGrowth);
    } else if (nativeGrowth !== undefined && target.native === undefined) {
      target.native = emptyNative(nativeGrowth.schema, nativeGrowth.zeroThreshold);
    }
    if (extra !== undefined) keepExtra(target, extra);
    if (last === undefined) {
      last = new Map();
      this.#last.set(process, last);
    }
    // Without native buckets this time (a malformed extra was dropped), the last ones pushed stay the base.
    last.set(key, { values, native: native ?? previous?.native });
    return folded ? "folded" : "ok";
  }

  drop(): void {
    // Totals stay after a process is gone.
  }

  override forget(process: ProcessId): void {
    this.#last.delete(process);
    this.#folds.forget(process);
  }

  reset(): void {
    const now = Date.now() / 1000;
    for (const series of this.#series.values()) {
      series.total.fill(0);
      series.exemplars = [];
      series.nativeExemplars = [];
      series.created = now;
      series.resetAt = now;
      if (series.native !== undefined) series.native = emptyNative(series.native.schema, series.native.zeroThreshold);
    }
  }

  /** Every series with its totals. */
  protected totals(): readonly TotalSeries[] {
    return [...this.#series.values()];
  }

  #create(key: string, labels: Record<string, string>): TotalSeries {
    const series: TotalSeries = {
      labels,
      total: new Array<number>(this.width).fill(0),
      exemplars: [],
      created: undefined,
      resetAt: Number.NEGATIVE_INFINITY,
      native: undefined,
      nativeExemplars: [],
      nativeExemplarRoom: 0,
    };
    this.#series.set(key, series);
    return series;
  }
}

/**
 * Keep the newer exemplar of each slot (ties go to the later push) and the earlier created time, never
 * before the totals' last reset.
 */
function keepExtra(target: TotalSeries, extra: SeriesExtra): void {
  for (const [slot, exemplar] of extra.exemplars) {
    const kept = target.exemplars[slot];
    if (kept === undefined || kept.timestamp <= exemplar.timestamp) target.exemplars[slot] = exemplar;
  }
  if (extra.nativeExemplars !== undefined) keepNativeExemplars(target, extra.nativeExemplars);
  if (extra.created === undefined) return;
  const created = Math.max(extra.created, target.resetAt);
  if (target.created === undefined || created < target.created) target.created = created;
}

/**
 * Merge a process's native exemplar list into the series': the newest exemplars over every process (by
 * timestamp, repeated ones once), as many as the longest list a process sent, ordered by value as the
 * hub orders its own.
 */
function keepNativeExemplars(target: TotalSeries, list: readonly ExemplarValue[]): void {
  target.nativeExemplarRoom = Math.max(target.nativeExemplarRoom, list.length);
  const seen = new Set<string>();
  const merged: ExemplarValue[] = [];
  for (const exemplar of [...target.nativeExemplars, ...list]) {
    const key = JSON.stringify([exemplar.timestamp, exemplar.value, exemplar.labelSet]);
    if (seen.has(key)) continue;
    seen.add(key);
    merged.push(exemplar);
  }
  merged.sort((a, b) => b.timestamp - a.timestamp);
  target.nativeExemplars = merged.slice(0, target.nativeExemplarRoom).sort((a, b) => a.value - b.value);
}

/** A sample of a series that may carry a created time and an exemplar. */
function sample(labels: Record<string, string | number>, value: number, fields: { metricName?: string; exemplar?: ExemplarValue | null; created?: number | undefined }): MetricValue<string> {
  const out: Record<string, unknown> = { labels, value };
  if (fields.metricName !== undefined) out.metricName = fields.metricName;
  if (fields.exemplar !== undefined) out.exemplar = fields.exemplar;
  if (fields.created !== undefined) out.created = fields.created;
  return out as unknown as MetricValue<string>;
}

/** A counter summed over every process that ever reported it. */
export class CounterFamily extends TotalsFamily {
  protected readonly width = 1;

  constructor(family: WireFamily, maxSeries: number) {
    super(family, maxSeries);
  }

  protected valid(values: number[]): boolean {
    return (values[0] as number) >= 0 && Number.isFinite(values[0]);
  }

  protected wentDown(last: number[], next: number[]): boolean {
    return (next[0] as number) < (last[0] as number);
  }

  override extraShape(): ExtraShape {
    return { name: this.name, slots: 1, native: false, count: 0 };
  }

  protected snapshot(): MetricValue<string>[] {
    return this.totals().map(({ labels, total, exemplars, created }) => sample(labels, total[0] as number, { exemplar: exemplars[0], created }));
  }
}

/** A histogram merged bucket by bucket over every process that ever reported it. */
export class HistogramFamily extends TotalsFamily {
  /** Bucket bounds without +Inf. */
  readonly bounds: readonly number[];
  /** Whether the histogram has native buckets too. */
  readonly native: boolean;
  protected readonly width: number;

  constructor(family: WireFamily, maxSeries: number) {
    super(family, maxSeries);
    this.bounds = family.b ?? [];
    this.native = family.nh === 1;
    // sum, one cumulative count per bound, +Inf
    this.width = this.bounds.length + 2;
  }

  override difference(family: WireFamily): string | undefined {
    const base = super.difference(family);
    if (base !== undefined) return base;
    if (JSON.stringify(family.b ?? []) !== JSON.stringify(this.bounds)) return `buckets ${JSON.stringify(family.b)} differ from ${JSON.stringify(this.bounds)}`;
    if ((family.nh === 1) !== this.native) return `${this.native ? "no " : ""}native buckets where the first declaration has ${this.native ? "them" : "none"}`;
    return undefined;
  }

  override extraShape(row: WireSeries): ExtraShape {
    const count = fromWire(row[this.width]);
    return { name: this.name, slots: this.bounds.length + 1, native: this.native, count: count ?? 0 };
  }

  protected valid(values: number[]): boolean {
    // A sum that is NaN or infinite would stay in the total for good.
    if (!Number.isFinite(values[0])) return false;
    for (let i = 1; i < values.length; i++) {
      const count = values[i] as number;
      if (!(count >= 0) || !Number.isFinite(count) || (i > 1 && count < (values[i - 1] as number))) return false;
    }
    return true;
  }

  protected wentDown(last: number[], next: number[]): boolean {
    for (let i = 1; i < next.length; i++) if ((next[i] as number) < (last[i] as number)) return true;
    return false;
  }

  protected snapshot(): MetricValue<string>[] {
    const out: MetricValue<string>[] = [];
    const bucket = `${this.name}_bucket`;
    for (const { labels, total: values, exemplars, created, native, nativeExemplars } of this.totals()) {
      this.bounds.forEach((le, i) => {
        out.push(sample({ le, ...labels }, values[i + 1] as number, { metricName: bucket, exemplar: exemplars[i] }));
      });
      const count = values[values.length - 1] as number;
      out.push(sample({ le: "+Inf", ...labels }, count, { metricName: bucket, exemplar: exemplars[this.bounds.length] }));
      out.push({ labels, value: values[0] as number, metricName: `${this.name}_sum` } as MetricValue<string>);
      const countSample = sample(labels, count, { metricName: `${this.name}_count`, created }) as MetricValue<string> & { native?: unknown };
      // Only the protobuf renderer reads `native`; the text formats show the classic buckets.
      if (native !== undefined) countSample.native = nativeSnapshotOf(native, nativeExemplars);
      out.push(countSample);
    }
    return out;
  }
}

interface GaugeContribution {
  process: ProcessId;
  value: number;
  seq: number;
}

interface GaugeSeries {
  labels: Record<string, string>;
  overflow: boolean;
  /** By process, or, in an overflow series, by process and folded label key. */
  contributions: Map<string, GaugeContribution>;
}

/**
 * A gauge over live processes, combined with the metric's aggregator: `sum` (the default), `max`, `min`,
 * `average`, and `first`, which prom-threads hubs use for `aggregate: "last"` and which here means the
 * most recently changed value. An overflow series combines every folded contribution the same way.
 */
export class GaugeFamily extends ClusterFamily {
  readonly #series = new Map<string, GaugeSeries>();
  readonly #clock: { seq: number };
  readonly #folds: FoldBudget;
  #admitted = 0;
  #overflows = 0;

  constructor(family: WireFamily, clock: { seq: number }, maxSeries: number) {
    super(family, maxSeries);
    this.#clock = clock;
    this.#folds = new FoldBudget(maxSeries);
  }

  apply(process: ProcessId, row: WireSeries, live: boolean): ApplyResult {
    const labels = labelsOf(row);
    if (labels === undefined || row.length !== 2) return "malformed";
    const key = labelKey(labels);
    const held = this.#series.get(key);
    const overflowKey = held === undefined ? labelKey(overflowLabels(labels)) : key;
    const foldedKey = `${process.length}:${process}${key}`;
    if (row[1] === null) {
      if (held !== undefined && !held.overflow) this.#remove(held, key, process);
      else {
        const overflow = this.#series.get(overflowKey);
        if (overflow?.contributions.has(foldedKey)) this.#remove(overflow, overflowKey, foldedKey);
      }
      return "ok";
    }
    const value = fromWire(row[1]);
    if (value === undefined) return "malformed";
    if (!live) return "ok";
    if (held !== undefined && !held.overflow) {
      held.contributions.set(process, { process, value, seq: ++this.#clock.seq });
      return "ok";
    }
    if (held === undefined && this.#admitted < this.maxSeries) {
      this.#series.set(key, { labels, overflow: false, contributions: new Map([[process, { process, value, seq: ++this.#clock.seq }]]) });
      this.#admitted++;
      return "ok";
    }
    let overflow = this.#series.get(overflowKey);
    if (overflow === undefined) {
      if (this.#overflows >= kMaxOverflowSeries) return "rejected";
      overflow = { labels: overflowLabels(labels), overflow: true, contributions: new Map() };
      this.#series.set(overflowKey, overflow);
      this.#overflows++;
    }
    const isNew = !overflow.contributions.has(foldedKey);
    if (isNew && !this.#folds.take(process)) return "rejected";
    overflow.contributions.set(foldedKey, { process, value, seq: ++this.#clock.seq });
    return isNew ? "folded" : "ok";
  }

  drop(process: ProcessId): void {
    for (const [key, series] of this.#series) {
      for (const [contributor, contribution] of series.contributions) {
        if (contribution.process === process) this.#remove(series, key, contributor);
      }
    }
    this.#folds.forget(process);
  }

  reset(): void {
    // Gauges show live values; the next change of each process sets them again.
  }

  protected snapshot(): MetricValue<string>[] {
    const out: MetricValue<string>[] = [];
    for (const series of this.#series.values()) {
      if (series.contributions.size === 0) continue;
      out.push({ labels: series.labels, value: this.#combine(series.contributions.values()) });
    }
    return out;
  }

  /** Remove one contribution; a series left without any gives its room back. */
  #remove(series: GaugeSeries, key: string, contributor: string): void {
    const contribution = series.contributions.get(contributor);
    if (contribution === undefined) return;
    series.contributions.delete(contributor);
    if (series.overflow) this.#folds.give(contribution.process);
    if (series.contributions.size > 0) return;
    this.#series.delete(key);
    if (series.overflow) this.#overflows--;
    else this.#admitted--;
  }

  #combine(contributions: Iterable<GaugeContribution>): number {
    let sum = 0;
    let count = 0;
    let max = Number.NEGATIVE_INFINITY;
    let min = Number.POSITIVE_INFINITY;
    let latest = { value: 0, seq: -1 };
    for (const c of contributions) {
      sum += c.value;
      count++;
      if (c.value > max) max = c.value;
      if (c.value < min) min = c.value;
      if (c.seq > latest.seq) latest = c;
    }
    switch (this.aggregator) {
      case "max":
        return max;
      case "min":
        return min;
      case "average":
        return sum / count;
      case "first":
        return latest.value;
      default:
        return sum;
    }
  }
}

interface SummarySeries {
  labels: Record<string, string>;
  process: ProcessId;
  /** sum, count, then one value per quantile. */
  values: number[];
}

/**
 * A summary, one series per process with the process label added. Quantiles cannot be merged exactly,
 * so each process's are shown as they are; a process's series go with the process.
 */
export class SummaryFamily extends ClusterFamily {
  readonly quantiles: readonly number[];
  readonly #processLabel: string;
  readonly #series = new Map<string, SummarySeries>();

  constructor(family: WireFamily, processLabel: string, maxSeries: number) {
    super(family, maxSeries);
    this.quantiles = family.b ?? [];
    this.#processLabel = processLabel;
  }

  override difference(family: WireFamily): string | undefined {
    const base = super.difference(family);
    if (base !== undefined) return base;
    if (JSON.stringify(family.b ?? []) !== JSON.stringify(this.quantiles)) return `quantiles ${JSON.stringify(family.b)} differ from ${JSON.stringify(this.quantiles)}`;
    return undefined;
  }

  apply(process: ProcessId, row: WireSeries, live: boolean): ApplyResult {
    const labels = labelsOf(row);
    if (labels === undefined) return "malformed";
    if (Object.hasOwn(labels, this.#processLabel)) return "conflict";
    const key = `${process.length}:${process}${labelKey(labels)}`;
    if (row.length === 2 && row[1] === null) {
      this.#series.delete(key);
      return "ok";
    }
    const values = numbersOf(row, this.quantiles.length + 2);
    // A count must be a count; a sum that is NaN or infinite says nothing. Quantiles may be NaN (no data).
    if (values === undefined || !Number.isFinite(values[0]) || !((values[1] as number) >= 0) || !Number.isFinite(values[1])) return "malformed";
    if (!live) return "ok";
    // Quantiles cannot be merged, so a summary has no overflow series: label sets past the limit are refused.
    if (!this.#series.has(key) && this.#series.size >= this.maxSeries) return "rejected";
    this.#series.set(key, { labels: { ...labels, [this.#processLabel]: process }, process, values });
    return "ok";
  }

  drop(process: ProcessId): void {
    for (const [key, series] of this.#series) if (series.process === process) this.#series.delete(key);
  }

  reset(): void {
    // Each process owns its summary; the next push of each sets it again.
  }

  protected snapshot(): MetricValue<string>[] {
    const out: MetricValue<string>[] = [];
    for (const { labels, values } of this.#series.values()) {
      this.quantiles.forEach((quantile, i) => {
        out.push({ labels: { quantile, ...labels }, value: values[i + 2] as number });
      });
      out.push({ labels, value: values[0] as number, metricName: `${this.name}_sum` } as MetricValue<string>);
      out.push({ labels, value: values[1] as number, metricName: `${this.name}_count` } as MetricValue<string>);
    }
    return out;
  }
}
