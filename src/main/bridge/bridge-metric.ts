/**
 * The base of the metrics the hub places in a prom-client Registry. They are ordinary registry citizens:
 * `registry.metrics()`, `getMetricsAsJSON()`, `getSingleMetricAsString()` and `resetMetrics()` all work,
 * and each `get()` drains the hub first.
 * @module
 */
import type { MetricValue, Registry } from "prom-client";
import { kOverflowLabelValue } from "../../shared/model/limits.js";
import { seriesKey } from "../../shared/model/series-key.js";
import type { ClusterAggregator, LabelValue, MetricDeclaration, MetricType } from "../../shared/model/types.js";
import { escapeName } from "../../shared/model/names.js";
import type { Binding, SeriesLabels } from "./binding.js";

/** Called when label sets fold into a metric's overflow series: `count` more of them. */
export type OverflowListener = (metric: BridgeMetric, count: number) => void;

/** The shape prom-client's Registry reads from a metric's `get()`. */
export interface MetricSnapshot {
  name: string;
  help: string;
  type: MetricType;
  values: MetricValue<string>[];
  aggregator: ClusterAggregator;
  /**
   * The UTF-8 names of a metric whose declaration uses names outside the classic grammar: the metric name
   * as declared, and the declared label names by their escaped form. prom-client's registry sees the names
   * escaped with `underscores` (so `registry.metrics()` stays valid text); the serving code reads this to
   * write the names as declared, escaped per request.
   */
  utf8?: { readonly name: string; readonly labels: Readonly<Record<string, string>> };
}

type Utf8Names = NonNullable<MetricSnapshot["utf8"]>;

/**
 * A sample of a counter or histogram series with the series' created time (seconds since the epoch), for
 * the renderers that write it (protobuf `created_timestamp`, OpenMetrics `_created`). The time is read
 * through a getter, not an own property, so `getMetricsAsJSON()` output keeps prom-client's shape for code
 * that compares or serializes it; and, unlike a property defined per sample, it costs a scrape nothing.
 */
export class CreatedSample {
  /** The series' labels. */
  labels: SeriesLabels;
  /** The sample's value. */
  value: number;
  readonly #created: number;
  constructor(labels: SeriesLabels, value: number, created: number) {
    this.labels = labels;
    this.value = value;
    this.#created = created;
  }
  /** When the hub first saw the series, or its last reset: seconds since the epoch. */
  get created(): number {
    return this.#created;
  }
}

/**
 * Attach a created time to a sample someone else made (a prom-client Summary's `_count`): not enumerable,
 * for the same reason as {@link CreatedSample}. Costs a property definition: for summaries only.
 */
export function withCreated<T extends object>(sample: T, created: number): T {
  Object.defineProperty(sample, "created", { value: created, enumerable: false });
  return sample;
}

/** The UTF-8 names of `declaration`, or undefined when every name is classic. */
function utf8NamesOf(declaration: MetricDeclaration): Utf8Names | undefined {
  const labels: Record<string, string> = {};
  let utf8 = escapeName(declaration.name, "underscores") !== declaration.name;
  for (const label of declaration.labelNames) {
    const escaped = escapeName(label, "underscores", "label");
    labels[escaped] = label;
    if (escaped !== label) utf8 = true;
  }
  return utf8 ? { name: declaration.name, labels } : undefined;
}

/** Base class of the hub's aggregated metrics. */
export abstract class BridgeMetric {
  /** Metric name (prom-client may rename counters in place when a registry renders OpenMetrics). */
  name: string;
  /** Help text. */
  readonly help: string;
  /** Prometheus type. */
  readonly type: MetricType;
  /** How prom-client's AggregatorRegistry combines this metric across processes. */
  readonly aggregator: ClusterAggregator;
  /** Label names, in order, escaped with `underscores` as the registry shows them. */
  readonly labelNames: readonly string[];
  /** The declared UTF-8 names, when they differ from {@link name} and {@link labelNames}. */
  readonly utf8: Utf8Names | undefined;
  /** The declaration that created this metric; later declarations must equal it. */
  readonly declaration: MetricDeclaration;
  /** Label values of the overflow series: `"__overflow__"` for every label. */
  protected readonly overflowValues: readonly string[];
  readonly #beforeCollect: () => void;
  readonly #overflowKey: string;
  #maxSeries = Infinity;
  #onOverflow: OverflowListener = () => {};
  /** Label sets held now, the overflow series aside. */
  #admitted = 0;

  /** Create the metric; call {@link register} to place it in a registry. */
  protected constructor(declaration: MetricDeclaration, beforeCollect: () => void) {
    this.declaration = declaration;
    // prom-client's registry and its text output know classic names only: the metric lives there under
    // its escaped names, and the declared ones travel beside them (see docs/design.md, "UTF-8 names").
    this.name = escapeName(declaration.name, "underscores");
    this.help = declaration.help;
    this.type = declaration.type;
    this.labelNames = declaration.labelNames.map((label) => escapeName(label, "underscores", "label"));
    this.utf8 = utf8NamesOf(declaration);
    this.aggregator = aggregatorOf(declaration);
    this.#beforeCollect = beforeCollect;
    this.overflowValues = declaration.labelNames.map(() => kOverflowLabelValue);
    this.#overflowKey = seriesKey(this.overflowValues);
  }

  /**
   * Hold at most `maxSeries` label sets; past it, {@link bind} folds new ones into the overflow series
   * and tells `onOverflow`. The metric's own `maxSeries` (from its declaration) wins over `maxSeries`.
   */
  limitSeries(maxSeries: number, onOverflow: OverflowListener): void {
    this.#maxSeries = this.declaration.maxSeries ?? maxSeries;
    this.#onOverflow = onOverflow;
  }

  /** Label sets held now, the overflow series aside. */
  get seriesCount(): number {
    return this.#admitted;
  }

  /** Count label sets a worker folded into the overflow series itself (it reached its own limit). */
  foldedInWorker(count: number): void {
    this.#onOverflow(this, count);
  }

  /**
   * Decide whether a new label set (key `key`, not held yet) may be created. The overflow series always
   * may; another label set may while fewer than `maxSeries` are held. A refusal is counted: the caller
   * binds the overflow series instead.
   */
  protected admit(key: string): boolean {
    if (key === this.#overflowKey) return true;
    if (this.#admitted >= this.#maxSeries) {
      this.#onOverflow(this, 1);
      return false;
    }
    this.#admitted++;
    return true;
  }

  /** A label set (key `key`) was deleted: its room is free again. */
  protected released(key: string): void {
    if (key !== this.#overflowKey) this.#admitted--;
  }

  /** Place this metric in `registry`; throws when the name is taken by another metric. */
  register(registry: Registry): void {
    registry.registerMetric(this as never);
  }

  /**
   * Resolve a worker's series (its label values) to the binding its records apply to. A new label set is
   * not exported before its first record, except the unlabelled one, exported from its declaration.
   */
  abstract bind(values: readonly LabelValue[]): Binding;

  /** Whether this metric has no labels: its one series is exported from its declaration, as in prom-client. */
  protected get unlabelled(): boolean {
    return this.labelNames.length === 0;
  }

  /**
   * The metric's series, as a live iterator: series added while it is held are still visited, deleted
   * ones skipped (a Map's iterator), so a scrape can page through them across turns of the event loop.
   */
  protected abstract seriesIterator(): Iterator<unknown>;

  /** Render the values of `series` (taken from {@link seriesIterator}), as prom-client's metrics do. */
  protected abstract snapshotOf(series: Iterable<unknown>): MetricValue<string>[];

  /** Render the current values, as prom-client's metrics do. */
  protected snapshot(): MetricValue<string>[] {
    return this.snapshotOf({ [Symbol.iterator]: () => this.seriesIterator() });
  }

  /**
   * @internal For scrapes that render in slices: a reader of the exported values, at most `maxSeries`
   * series per call, each series read whole in one call (a histogram's buckets, `_count` and `_sum`
   * agree), without draining the hub. `undefined` once every series was read.
   */
  pages(): (maxSeries: number) => MetricValue<string>[] | undefined {
    const iterator = this.seriesIterator();
    let done = false;
    return (maxSeries) => {
      if (done) return undefined;
      const batch: unknown[] = [];
      while (batch.length < maxSeries) {
        const next = iterator.next();
        if (next.done === true) {
          done = true;
          break;
        }
        batch.push(next.value);
      }
      return this.snapshotOf(batch);
    };
  }

  /**
   * Render the current values for the text exposition. Defaults to {@link snapshot}; a metric may return
   * values whose series labels sit in `sharedLabels`, which prom-client formats once per series.
   */
  protected promStringSnapshot(): MetricValue<string>[] {
    return this.snapshot();
  }

  /**
   * Reset as prom-client's metric of this type resets (`registry.resetMetrics()`, or `reset()` in a
   * worker): label sets stay bound to workers, but are exported again only from their next record.
   */
  abstract reset(): void;

  /**
   * Return the current values in prom-client's shape without draining the hub first: for readers that
   * must stay cheaper than a scrape (the status page), and accept values up to one drain interval old.
   */
  peek(): MetricValue<string>[] {
    return this.snapshot();
  }

  /**
   * @internal Drain the hub as {@link get} does, without reading the values: for a reader that reads them
   * its own way right after (src/main/prom-text.ts).
   */
  beforeRead(): void {
    this.#beforeCollect();
  }

  /** Drain the hub, then return the values in prom-client's shape. */
  async get(): Promise<MetricSnapshot> {
    this.#beforeCollect();
    return this.#withUtf8({ name: this.name, help: this.help, type: this.type, values: this.snapshot(), aggregator: this.aggregator });
  }

  /**
   * Drain the hub, then return the values for prom-client's text exposition (`registry.metrics()` calls
   * this instead of `get()` when a metric has it, as it does for its own histograms).
   */
  async getForPromString(): Promise<MetricSnapshot> {
    this.#beforeCollect();
    return { name: this.name, help: this.help, type: this.type, values: this.promStringSnapshot(), aggregator: this.aggregator };
  }

  #withUtf8(snapshot: MetricSnapshot): MetricSnapshot {
    if (this.utf8 !== undefined) Object.defineProperty(snapshot, "utf8", { value: this.utf8, enumerable: false });
    return snapshot;
  }

  /**
   * Label names zipped with `values`, as prom-client's `labels` objects: numbers stay numbers, as the
   * worker gave them; anything else a ring may hold becomes its string form.
   */
  protected labelsOf(values: readonly unknown[]): SeriesLabels {
    const labels: SeriesLabels = {};
    this.labelNames.forEach((name, i) => {
      const value = values[i];
      labels[name] = typeof value === "number" && Number.isFinite(value) ? value : String(value);
    });
    return labels;
  }
}

/** The user's `aggregator` when given; otherwise the one that matches how worker threads combine. */
function aggregatorOf(declaration: MetricDeclaration): ClusterAggregator {
  if (declaration.aggregator !== undefined) return declaration.aggregator;
  if (declaration.type !== "gauge") return "sum";
  switch (declaration.aggregate) {
    case "max":
      return "max";
    case "min":
      return "min";
    case "last":
      return "first";
    default:
      return "sum";
  }
}
