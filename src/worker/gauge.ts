/**
 * Worker-side gauge.
 * @module
 */
import { kOpAdd, kOpSet } from "../shared/transport/protocol.js";
import type { ClusterAggregator, GaugeAggregate, GaugeConfiguration, LabelValues } from "../shared/model/types.js";
import { throwInvalidValue } from "../shared/model/validation.js";
import { WorkerMetric, isLabels, kDetach, removedWord0, startChildTimer, startLabeledTimer, type SeriesRef } from "./metric.js";
import { runtime } from "./runtime.js";

const kGaugeValue = "a gauge takes a number, not NaN";

/** Throw unless `value` is a gauge value (or absent, where the call defaults it); checked before a label set is resolved. */
function checkGaugeValue(metric: string, value: unknown, optional: boolean): void {
  if ((typeof value === "number" && !Number.isNaN(value)) || (optional && value === undefined)) return;
  throwInvalidValue(metric, kGaugeValue, value);
}

/** A gauge bound to one label set: this thread's contribution to it. */
export class GaugeChild {
  #add: number;
  #set: number;
  readonly #metric: string;
  readonly #relabel: (endLabels: object) => unknown;

  /** @internal Created by {@link Gauge.labels}. */
  constructor(series: SeriesRef) {
    this.#add = series.word0Add;
    this.#set = series.word0Set;
    this.#metric = series.metric;
    this.#relabel = series.relabel;
  }

  /** @internal Point this child's records at the removed-series id (after `remove()`). */
  [kDetach](): void {
    this.#add = removedWord0(kOpAdd);
    this.#set = removedWord0(kOpSet);
  }

  /** Set this thread's value. */
  set(value: number): void {
    if (typeof value !== "number" || Number.isNaN(value)) throwInvalidValue(this.#metric, "a gauge is set to a number, not NaN", value);
    runtime.writer.record(this.#set, 0, value);
  }

  /**
   * Add `value` to this thread's value.
   * @default value 1
   */
  inc(value = 1): void {
    if (typeof value !== "number" || Number.isNaN(value)) throwInvalidValue(this.#metric, "a gauge changes by a number, not NaN", value);
    runtime.writer.record(this.#add, 0, value);
  }

  /**
   * Subtract `value` from this thread's value.
   * @default value 1
   */
  dec(value = 1): void {
    if (typeof value !== "number" || Number.isNaN(value)) throwInvalidValue(this.#metric, "a gauge changes by a number, not NaN", value);
    runtime.writer.record(this.#add, 0, -value);
  }

  /** Set this thread's value to the current Unix time in seconds. */
  setToCurrentTime(): void {
    runtime.writer.record(this.#set, 0, Date.now() / 1000);
  }

  /**
   * Start a timer; the returned function sets the gauge to the elapsed seconds and returns them. Labels
   * given to it are merged over this child's, as in prom-client.
   */
  startTimer(): (endLabels?: LabelValues) => number {
    return startChildTimer<GaugeChild>(this, this.#relabel, (child, seconds) => child.set(seconds));
  }
}

/**
 * A gauge recorded in worker threads. The main thread combines the values of live workers with
 * `aggregate` (default `"sum"`); a worker's value disappears when the worker exits.
 *
 * @example
 * import { Gauge } from "prom-threads/worker";
 * const queued = new Gauge({ name: "queue_depth", help: "Items queued", aggregate: "sum" });
 * queued.inc();
 */
export class Gauge<T extends string = string> extends WorkerMetric<T, GaugeChild> {
  /** How live workers' values combine. */
  readonly aggregate: GaugeAggregate;
  /** prom-client's `aggregator` (for its AggregatorRegistry), as `getMetricsAsJSON()` shows it. */
  readonly aggregator: ClusterAggregator;

  /** Declare a gauge; validates the configuration at once. */
  constructor(config: GaugeConfiguration<T>) {
    super("gauge", config);
    this.aggregate = this.declaration.aggregate ?? "sum";
    this.aggregator = this.declaration.aggregator ?? "sum";
    this.declareAtConstruction();
  }

  /** Set this thread's value for `labels` (or the unlabelled series). */
  set(value: number): void;
  set(labels: LabelValues<T>, value: number): void;
  set(labelsOrValue: LabelValues<T> | number, value?: number): void {
    if (isLabels(labelsOrValue)) {
      checkGaugeValue(this.name, value, false);
      this.childOfLabels(labelsOrValue).set(value as number);
    } else {
      this.childOfLabels(undefined).set(labelsOrValue);
    }
  }

  /** Add to this thread's value (default 1). */
  inc(value?: number): void;
  inc(labels: LabelValues<T>, value?: number): void;
  inc(labelsOrValue?: LabelValues<T> | number, value?: number): void {
    if (isLabels(labelsOrValue)) {
      checkGaugeValue(this.name, value, true);
      this.childOfLabels(labelsOrValue).inc(value);
    } else {
      this.childOfLabels(undefined).inc(labelsOrValue);
    }
  }

  /** Subtract from this thread's value (default 1). */
  dec(value?: number): void;
  dec(labels: LabelValues<T>, value?: number): void;
  dec(labelsOrValue?: LabelValues<T> | number, value?: number): void {
    if (isLabels(labelsOrValue)) {
      checkGaugeValue(this.name, value, true);
      this.childOfLabels(labelsOrValue).dec(value);
    } else {
      this.childOfLabels(undefined).dec(labelsOrValue);
    }
  }

  /** Set this thread's value to the current Unix time in seconds. */
  setToCurrentTime(labels?: LabelValues<T>): void {
    this.childOfLabels(labels).setToCurrentTime();
  }

  /** Start a timer; the returned function sets the gauge to the elapsed seconds and returns them. */
  startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number {
    return startLabeledTimer(labels, (all, seconds) => this.childOfLabels(all).set(seconds));
  }

  /** Set this thread's value for `labels` to 0. */
  zero(labels?: LabelValues<T>): void {
    this.childOfLabels(labels).set(0);
  }

  /** @internal */
  protected createChild(series: SeriesRef): GaugeChild {
    return new GaugeChild(series);
  }
}
