/**
 * The main-thread side of worker gauges: each live worker contributes a value per label set, combined by
 * the gauge's `aggregate`. A worker's contribution leaves with the worker.
 * @module
 */
import type { MetricValue } from "prom-client";
import { seriesKey } from "../../shared/model/series-key.js";
import type { GaugeAggregate, LabelValue, MetricDeclaration } from "../../shared/model/types.js";
import { Binding, GaugeContribution, GaugeSeries, kKindGauge } from "./binding.js";
import { BridgeMetric } from "./bridge-metric.js";

/** A gauge aggregated across live worker threads. */
export class BridgeGauge extends BridgeMetric {
  readonly #series = new Map<string, GaugeSeries>();
  readonly #aggregate: GaugeAggregate;

  /** Create the gauge for `declaration`. */
  constructor(declaration: MetricDeclaration, beforeCollect: () => void) {
    super(declaration, beforeCollect);
    this.#aggregate = declaration.aggregate ?? "sum";
  }

  /** Return a new contribution of one worker to a label set. */
  bind(values: readonly LabelValue[]): Binding {
    const key = seriesKey(values);
    let series = this.#series.get(key);
    if (series === undefined) {
      if (!this.admit(key)) return this.bind(this.overflowValues);
      const created: GaugeSeries = new GaugeSeries(this.labelsOf(values), () => {
        // Without live contributions the label set is not exported; forget it, so churned label values
        // neither grow this map nor keep taking room under maxSeries.
        if (this.#series.get(key) !== created) return;
        this.#series.delete(key);
        this.released(key);
      });
      series = created;
      this.#series.set(key, series);
    }
    const contribution = new GaugeContribution(series);
    series.contributions.add(contribution);
    return new Binding(kKindGauge, contribution);
  }

  protected seriesIterator(): Iterator<GaugeSeries> {
    return this.#series.values();
  }

  protected snapshotOf(all: Iterable<GaugeSeries>): MetricValue<string>[] {
    const values: MetricValue<string>[] = [];
    const unlabelled = this.unlabelled;
    for (const series of all) {
      if (series.contributions.size === 0) continue;
      const value = combine(this.#aggregate, series.contributions);
      // A labelled series no live worker has set (since its declaration or a reset) is not exported.
      if (value !== undefined || unlabelled) values.push({ labels: series.labels, value: value ?? 0 });
    }
    return values;
  }

  /**
   * As prom-client: the unlabelled series goes back to 0, labelled ones are not exported until a worker
   * sets them again. Every live contribution is 0 and unset.
   */
  reset(): void {
    for (const series of this.#series.values()) {
      for (const c of series.contributions) {
        c.value = 0;
        c.seq = 0;
      }
    }
  }
}

/** Detach a worker's contribution: the gauge no longer counts it. */
export function detachContribution(contribution: GaugeContribution): void {
  const { series } = contribution;
  series.contributions.delete(contribution);
  if (series.contributions.size === 0) series.release();
}

/** Combine the contributions that were set (`seq > 0`); `undefined` when none was. */
function combine(aggregate: GaugeAggregate, contributions: Iterable<GaugeContribution>): number | undefined {
  let result = aggregate === "min" ? Infinity : aggregate === "max" ? -Infinity : 0;
  let latest = -1;
  let any = false;
  for (const c of contributions) {
    if (c.seq === 0) continue;
    any = true;
    switch (aggregate) {
      case "sum":
        result += c.value;
        break;
      case "max":
        if (c.value > result) result = c.value;
        break;
      case "min":
        if (c.value < result) result = c.value;
        break;
      case "last":
        if (c.seq > latest) {
          latest = c.seq;
          result = c.value;
        }
        break;
    }
  }
  return any ? result : undefined;
}
