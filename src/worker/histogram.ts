/**
 * Worker-side histogram.
 * @module
 */
import type { HistogramConfiguration, LabelValues } from "../shared/model/types.js";
import { throwInvalidValue } from "../shared/model/validation.js";
import { kOpObserve } from "../shared/transport/protocol.js";
import { BucketSearch } from "./bucket-index.js";
import { kDetach, removedWord0, startChildTimer, type SeriesRef } from "./metric.js";
import { ObservingMetric } from "./observing.js";
import { runtime } from "./runtime.js";
import type { SlotWriter } from "../shared/transport/slot-writer.js";
import { ExemplarCalls } from "./exemplars.js";
import { histogramAux, histogramAuxOf, nativeSettingsOf, type NativeSettings } from "./native-histogram.js";

/**
 * The exemplar call's observe on a child: records a value already checked finite and returns its classic
 * bucket. Set by {@link HistogramChild}'s static block, so it adds nothing to the child's public type.
 */
let observeChecked: (child: HistogramChild, value: number) => number;

/** A histogram bound to one label set. Keep it: `observe()` on it is a bucket search and a few stores. */
export class HistogramChild {
  #word0: number;
  readonly #relabel: (endLabels: object) => unknown;
  readonly #buckets: BucketSearch;
  readonly #metric: string;
  /** Native histogram settings, or `null` for a classic histogram: chosen by this field, so every child has one shape. */
  readonly #native: NativeSettings | null;
  /**
   * The thread's writer, one object for the thread's whole life: kept here, so a record loads a field
   * instead of the runtime's module binding (a hole check) and its writer.
   */
  readonly #writer: SlotWriter;

  /** @internal Created by {@link Histogram.labels}. */
  constructor(series: SeriesRef, buckets: BucketSearch, native: NativeSettings | null = null) {
    this.#writer = runtime.writer;
    this.#word0 = series.word0Observe;
    this.#buckets = buckets;
    this.#metric = series.metric;
    this.#relabel = series.relabel;
    this.#native = native;
  }

  /** @internal Point this child's records at the removed-series id (after `remove()`). */
  [kDetach](): void {
    this.#word0 = removedWord0(kOpObserve);
  }

  /** Observe `value`, a finite number. */
  observe(value: number): void {
    if (!Number.isFinite(value)) throwInvalidValue(this.#metric, "a histogram observes finite numbers", value);
    // The bucket is found here, in the worker, so the main thread only adds: bucket b holds bounds[b-1] < v <= bounds[b].
    // A native histogram's record carries both bucket indexes.
    const native = this.#native;
    this.#writer.record(this.#word0, native === null ? this.#buckets.index(value) : histogramAux(this.#buckets, native, value), value);
  }

  static {
    observeChecked = (child, value) => child.#observeChecked(value);
  }

  /**
   * Observe `value`, checked finite by the caller, and return its classic bucket (the exemplar's slot):
   * the bucket is searched once for the record and the exemplar.
   */
  #observeChecked(value: number): number {
    const bucket = this.#buckets.index(value);
    const native = this.#native;
    this.#writer.record(this.#word0, native === null ? bucket : histogramAuxOf(bucket, native, value), value);
    return bucket;
  }

  /**
   * Start a timer; the returned function observes the elapsed seconds and returns them. Labels given to
   * it are merged over this child's, as in prom-client.
   */
  startTimer(): (endLabels?: LabelValues) => number {
    return startChildTimer<HistogramChild>(this, this.#relabel, (child, seconds) => child.observe(seconds));
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
  /** The bucket search of every child: the bounds and their lookup table, made once. */
  readonly #buckets: BucketSearch;
  readonly #native: NativeSettings | null;

  /** Declare a histogram; validates the configuration at once. */
  constructor(config: HistogramConfiguration<T>) {
    super("histogram", config);
    this.buckets = this.declaration.buckets ?? [];
    this.#buckets = new BucketSearch(Float64Array.from(this.buckets));
    this.#native = nativeSettingsOf(this.declaration);
    // Chosen once, by a field (every histogram keeps one shape): with enableExemplars, observe() takes the exemplar call.
    if (this.declaration.enableExemplars === true) this.useExemplarCalls(new HistogramExemplars(this, this.#buckets, this.#native));
    this.declareAtConstruction();
  }

  /** Make the series of `labels` exist with empty buckets, so it is exported before its first observation. */
  zero(labels?: LabelValues<T>): void {
    this.zeroChild(this.childOfLabels(labels));
  }

  /** @internal */
  protected createChild(series: SeriesRef): HistogramChild {
    return new HistogramChild(series, this.#buckets, this.#native);
  }
}

/** A histogram's part of its exemplar calls: one exemplar slot per classic bucket and `+Inf`. */
class HistogramExemplars extends ExemplarCalls<HistogramChild> {
  readonly #buckets: BucketSearch;
  readonly #native: NativeSettings | null;

  constructor(metric: Histogram, buckets: BucketSearch, native: NativeSettings | null) {
    // For a native-only histogram, +Inf alone: one exemplar slot per series.
    super(metric, "observe", buckets.bounds.length + 1);
    this.#buckets = buckets;
    this.#native = native;
  }

  protected plain(child: HistogramChild, value: unknown): void {
    child.observe(value as number);
  }

  protected check(value: unknown): number {
    if (typeof value !== "number" || !Number.isFinite(value)) throwInvalidValue(this.name, "a histogram observes finite numbers", value);
    return value as number;
  }

  protected observe(child: HistogramChild, value: number): number {
    return observeChecked(child, value);
  }

  protected record(value: number): { op: number; aux: number } {
    return { op: kOpObserve, aux: histogramAux(this.#buckets, this.#native, value) };
  }
}
