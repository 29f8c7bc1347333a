/**
 * What histograms and summaries share: `observe()` with or without labels, exemplar call shapes, and
 * `startTimer()`.
 * @module
 */
import type { LabelValues, MetricType } from "../shared/model/types.js";
import { throwInvalidValue } from "../shared/model/validation.js";
import { parseExemplarCall } from "./exemplars.js";
import { WorkerMetric, isLabels, startLabeledTimer } from "./metric.js";

/** A child that observes numbers. */
export interface ObservingChild {
  observe(value: number): void;
}

/** What `observe()` calls with `enableExemplars`: a histogram's `ExemplarCalls` (exemplars.ts), or a summary's shape check. */
interface ExemplarObserve {
  run(arg: unknown): void;
}

/** Base class of {@link Histogram} and {@link Summary}. */
export abstract class ObservingMetric<T extends string, Child extends ObservingChild> extends WorkerMetric<T, Child> {
  /** `observe()` of a metric with `enableExemplars`, or `null`: a field, so every metric of a kind has one shape. */
  #exemplars: ExemplarObserve | null = null;

  /** Validate `config`. */
  protected constructor(type: MetricType, config: object) {
    super(type, config);
  }

  /**
   * Observe `value` in the series of `labels` (or the unlabelled series). With `enableExemplars`, also
   * `observe({ value, labels, exemplarLabels })`.
   */
  observe(value: number): void;
  observe(labels: LabelValues<T>, value: number): void;
  /** With `enableExemplars: true`: observe `value` in the series of `labels`, with an exemplar (histograms export it). */
  observe(call: { value: number; labels?: LabelValues<T>; exemplarLabels?: Record<string, string | number> }): void;
  observe(labelsOrValue: object | number, value?: number): void {
    // With enableExemplars the call takes one argument, prom-client's exemplar shape or a number.
    if (this.#exemplars !== null) this.#exemplars.run(labelsOrValue);
    else if (isLabels(labelsOrValue)) this.#observe(labelsOrValue, value);
    else this.childOfLabels(undefined).observe(labelsOrValue);
  }

  /** Make `observe()` take the exemplar call shape with `calls`; called once, in the constructor. */
  protected useExemplarCalls(calls: ExemplarObserve): void {
    this.#exemplars = calls;
  }

  /**
   * `observe()` in prom-client's exemplar shape, recording the value only: for metrics that accept the
   * shape but export no exemplar (summaries with `enableExemplars`). Histograms give their own.
   */
  protected observeExemplarShape(arg: unknown): void {
    if (arg === undefined || arg === null || typeof arg === "number") {
      this.childOfLabels(undefined).observe(arg as number);
      return;
    }
    // Anything else but the exemplar shape throws as a histogram's call does (ERR_PROM_THREADS_INVALID_LABELS),
    // and its parts are checked in the same order: keys, shapes, value, the exemplar's labels.
    const call = parseExemplarCall(this.name, "observe", arg, (value) => this.#checkValue(value));
    this.childOfLabels(call.labels).observe(call.value as number);
  }

  #checkValue(value: unknown): void {
    if (!Number.isFinite(value)) throwInvalidValue(this.name, `a ${this.declaration.type} observes finite numbers`, value);
  }

  /** Check the value before resolving the label set: a call that throws creates no series. */
  #observe(labels: object | undefined, value: unknown): void {
    this.#checkValue(value);
    this.childOfLabels(labels).observe(value as number);
  }

  /** Start a timer; the returned function observes the elapsed seconds, with labels from both calls. */
  startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number {
    return startLabeledTimer(labels, (all, seconds) => this.childOfLabels(all).observe(seconds));
  }
}
