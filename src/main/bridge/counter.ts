/**
 * The main-thread side of worker counters: one accumulated value per label set, summed over all workers.
 * @module
 */
import type { MetricValue } from "prom-client";
import { seriesKey } from "../../shared/model/series-key.js";
import type { LabelValue, MetricDeclaration } from "../../shared/model/types.js";
import { Binding, CounterSeries, kKindCounter, createdNow, isRecorded } from "./binding.js";
import { BridgeMetric, CreatedSample } from "./bridge-metric.js";

/** A counter aggregated from worker threads. Values live here, so they survive any worker's exit. */
export class BridgeCounter extends BridgeMetric {
  readonly #series = new Map<string, Binding>();

  /** Create the counter for `declaration`. */
  constructor(declaration: MetricDeclaration, beforeCollect: () => void) {
    super(declaration, beforeCollect);
  }

  /** Return the binding of a label set; every worker's series with these values shares it. */
  bind(values: readonly LabelValue[]): Binding {
    const key = seriesKey(values);
    let binding = this.#series.get(key);
    if (binding === undefined) {
      if (!this.admit(key)) return this.bind(this.overflowValues);
      binding = new Binding(kKindCounter, new CounterSeries(this.labelsOf(values), this.unlabelled));
      this.#series.set(key, binding);
    }
    return binding;
  }

  protected seriesIterator(): Iterator<Binding> {
    return this.#series.values();
  }

  protected snapshotOf(bindings: Iterable<Binding>): MetricValue<string>[] {
    const values: MetricValue<string>[] = [];
    for (const { target } of bindings) {
      const series = target as CounterSeries;
      if (!isRecorded(series.value)) continue;
      // The exemplar field only when one was recorded, so output without exemplars stays as it was.
      const sample = new CreatedSample(series.labels, series.value, series.created) as CreatedSample & { exemplar?: unknown };
      if (series.exemplar !== undefined) sample.exemplar = series.exemplar;
      values.push(sample as unknown as MetricValue<string>);
    }
    return values;
  }

  /** As prom-client: the unlabelled series goes back to 0, labelled ones are not exported until their next record. */
  reset(): void {
    const value = this.unlabelled ? 0 : -0;
    const created = createdNow();
    for (const { target } of this.#series.values()) {
      const series = target as CounterSeries;
      series.value = value;
      series.exemplar = undefined;
      series.created = created;
    }
  }
}
