/**
 * Worker-side histogram.
 * @module
 */
import type { HistogramConfiguration, LabelValues } from "../shared/types.js";
import { throwInvalidValue } from "../shared/validation.js";
import { bucketIndex } from "./bucket-index.js";
import { startTimer, type SeriesRef } from "./metric.js";
import { ObservingMetric } from "./observing.js";
import { runtime } from "./runtime.js";

/** A histogram bound to one label set. Keep it: `observe()` on it is a bucket search and a few stores. */
export class HistogramChild {
  readonly #word0: number;
  readonly #bounds: Float64Array;
  readonly #metric: string;

  /** @internal Created by {@link Histogram.labels}. */
  constructor(series: SeriesRef, bounds: Float64Array) {
    this.#word0 = series.word0Observe;
    this.#bounds = bounds;
    this.#metric = series.metric;
  }

  /** Observe `value`, a finite number. */
  observe(value: number): void {
    if (!Number.isFinite(value)) throwInvalidValue(this.#metric, "a histogram observes finite numbers", value);
    // The bucket is found here, in the worker, so the main thread only adds: bucket b holds bounds[b-1] < v <= bounds[b].
    runtime.writer.record(this.#word0, bucketIndex(this.#bounds, value), value);
  }

  /** Start a timer; the returned function observes the elapsed seconds and returns them. */
  startTimer(): () => number {
    return startTimer((seconds) => this.observe(seconds));
  }
}

/**
 * A histogram recorded in worker threads and merged bucket by bucket in the main thread's registry.
 *
 * @example
 * import { Histogram } from "prom-threads/worker";
 * const seconds = new Histogram({ name: "job_seconds", help: "Job time", labelNames: ["kind"] });
 * const end = seconds.startTimer({ kind: "hash" });
 * end();
 */
export class Histogram<T extends string = string> extends ObservingMetric<T, HistogramChild> {
  /** Upper bounds of the buckets, without `+Inf`. */
  readonly buckets: readonly number[];
  readonly #bounds: Float64Array;

  /** Declare a histogram; validates the configuration at once. */
  constructor(config: HistogramConfiguration<T>) {
    super("histogram", config);
    this.buckets = this.declaration.buckets ?? [];
    this.#bounds = Float64Array.from(this.buckets);
  }


  /** Make the series of `labels` exist with empty buckets. */
  zero(labels?: LabelValues<T>): void {
    this.childOfLabels(labels);
  }

  /** @internal */
  protected createChild(series: SeriesRef): HistogramChild {
    return new HistogramChild(series, this.#bounds);
  }
}
