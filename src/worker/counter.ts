/**
 * Worker-side counter.
 * @module
 */
import type { CounterConfiguration, LabelValues } from "../shared/types.js";
import { throwInvalidValue } from "../shared/validation.js";
import { WorkerMetric, type SeriesRef } from "./metric.js";
import { runtime } from "./runtime.js";
import { exemplarCall, type ExemplarCall } from "./exemplars.js";
import { OP_ADD } from "../shared/protocol.js";

/** A counter bound to one label set. Keep it: `inc()` on it is a few typed-array stores. */
export class CounterChild {
  readonly #word0: number;
  readonly #metric: string;

  /** @internal Created by {@link Counter.labels}. */
  constructor(series: SeriesRef) {
    this.#word0 = series.word0Add;
    this.#metric = series.metric;
  }

  /**
   * Increment by `value`, a finite number of at least 0.
   * @default value 1
   */
  inc(value = 1): void {
    if (typeof value !== "number" || !(value >= 0 && value < Infinity)) {
      throwInvalidValue(this.#metric, "a counter increases by a finite number of at least 0", value);
    }
    runtime.writer.record(this.#word0, 0, value);
  }
}

/**
 * A counter recorded in a worker thread and summed across all workers in the main thread's registry.
 * Its total never goes down, even when workers exit.
 *
 * @example
 * import { Counter } from "prom-threads/worker";
 * const jobs = new Counter({ name: "jobs_total", help: "Jobs done", labelNames: ["kind"] });
 * const hashing = jobs.labels("hash");
 * hashing.inc();
 */
export class Counter<T extends string = string> extends WorkerMetric<T, CounterChild> {
  /** Declare a counter; validates the configuration at once. */
  constructor(config: CounterConfiguration<T>) {
    super("counter", config);
    // Chosen once, as prom-client does: without enableExemplars, inc() stays the plain call.
    if (this.declaration.enableExemplars === true) this.inc = this.#exemplarInc() as never;
  }

  #exemplarInc(): (call?: ExemplarCall<T> | number) => void {
    const name = this.name;
    return exemplarCall<CounterChild>({
      name,
      child: (labels) => this.childOfLabels(labels),
      plain: (child, value) => child.inc(value),
      record: (value = 1) => {
        if (typeof value !== "number" || !(value >= 0 && value < Infinity)) {
          throwInvalidValue(name, "a counter increases by a finite number of at least 0", value);
        }
        return { op: OP_ADD, aux: 0, value };
      },
    });
  }

  /** Increment the series of `labels` (or the unlabelled series) by `value` (default 1). */
  inc(value?: number): void;
  inc(labels: LabelValues<T>, value?: number): void;
  /** With `enableExemplars: true`: increment the series of `labels` by `value` with an exemplar (prom-client's shape). */
  inc(call: ExemplarCall<T>): void;
  inc(labelsOrValue?: LabelValues<T> | ExemplarCall<T> | number, value?: number): void {
    if (typeof labelsOrValue === "object") this.childOfLabels(labelsOrValue).inc(value);
    else this.childOfLabels(undefined).inc(labelsOrValue);
  }

  /** Make the series of `labels` exist at 0, so it is exported before its first increment. */
  zero(labels?: LabelValues<T>): void {
    this.childOfLabels(labels);
  }

  /** @internal */
  protected createChild(series: SeriesRef): CounterChild {
    return new CounterChild(series);
  }
}
