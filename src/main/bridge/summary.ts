/**
 * The main-thread side of worker summaries: a prom-client Summary fed with every worker's observations,
 * so quantiles are computed over all of them by prom-client itself.
 * @module
 */
import type { Registry, Summary } from "prom-client";
import { client } from "../client.js";
import type { MetricValue } from "prom-client";
import { seriesKey } from "../../shared/model/series-key.js";
import type { LabelValue, MetricDeclaration } from "../../shared/model/types.js";
import { Binding, kKindSummary, createdNow } from "./binding.js";
import { BridgeMetric, withCreated } from "./bridge-metric.js";

/**
 * A summary aggregated from worker threads. It registers a real prom-client Summary (whose `collect`
 * drains the hub) and feeds it one `observe()` per record: summaries cost what prom-client costs.
 */
export class BridgeSummary extends BridgeMetric {
  readonly #series = new Map<string, Binding>();
  readonly #summary: Summary<string>;
  /** When the hub first saw each label set (by series key), or the last reset: seconds since the epoch. */
  readonly #created = new Map<string, number>();

  /** Create the summary for `declaration`. */
  constructor(declaration: MetricDeclaration, beforeCollect: () => void) {
    super(declaration, beforeCollect);
    this.#summary = new client.Summary({
      name: this.name,
      help: declaration.help,
      labelNames: this.labelNames,
      percentiles: declaration.percentiles,
      ...(declaration.maxAgeSeconds !== undefined ? { maxAgeSeconds: declaration.maxAgeSeconds } : {}),
      ...(declaration.ageBuckets !== undefined ? { ageBuckets: declaration.ageBuckets } : {}),
      ...(declaration.compressCount !== undefined ? { compressCount: declaration.compressCount } : {}),
      ...(declaration.pruneAgedBuckets === true ? { pruneAgedBuckets: true } : {}),
      aggregator: this.aggregator,
      registers: [],
      collect: beforeCollect,
    });
    // The registry reads the prom-client Summary itself: its answers gain the created times and, for
    // UTF-8 names, the declared names (neither enumerable, so prom-client's shape is unchanged).
    const get = this.#summary.get.bind(this.#summary);
    this.#summary.get = async () => {
      const snapshot = await get();
      const countName = `${this.name}_count`;
      for (const value of snapshot.values) {
        if (value.metricName !== countName) continue;
        const created = this.#created.get(seriesKey(this.labelNames.map((label) => (value.labels as Record<string, string | number>)[label] as LabelValue)));
        if (created !== undefined) withCreated(value, created);
      }
      if (this.utf8 !== undefined) Object.defineProperty(snapshot, "utf8", { value: this.utf8, enumerable: false });
      return snapshot;
    };
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
      binding = new Binding(kKindSummary, this.#summary.labels(this.labelsOf(values)));
      this.#series.set(key, binding);
      this.#created.set(key, createdNow());
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
    const created = createdNow();
    for (const key of this.#created.keys()) this.#created.set(key, created);
  }
}
