/**
 * The metrics a ClusterAggregator places in its registry: one per metric name, holding every process's
 * contribution. Counters and histograms keep what a process reported after it is gone (its last totals
 * are folded into a `retired` part), so they never go down; gauges and summaries show live processes only.
 * @module
 */
import type { MetricValue, Registry } from "prom-client";
import { fromWire, labelKey, type WireFamily, type WireSeries } from "./protocol.js";

/** Identifies a process within an aggregator: the cluster worker's id, or `"primary"`. */
export type ProcessId = string;

/** What a family reports back about a series it could not apply. */
export type ApplyResult = "ok" | "malformed" | "conflict";

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

  protected constructor(family: WireFamily) {
    this.name = family.n;
    this.help = family.h;
    this.type = family.t;
    this.aggregator = (["sum", "max", "min", "first", "average"].includes(family.a) ? family.a : "sum") as PromAggregator;
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

  /** Apply one series a process pushed. `live` is false for a process that has exited (late messages). */
  abstract apply(process: ProcessId, row: WireSeries, live: boolean): ApplyResult;

  /** The process is gone: its live values (gauges, summaries) disappear; totals stay. */
  abstract drop(process: ProcessId): void;

  /** The process will never report again: fold its totals into the retired part and free its state. */
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

interface TotalSeries {
  labels: Record<string, string>;
  /** What processes that are gone, or whose counters were reset, contributed. */
  retired: number[];
  /** Each reporting process's latest cumulative values. */
  contributions: Map<ProcessId, number[]>;
}

/** Shared by counters and histograms: per process cumulative values, summed with the retired part. */
abstract class TotalsFamily extends ClusterFamily {
  readonly #series = new Map<string, TotalSeries>();

  protected abstract readonly width: number;

  /** Validate a decoded row (after the labels). */
  protected abstract valid(values: number[]): boolean;

  /** Whether `next` cannot follow `last` without a reset in the process (a count went down). */
  protected abstract wentDown(last: number[], next: number[]): boolean;

  apply(process: ProcessId, row: WireSeries): ApplyResult {
    const labels = labelsOf(row);
    const values = labels === undefined ? undefined : numbersOf(row, this.width);
    if (labels === undefined || values === undefined || !this.valid(values)) return "malformed";
    const key = labelKey(labels);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { labels, retired: new Array<number>(this.width).fill(0), contributions: new Map() };
      this.#series.set(key, series);
    }
    const last = series.contributions.get(process);
    // A total that went down means the process's metric was reset (a new registry, resetMetrics()): what
    // it had counted before stays counted.
    if (last !== undefined && this.wentDown(last, values)) addInto(series.retired, last);
    series.contributions.set(process, values);
    return "ok";
  }

  drop(): void {
    // Totals stay after a process is gone.
  }

  override forget(process: ProcessId): void {
    for (const series of this.#series.values()) {
      const last = series.contributions.get(process);
      if (last === undefined) continue;
      addInto(series.retired, last);
      series.contributions.delete(process);
    }
  }

  reset(): void {
    for (const series of this.#series.values()) {
      series.retired.fill(0);
      for (const values of series.contributions.values()) subtractInto(series.retired, values);
    }
  }

  /** Every series with its totals. */
  protected totals(): Array<{ labels: Record<string, string>; values: number[] }> {
    const out = [];
    for (const series of this.#series.values()) {
      const values = [...series.retired];
      for (const contribution of series.contributions.values()) addInto(values, contribution);
      out.push({ labels: series.labels, values });
    }
    return out;
  }
}

function addInto(target: number[], values: readonly number[]): void {
  for (let i = 0; i < target.length; i++) target[i] = (target[i] as number) + (values[i] as number);
}

function subtractInto(target: number[], values: readonly number[]): void {
  for (let i = 0; i < target.length; i++) target[i] = (target[i] as number) - (values[i] as number);
}

/** A counter summed over every process that ever reported it. */
export class CounterFamily extends TotalsFamily {
  protected readonly width = 1;

  constructor(family: WireFamily) {
    super(family);
  }

  protected valid(values: number[]): boolean {
    return (values[0] as number) >= 0 && Number.isFinite(values[0]);
  }

  protected wentDown(last: number[], next: number[]): boolean {
    return (next[0] as number) < (last[0] as number);
  }

  protected snapshot(): MetricValue<string>[] {
    return this.totals().map(({ labels, values }) => ({ labels, value: values[0] as number }));
  }
}

/** A histogram merged bucket by bucket over every process that ever reported it. */
export class HistogramFamily extends TotalsFamily {
  /** Bucket bounds without +Inf. */
  readonly bounds: readonly number[];
  protected readonly width: number;

  constructor(family: WireFamily) {
    super(family);
    this.bounds = family.b ?? [];
    // sum, one cumulative count per bound, +Inf
    this.width = this.bounds.length + 2;
  }

  override difference(family: WireFamily): string | undefined {
    const base = super.difference(family);
    if (base !== undefined) return base;
    if (JSON.stringify(family.b ?? []) !== JSON.stringify(this.bounds)) return `buckets ${JSON.stringify(family.b)} differ from ${JSON.stringify(this.bounds)}`;
    return undefined;
  }

  protected valid(values: number[]): boolean {
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
    for (const { labels, values } of this.totals()) {
      this.bounds.forEach((le, i) => {
        out.push({ labels: { le, ...labels }, value: values[i + 1] as number, metricName: bucket } as MetricValue<string>);
      });
      const count = values[values.length - 1] as number;
      out.push({ labels: { le: "+Inf", ...labels }, value: count, metricName: bucket } as MetricValue<string>);
      out.push({ labels, value: values[0] as number, metricName: `${this.name}_sum` } as MetricValue<string>);
      out.push({ labels, value: count, metricName: `${this.name}_count` } as MetricValue<string>);
    }
    return out;
  }
}

interface GaugeSeries {
  labels: Record<string, string>;
  contributions: Map<ProcessId, { value: number; seq: number }>;
}

/**
 * A gauge over live processes, combined with the metric's aggregator: `sum` (the default), `max`, `min`,
 * `average`, and `first`, which prom-threads hubs use for `aggregate: "last"` and which here means the
 * most recently changed value.
 */
export class GaugeFamily extends ClusterFamily {
  readonly #series = new Map<string, GaugeSeries>();
  readonly #clock: { seq: number };

  constructor(family: WireFamily, clock: { seq: number }) {
    super(family);
    this.#clock = clock;
  }

  apply(process: ProcessId, row: WireSeries, live: boolean): ApplyResult {
    const labels = labelsOf(row);
    if (labels === undefined || row.length !== 2) return "malformed";
    const key = labelKey(labels);
    if (row[1] === null) {
      this.#series.get(key)?.contributions.delete(process);
      return "ok";
    }
    const value = fromWire(row[1]);
    if (value === undefined) return "malformed";
    if (!live) return "ok";
    let series = this.#series.get(key);
    if (series === undefined) this.#series.set(key, (series = { labels, contributions: new Map() }));
    series.contributions.set(process, { value, seq: ++this.#clock.seq });
    return "ok";
  }

  drop(process: ProcessId): void {
    for (const series of this.#series.values()) series.contributions.delete(process);
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

  #combine(contributions: Iterable<{ value: number; seq: number }>): number {
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

  constructor(family: WireFamily, processLabel: string) {
    super(family);
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
    if (values === undefined) return "malformed";
    if (!live) return "ok";
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
