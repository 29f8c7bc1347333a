/**
 * The hub's catalogue of worker metrics: one prom-client metric per name, made from the first declaration
 * of that name, with the hub's limits (maxMetrics, maxSeries) and the conflicts between declarations.
 * @module
 */
import type { Registry } from "prom-client";
import type { MetricDeclaration } from "../../shared/model/types.js";
import { kOverflowLabelValue } from "../../shared/model/limits.js";
import { declarationDifference, normalizeDeclaration } from "../../shared/model/validation.js";
import type { HistogramArena } from "../bridge/binding.js";
import type { BridgeMetric } from "../bridge/bridge-metric.js";
import { BridgeCounter } from "../bridge/counter.js";
import { BridgeGauge } from "../bridge/gauge.js";
import { BridgeHistogram } from "../bridge/histogram.js";
import { BridgeSummary } from "../bridge/summary.js";
import type { HubReports } from "./reports.js";

/** Distinct metric names `prom_threads_declaration_conflicts_total` labels; more count as `__overflow__`. */
const kConflictMetricLabels = 100;

interface Entry {
  declaration: MetricDeclaration;
  metric: BridgeMetric | null;
}

/** What the catalogue needs besides the registry. */
export interface CatalogueOptions {
  /** Most worker metrics the hub takes. */
  maxMetrics: number;
  /** Most label sets per metric before they fold into its overflow series. */
  maxSeries: number;
  /** The drain a metric's `get()` asks for. */
  drain: () => void;
  /** Where the classic histograms' series keep their counts (see {@link HistogramArena}). */
  histograms: HistogramArena;
}

/**
 * Resolve workers' declarations to the hub's metrics.
 *
 * @example
 * const catalogue = new MetricCatalogue(registry, { maxMetrics: 1000, maxSeries: 1000, drain }, reports);
 * const metric = catalogue.resolve({ type: "counter", name: "jobs_total", help: "Jobs." });
 */
export class MetricCatalogue {
  /** Declaration conflicts so far, by metric name. */
  readonly conflicts = new Map<string, number>();
  /** Label sets folded into each metric's overflow series, by metric name. */
  readonly seriesOverflow = new Map<string, number>();
  readonly #metrics = new Map<string, Entry>();
  /** Entries of {@link #metrics} with a metric: the declarations the hub accepted. */
  #accepted = 0;
  readonly #registry: Registry;
  readonly #options: CatalogueOptions;
  readonly #reports: HubReports;

  /** Register the metrics in `registry`; report problems through `reports`. */
  constructor(registry: Registry, options: CatalogueOptions, reports: HubReports) {
    this.#registry = registry;
    this.#options = options;
    this.#reports = reports;
  }

  /** The metrics workers declared that the hub accepted, in declaration order. */
  accepted(): BridgeMetric[] {
    const metrics: BridgeMetric[] = [];
    for (const entry of this.#metrics.values()) if (entry.metric !== null) metrics.push(entry.metric);
    return metrics;
  }

  /** Metrics declared by workers that the hub accepted (the names `maxMetrics` bounds). */
  get size(): number {
    return this.#accepted;
  }

  /** Return the hub's metric for a worker's declaration, or `null` when it is refused (reported). Never throws. */
  resolve(raw: unknown): BridgeMetric | null {
    let declaration: MetricDeclaration;
    try {
      const type = (raw as { type?: unknown } | null)?.type;
      if (type !== "counter" && type !== "gauge" && type !== "histogram" && type !== "summary") throw new Error(`unknown type ${String(type)}`);
      declaration = normalizeDeclaration(type, raw);
    } catch (error) {
      this.#reports.malformed(`an invalid metric declaration (${(error as Error).message})`, 1);
      return null;
    }
    const entry = this.#metrics.get(declaration.name);
    if (entry !== undefined) {
      const difference = declarationDifference(entry.declaration, declaration);
      if (difference === undefined) return entry.metric;
      this.#conflict(declaration.name, `a worker declared metric "${declaration.name}" again with ${difference}; the first declaration wins and the records of the other are dropped`);
      return null;
    }
    // Only accepted names take a place: a name refused because other code registered it holds none.
    if (this.#accepted >= this.#options.maxMetrics) {
      this.#reports.metricLimit(this.#options.maxMetrics, declaration.name);
      return null;
    }
    let metric: BridgeMetric;
    try {
      // prom-client may refuse a configuration the declaration's checks let through; that is this
      // declaration's failure, never the drain's.
      metric = createBridge(declaration, this.#options);
    } catch (error) {
      this.#reports.malformed(`a metric declaration prom-client refused (${(error as Error).message})`, 1);
      return null;
    }
    metric.limitSeries(this.#options.maxSeries, (folded, count) => this.#seriesOverflowed(folded, count));
    try {
      metric.register(this.#registry);
    } catch (error) {
      this.#metrics.set(declaration.name, { declaration, metric: null });
      this.#conflict(declaration.name, `metric "${declaration.name}" declared by a worker is already registered in the hub's registry by other code (${(error as Error).message}); its records are dropped`);
      return null;
    }
    this.#metrics.set(declaration.name, { declaration, metric });
    this.#accepted++;
    return metric;
  }

  /** Remove every worker metric from the registry. */
  unregisterAll(): void {
    for (const [name, entry] of this.#metrics) {
      if (entry.metric !== null) this.#registry.removeSingleMetric(name);
    }
  }

  #seriesOverflowed(metric: BridgeMetric, count: number): void {
    const previous = this.seriesOverflow.get(metric.name);
    this.seriesOverflow.set(metric.name, (previous ?? 0) + count);
    if (previous !== undefined) return;
    // Once per metric, listeners or not: a cardinality explosion must not flood the error event.
    this.#reports.seriesLimit(metric.name, metric.labelNames.map((name) => `${name}="${kOverflowLabelValue}"`).join(","));
  }

  #conflict(metric: string, message: string): void {
    // A bounded label set: past kConflictMetricLabels names, conflicts count under one overflow name.
    const label = this.conflicts.has(metric) || this.conflicts.size < kConflictMetricLabels ? metric : kOverflowLabelValue;
    this.conflicts.set(label, (this.conflicts.get(label) ?? 0) + 1);
    this.#reports.conflict(message);
  }
}

function createBridge(declaration: MetricDeclaration, { drain, histograms }: CatalogueOptions): BridgeMetric {
  switch (declaration.type) {
    case "counter":
      return new BridgeCounter(declaration, drain);
    case "gauge":
      return new BridgeGauge(declaration, drain);
    case "histogram":
      return new BridgeHistogram(declaration, drain, histograms);
    case "summary":
      return new BridgeSummary(declaration, drain);
  }
}
