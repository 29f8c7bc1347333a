/**
 * The main-thread side of worker summaries: a prom-client Summary fed with every worker's observations,
 * so quantiles are computed over all of them by prom-client itself.
 * @module
 */
import { Summary, type Registry } from "prom-client";
import type { MetricValue } from "prom-client";
import { seriesKey } from "../../shared/model/series-key.js";
import type { LabelValue, MetricDeclaration } from "../../shared/model/types.js";
import { Binding, KIND_SUMMARY } from "./binding.js";
import { BridgeMetric } from "./bridge-metric.js";

/**
 * A summary aggregated from worker threads. It registers a real prom-client Summary (whose `collect`
 * drains the hub) and feeds it one `observe()` per record: summaries cost what prom-client costs.
 */
export class BridgeSummary extends BridgeMetric {
  readonly #series = new Map<string, Binding>();
  readonly #summary: Summary<string>;

  /** Create the summary for `declaration`. */
  constructor(declaration: MetricDeclaration, beforeCollect: () => void) {
    super(declaration, beforeCollect);
    this.#summary = new Summary({
      name: declaration.name,
      help: declaration.help,
      labelNames: declaration.labelNames,
      percentiles: declaration.percentiles,
      ...(declaration.maxAgeSeconds !== undefined ? { maxAgeSeconds: declaration.maxAgeSeconds } : {}),
      ...(declaration.ageBuckets !== undefined ? { ageBuckets: declaration.ageBuckets } : {}),
      ...(declaration.compressCount !== undefined ? { compressCount: declaration.compressCount } : {}),
      ...(declaration.pruneAgedBuckets === true ? { pruneAgedBuckets: true } : {}),
      aggregator: this.aggregator,
      registers: [],
      collect: beforeCollect,
    });
  }

  /** Place the prom-client Summary in `registry`. */
  override register(registry: Registry): void {
    registry.registerMetric(this.#summary);
  }

  /** Return the binding of a label set: the prom-client child for those labels. */
  bind(values: readonly LabelValue[]): Binding {
    const key = seriesKey(values);
    let binding = this.#series.get(key);
    if (binding === undefined) {
      if (!this.admit(key)) return this.bind(this.overflowValues);
      binding = new Binding(KIND_SUMMARY, this.#summary.labels(this.labelsOf(values)));
      this.#series.set(key, binding);
    }
    return binding;
  }

  /** The prom-client Summary renders the series; this object lists none of its own. */
  protected seriesIterator(): Iterator<never> {
    return [][Symbol.iterator]();
  }

  protected snapshotOf(): MetricValue<string>[] {
    return [];
  }

  /** Reset the prom-client Summary. */
  reset(): void {
    this.#summary.reset();
  }
}
