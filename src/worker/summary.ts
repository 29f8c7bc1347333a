/**
 * Worker-side summary.
 * @module
 */
import type { LabelValues, SummaryConfiguration } from "../shared/model/types.js";
import { throwInvalidValue } from "../shared/model/validation.js";
import { kOpObserve } from "../shared/transport/protocol.js";
import { kDetach, removedWord0, startChildTimer, type SeriesRef } from "./metric.js";
import { ObservingMetric } from "./observing.js";
import { runtime } from "./runtime.js";

/** A summary bound to one label set. */
export class SummaryChild {
  #word0: number;
  readonly #relabel: (endLabels: object) => unknown;
  readonly #metric: string;

  /** @internal Created by {@link Summary.labels}. */
  constructor(series: SeriesRef) {
    this.#word0 = series.word0Observe;
    this.#metric = series.metric;
    this.#relabel = series.relabel;
  }

  /** @internal Point this child's records at the removed-series id (after `remove()`). */
  [kDetach](): void {
    this.#word0 = removedWord0(kOpObserve);
  }

  /** Observe `value`, a finite number. */
  observe(value: number): void {
    if (!Number.isFinite(value)) throwInvalidValue(this.#metric, "a summary observes finite numbers", value);
    runtime.writer.record(this.#word0, 0, value);
  }

  /**
   * Start a timer; the returned function observes the elapsed seconds and returns them. Labels given to
   * it are merged over this child's, as in prom-client.
   */
  startTimer(): (endLabels?: LabelValues) => number {
    return startChildTimer<SummaryChild>(this, this.#relabel, (child, seconds) => child.observe(seconds));
  }
}

/**
 * A summary recorded in worker threads. Observations from all workers feed one prom-client Summary per
 * label set in the main thread, so quantiles are over every worker's observations.
 *
 * @example
 * import { Summary } from "prom-threads/worker";
 * const size = new Summary({ name: "payload_bytes", help: "Payload size", percentiles: [0.5, 0.99] });
 * size.observe(512);
 */
export class Summary<T extends string = string> extends ObservingMetric<T, SummaryChild> {
  /** Declare a summary; validates the configuration at once. */
  constructor(config: SummaryConfiguration<T>) {
    super("summary", config);
    // Chosen once, by a field (every summary keeps one shape): the exemplar call shape only with enableExemplars.
    if (config.enableExemplars === true) this.useExemplarCalls({ run: (arg) => this.observeExemplarShape(arg) });
    this.declareAtConstruction();
  }

  /** @internal */
  protected createChild(series: SeriesRef): SummaryChild {
    return new SummaryChild(series);
  }
}
