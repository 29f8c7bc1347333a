/**
 * What histograms and summaries share: `observe()` with or without labels, and `startTimer()`.
 * @module
 */
import type { LabelValues } from "../shared/types.js";
import { WorkerMetric, startLabeledTimer } from "./metric.js";

/** A child that observes numbers. */
export interface ObservingChild {
  observe(value: number): void;
}

/** Base class of {@link Histogram} and {@link Summary}. */
export abstract class ObservingMetric<T extends string, Child extends ObservingChild> extends WorkerMetric<T, Child> {
  /** Observe `value` in the series of `labels` (or the unlabelled series). */
  observe(value: number): void;
  observe(labels: LabelValues<T>, value: number): void;
  /** Histograms with `enableExemplars: true`: observe `value` in the series of `labels`, with an exemplar. */
  observe(call: { value: number; labels?: LabelValues<T>; exemplarLabels?: Record<string, string | number> }): void;
  observe(labelsOrValue: LabelValues<T> | number | object, value?: number): void {
    if (typeof labelsOrValue === "object") this.childOfLabels(labelsOrValue).observe(value as number);
    else this.childOfLabels(undefined).observe(labelsOrValue);
  }

  /** Start a timer; the returned function observes the elapsed seconds, with labels from both calls. */
  startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number {
    return startLabeledTimer(labels, (all, seconds) => this.childOfLabels(all).observe(seconds));
  }
}
