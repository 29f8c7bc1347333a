/**
 * Worker-side counter.
 * @module
 */
import { kOpAdd } from "../shared/transport/protocol.js";
import type { CounterConfiguration, LabelValues } from "../shared/model/types.js";
import { throwInvalidValue } from "../shared/model/validation.js";
import { WorkerMetric, isLabels, kDetach, removedWord0, type SeriesRef } from "./metric.js";
import { runtime } from "./runtime.js";
import type { SlotWriter } from "../shared/transport/slot-writer.js";
import { ExemplarCalls, type ExemplarCall } from "./exemplars.js";

const kCounterValue = "a counter increases by a finite number of at least 0";

/** The value of a counter call that failed the fast check: `null` adds 1 (as in prom-client); anything else throws. */
function slowCounterValue(metric: string, value: unknown): number {
  if (value === null) return 1;
  return throwInvalidValue(metric, kCounterValue, value);
}

/** Throw unless `value` is a counter increment or absent; checked before a label set is resolved. */
function checkCounterValue(metric: string, value: unknown): void {
  if (value === undefined || value === null || (typeof value === "number" && value >= 0 && value < Infinity)) return;
  throwInvalidValue(metric, kCounterValue, value);
}

/** A counter bound to one label set. Keep it: `inc()` on it is a few typed-array stores. */
export class CounterChild {
  #word0: number;
  readonly #metric: string;
  /**
   * The thread's writer, one object for the thread's whole life: kept here, so a record loads a field
   * instead of the runtime's module binding (a hole check) and its writer.
   */
  readonly #writer: SlotWriter;

  /** @internal Created by {@link Counter.labels}. */
  constructor(series: SeriesRef) {
    this.#writer = runtime.writer;
    this.#word0 = series.word0Add;
    this.#metric = series.metric;
  }

  /**
   * Increment by `value`, a finite number of at least 0 (`null` adds 1, as in prom-client).
   * @default value 1
   */
  inc(value = 1): void {
    // The only check on the fast path; `null` and errors are handled out of line.
    if (typeof value !== "number" || !(value >= 0 && value < Infinity)) value = slowCounterValue(this.#metric, value);
    this.#writer.record(this.#word0, 0, value);
  }

  /** @internal Point this child's records at the removed-series id (after `remove()`). */
  [kDetach](): void {
    this.#word0 = removedWord0(kOpAdd);
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
  /** `inc()` of a counter with `enableExemplars`, or `null`: a field, so every counter has one shape. */
  readonly #exemplars: CounterExemplars | null;

  /** Declare a counter; validates the configuration at once. */
  constructor(config: CounterConfiguration<T>) {
    super("counter", config);
    // Chosen once, as prom-client does: without enableExemplars, inc() stays the plain call.
    this.#exemplars = this.declaration.enableExemplars === true ? new CounterExemplars(this) : null;
    this.declareAtConstruction();
  }

  /**
   * Increment the series of `labels` (or the unlabelled series) by `value` (default 1; `null` adds 1).
   * With `enableExemplars`, also `inc({ value, labels, exemplarLabels })`.
   */
  inc(value?: number | null): void;
  inc(labels: LabelValues<T>, value?: number | null): void;
  /** With `enableExemplars: true`: increment the series of `labels` by `value` with an exemplar (prom-client's shape). */
  inc(call: ExemplarCall<T>): void;
  inc(labelsOrValue?: object | number | null, value?: number | null): void {
    // With enableExemplars the call takes one argument, prom-client's exemplar shape or a number.
    if (this.#exemplars !== null) this.#exemplars.run(labelsOrValue as ExemplarCall<T> | number);
    else if (isLabels(labelsOrValue)) {
      checkCounterValue(this.name, value);
      this.childOfLabels(labelsOrValue).inc(value as number);
    } else {
      this.childOfLabels(undefined).inc(labelsOrValue as number);
    }
  }

  /** Make the series of `labels` exist at 0, so it is exported before its first increment. */
  zero(labels?: LabelValues<T>): void {
    this.zeroChild(this.childOfLabels(labels));
  }

  /** @internal */
  protected createChild(series: SeriesRef): CounterChild {
    return new CounterChild(series);
  }
}

/** A counter's part of its exemplar calls: one exemplar slot per series, the value an increment. */
class CounterExemplars extends ExemplarCalls<CounterChild> {
  constructor(metric: Counter) {
    super(metric, "inc", 1);
  }

  protected plain(child: CounterChild, value: unknown): void {
    child.inc(value as number);
  }

  protected check(value: unknown): number {
    checkCounterValue(this.name, value);
    // Absent or null adds 1, as in prom-client.
    return (value as number | null | undefined) ?? 1;
  }

  protected observe(child: CounterChild, value: number): number {
    child.inc(value);
    return 0;
  }

  protected record(): { op: number; aux: number } {
    return { op: kOpAdd, aux: 0 };
  }
}
