/**
 * What every worker-side metric shares: validation at construction, lazy in-band declaration, and the
 * cache that resolves a label set to a bound child once.
 * @module
 */
import { ErrorCodes, RecordingError } from "../shared/errors.js";
import {
  OP_ADD,
  OP_DECLARE_METRIC,
  OP_DECLARE_SERIES,
  OP_OBSERVE,
  OP_REMOVE_SERIES,
  OP_SERIES_OVERFLOW,
  OP_SET,
  encodePayload,
  packWord0,
} from "../shared/protocol.js";
import { OVERFLOW_LABEL_VALUE } from "../shared/limits.js";
import { seriesKey } from "../shared/series-key.js";
import type { LabelValues, MetricDeclaration, MetricType } from "../shared/types.js";
import { labelArgsToValues, labelObjectToValues, normalizeDeclaration } from "../shared/validation.js";
import { runtime } from "./runtime.js";

/** What a child needs to record: its packed first word and the metric's name for error messages. */
export interface SeriesRef {
  readonly word0Add: number;
  readonly word0Set: number;
  readonly word0Observe: number;
  readonly metric: string;
}

/** Base class of the worker-side metrics. */
export abstract class WorkerMetric<T extends string, Child> {
  /** Metric name. */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** Label names, in order. */
  readonly labelNames: readonly T[];
  /** The normalized declaration sent to the hub. */
  protected readonly declaration: MetricDeclaration;
  #metricId = -1;
  readonly #children = new Map<string, Child>();
  /** Label-set resolutions folded into the overflow child and not yet reported to the hub. */
  #foldsPending = 0;

  /** Validate `config` for a metric of `type`; throws a ConfigurationError that names the metric. */
  protected constructor(type: MetricType, config: unknown) {
    this.declaration = normalizeDeclaration(type, config);
    this.name = this.declaration.name;
    this.help = this.declaration.help;
    this.labelNames = this.declaration.labelNames as T[];
  }

  /** Build the child bound to a freshly declared series. */
  protected abstract createChild(series: SeriesRef, labelValues: readonly string[]): Child;

  /**
   * Return the child bound to a label set, given as values in `labelNames` order or as one object.
   * Keep the child: recording on it is the fastest path.
   */
  labels(...values: Array<string | number>): Child;
  labels(labels: LabelValues<T>): Child;
  labels(...args: unknown[]): Child {
    return this.childOf(args);
  }

  /** Forget this thread's child for a label set. See the README for what the hub keeps. */
  remove(...values: Array<string | number>): void;
  remove(labels: LabelValues<T>): void;
  remove(...args: unknown[]): void {
    const values = this.#valuesOf(args);
    const key = seriesKey(values);
    const child = this.#children.get(key);
    if (child === undefined) return;
    this.#children.delete(key);
    const id = childSeries.get(child as object);
    if (id !== undefined) runtime.declare(packWord0(OP_REMOVE_SERIES, id), new Uint8Array(0));
  }

  /** Resolve `labels(...)`-style arguments to a child. */
  protected childOf(args: readonly unknown[]): Child {
    if (args.length === 1 && typeof args[0] === "object" && args[0] !== null) return this.childOfLabels(args[0]);
    return this.#child(labelArgsToValues(this.name, this.labelNames, args));
  }

  /** Resolve a labels object, or no labels at all, to a child. */
  protected childOfLabels(labels: object | undefined): Child {
    if (labels === undefined) {
      if (this.labelNames.length !== 0) {
        throw new RecordingError(ErrorCodes.INVALID_LABELS, `Metric "${this.name}": label values are required (${this.labelNames.join(", ")})`);
      }
      return this.#child([]);
    }
    return this.#child(labelObjectToValues(this.name, this.labelNames, labels));
  }

  #valuesOf(args: readonly unknown[]): string[] {
    if (args.length === 1 && typeof args[0] === "object" && args[0] !== null) {
      return labelObjectToValues(this.name, this.labelNames, args[0]);
    }
    return labelArgsToValues(this.name, this.labelNames, args);
  }

  #child(values: string[]): Child {
    const key = seriesKey(values);
    const existing = this.#children.get(key);
    if (existing !== undefined) return existing;
    // A new label set: the one place the series limit is checked (never per observation). The cache
    // holds at most maxSeries label sets plus the overflow one, so it cannot grow without bound.
    if (this.#children.size >= (this.declaration.maxSeries ?? runtime.maxSeries())) return this.#fold();
    return this.#create(key, values);
  }

  /** Resolve a label set past the limit: the overflow child, counted for the hub's self-metric. */
  #fold(): Child {
    const values = this.labelNames.map(() => OVERFLOW_LABEL_VALUE);
    const key = seriesKey(values);
    const child = this.#children.get(key) ?? this.#create(key, values);
    // Counted locally and reported once per burst (a microtask), not once per folded call.
    if (this.#foldsPending++ === 0) queueMicrotask(() => this.#reportFolds());
    return child;
  }

  #reportFolds(): void {
    const count = this.#foldsPending;
    this.#foldsPending = 0;
    try {
      runtime.declare(packWord0(OP_SERIES_OVERFLOW, this.#metricId), encodePayload(count));
    } catch {
      // Only a diagnostic count: nothing to throw to, and the folded observations are recorded anyway.
    }
  }

  #create(key: string, values: string[]): Child {
    if (this.#metricId < 0) {
      const id = runtime.nextMetricId();
      runtime.declare(packWord0(OP_DECLARE_METRIC, id), encodePayload(this.declaration));
      this.#metricId = id;
    }
    const seriesId = runtime.nextSeriesId(this.name);
    runtime.declare(packWord0(OP_DECLARE_SERIES, seriesId), encodePayload({ metric: this.#metricId, values }));
    const child = this.createChild(
      {
        word0Add: packWord0(OP_ADD, seriesId),
        word0Set: packWord0(OP_SET, seriesId),
        word0Observe: packWord0(OP_OBSERVE, seriesId),
        metric: this.name,
      },
      values,
    );
    childSeries.set(child as object, seriesId);
    this.#children.set(key, child);
    return child;
  }
}

/** Series id of each child, for `remove()`; kept off the child so its shape stays minimal. */
const childSeries = new WeakMap<object, number>();

/** The worker-local series id of a child (for records built outside the child, such as exemplars). */
export function seriesIdOf(child: object): number | undefined {
  return childSeries.get(child);
}

/** Merge the labels given to `startTimer()` with those given to its end function. */
function mergeLabels(start: object | undefined, end: object | undefined): object | undefined {
  if (end === undefined) return start;
  if (start === undefined) return end;
  return { ...start, ...end };
}

/** Start a timer whose end function passes the elapsed seconds to `record` and returns them. */
export function startTimer(record: (seconds: number) => void): () => number {
  const start = performance.now();
  return () => {
    const seconds = (performance.now() - start) / 1000;
    record(seconds);
    return seconds;
  };
}

/** Start a timer whose end function takes more labels, as prom-client's `metric.startTimer(labels)`. */
export function startLabeledTimer<L extends object>(
  labels: L | undefined,
  record: (labels: object | undefined, seconds: number) => void,
): (endLabels?: L) => number {
  const start = performance.now();
  return (endLabels?: L) => {
    const seconds = (performance.now() - start) / 1000;
    record(mergeLabels(labels, endLabels), seconds);
    return seconds;
  };
}
