/**
 * What every worker-side metric shares: validation at construction, lazy in-band declaration, and the
 * cache that resolves a label set to a bound child once.
 * @module
 */
import { ConfigurationError, ErrorCodes, RecordingError } from "../shared/api/errors.js";
import {
  kOpAdd,
  kOpDeclareMetric,
  kOpDeclareSeries,
  kOpObserve,
  kOpRemoveSeries,
  kOpResetMetric,
  kOpSeriesOverflow,
  kOpSet,
  kOpZeroSeries,
  kRemovedSeriesId,
  encodePayload,
  packWord0,
} from "../shared/transport/protocol.js";
import { kOverflowLabelValue } from "../shared/model/limits.js";
import { seriesKey } from "../shared/model/series-key.js";
import type { LabelValue, LabelValues, MetricDeclaration, MetricType } from "../shared/model/types.js";
import { labelArgsToValues, labelObjectToValues, normalizeDeclaration } from "../shared/model/validation.js";
import { runtime } from "./runtime.js";
import { releaseSeriesId, takeSeriesId } from "./series-ids.js";

/** What a child needs to record: its packed first words, the metric's name, and its way to other label sets. */
export interface SeriesRef {
  readonly word0Add: number;
  readonly word0Set: number;
  readonly word0Observe: number;
  readonly metric: string;
  /**
   * Resolve this label set merged with `endLabels` (a timer's end labels, as prom-client merges them) to
   * its child. Off the recording path: only timers that end with labels call it.
   */
  readonly relabel: (endLabels: object) => unknown;
}

/** The packed first word of a record on the removed-series id: what a child uses after `remove()`. */
export function removedWord0(op: number): number {
  return packWord0(op, kRemovedSeriesId);
}

/** Implemented by every child: point its records at the removed-series id. Called by `remove()`. */
export const kDetach: unique symbol = Symbol("prom-threads.detach");

/** A child that `remove()` can detach. */
interface Detachable {
  [kDetach](): void;
}

/** Whether a metric-level call's first argument is a labels object (`null` is a value, as in prom-client). */
export function isLabels(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}

/**
 * `metric.childOfLabels(labels)` for code outside the metric classes (the exemplar calls, exemplars.ts):
 * one function for every metric, set by {@link WorkerMetric}'s static block.
 */
export let childOfLabelsOf: <Child>(metric: WorkerMetric<string, Child>, labels: object | undefined) => Child;

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
  /**
   * The children of label sets resolved from labels objects, one Map level per label name (in `labelNames`
   * order) keyed by the value's text: a hit allocates nothing and builds no key. A cache of
   * {@link #children}: a label set is here only while it has its own child there (never a folded one).
   */
  #byText = new Map<string, unknown>();
  /** Label-set resolutions folded into the overflow child and not yet reported to the hub. */
  #foldsPending = 0;

  /** Validate `config` for a metric of `type`; throws a ConfigurationError that names the metric. */
  protected constructor(type: MetricType, config: unknown) {
    this.declaration = normalizeDeclaration(type, config);
    this.name = this.declaration.name;
    this.help = this.declaration.help;
    this.labelNames = this.declaration.labelNames as T[];
  }

  /**
   * Declare the metric now, as prom-client registers it at construction, and the unlabelled series too,
   * so the hub exports it at 0 from construction. Subclasses call it last in their constructor. This
   * connects from `workerData` when it can: a broken handle there throws ERR_PROM_THREADS_INVALID_HANDLE
   * here, in setup code, rather than at the first record.
   */
  protected declareAtConstruction(): void {
    if (this.labelNames.length === 0) this.childOfLabels(undefined);
    else this.#declaredMetricId();
  }

  /** Build the child bound to a freshly declared series. */
  protected abstract createChild(series: SeriesRef, labelValues: readonly LabelValue[]): Child;

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
    const id = childSeries.get(child as object) as number;
    // The REMOVE record first: the hub must read the release before the id's next declaration.
    runtime.declare(packWord0(kOpRemoveSeries, id), new Uint8Array(0));
    // Its latest exemplars go too: the id may soon name another label set.
    runtime.exemplarTable?.release(id);
    this.#children.delete(key);
    // Rare: the cache is rebuilt from the label sets resolved after it.
    this.#byText = new Map();
    (child as unknown as Detachable)[kDetach]();
    releaseSeriesId(id);
  }

  /**
   * Reset this metric in the hub, as prom-client's `reset()` does: counters and gauges lose their labelled
   * series and keep the unlabelled one at 0, histograms lose every series, summaries keep their series at 0.
   * It resets the metric for every worker (the hub holds one total per label set) when the hub drains
   * this thread's ring: records of this thread before the call are reset, those after it count. Rings are
   * drained one after another, so a record another thread makes before that drain may be reset with it.
   * Children stay valid: recording on one after a reset exports its label set again.
   */
  reset(): void {
    runtime.declare(packWord0(kOpResetMetric, this.#declaredMetricId()), new Uint8Array(0));
  }

  /**
   * Rejects with ERR_PROM_THREADS_UNSUPPORTED: a worker does not keep its values (recording is one ring
   * write), and the totals live in the main thread. Read them there, e.g.
   * `await hub.registry.getSingleMetric(name).get()`, or scrape.
   */
  get(): Promise<never> {
    return Promise.reject(
      new ConfigurationError(
        ErrorCodes.UNSUPPORTED,
        `Metric "${this.name}": get() is not available in a worker thread (workers do not keep values; the hub in the main thread does): read it there with registry.getSingleMetric("${this.name}").get()`,
      ),
    );
  }

  /** Send kOpZeroSeries for a label set's child, so the hub exports it before its first record. */
  protected zeroChild(child: Child): void {
    runtime.declare(packWord0(kOpZeroSeries, childSeries.get(child as object) as number), new Uint8Array(0));
  }

  /** Resolve `labels(...)`-style arguments to a child. */
  protected childOf(args: readonly unknown[]): Child {
    if (args.length === 1 && isLabels(args[0])) return this.childOfLabels(args[0]);
    return this.#child(labelArgsToValues(this.name, this.labelNames, args));
  }

  static {
    childOfLabelsOf = (metric, labels) => metric.childOfLabels(labels);
  }

  /** Resolve a labels object, or no labels at all, to a child. */
  protected childOfLabels(labels: object | undefined): Child {
    if (labels === undefined) {
      if (this.labelNames.length !== 0) {
        throw new RecordingError(ErrorCodes.INVALID_LABELS, `Metric "${this.name}": label values are required (${this.labelNames.join(", ")})`);
      }
      return this.#child([]);
    }
    const cached = this.#cachedChild(labels);
    if (cached !== undefined) return cached;
    const values = labelObjectToValues(this.name, this.labelNames, labels);
    const key = seriesKey(values);
    const child = this.#childOfKey(key, values);
    // Cached only when the label set has a child of its own (not folded into the overflow one).
    if (values.length !== 0 && this.#children.get(key) === child) this.#cache(values, child);
    return child;
  }

  /**
   * The child of a labels object already resolved, or `undefined` (a new label set, or anything unusual:
   * the slow path then decides and throws the precise error). Accepts only what the slow path accepts
   * with the same child: every enumerable key a label name (so every own key is), every label name's
   * value a string or a number whose text is a key of the cache. A cached text was checked when its label
   * set was created (same text, same verdict), and the text of a number is `String(value)`, as in
   * {@link seriesKey}.
   */
  #cachedChild(labels: object): Child | undefined {
    const names = this.labelNames;
    const count = names.length;
    if (count === 0) return undefined;
    const given = labels as Record<string, unknown>;
    let node: unknown = this.#byText;
    let keys = 0;
    let ordered = true;
    for (const key in given) {
      if (key !== names[keys]) {
        if (!names.includes(key as T)) return undefined;
        ordered = false;
      } else if (ordered) {
        // Usually given in labelNames order: the value read by the loop's own key (no lookup by name),
        // and the cache walked as the keys come.
        node = levelOf(node, given[key]);
        if (node === undefined) return undefined;
      }
      keys++;
    }
    // Fewer enumerable keys: a label is missing, non-enumerable or a symbol's; the slow path tells.
    if (keys !== count) return undefined;
    if (ordered) return node as Child;
    node = this.#byText;
    for (let i = 0; i < count; i++) {
      node = levelOf(node, given[names[i] as string]);
      if (node === undefined) return undefined;
    }
    return node as Child;
  }

  #cache(values: readonly LabelValue[], child: Child): void {
    let level = this.#byText;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      const text = String(values[i]);
      let next = level.get(text) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(text, next);
      }
      level = next;
    }
    level.set(String(values[last]), child);
  }

  #valuesOf(args: readonly unknown[]): LabelValue[] {
    if (args.length === 1 && isLabels(args[0])) {
      return labelObjectToValues(this.name, this.labelNames, args[0]);
    }
    return labelArgsToValues(this.name, this.labelNames, args);
  }

  #child(values: LabelValue[]): Child {
    return this.#childOfKey(seriesKey(values), values);
  }

  #childOfKey(key: string, values: LabelValue[]): Child {
    const existing = this.#children.get(key);
    if (existing !== undefined) return existing;
    // A new label set: the one place the series limit is checked (never per observation). The cache
    // holds at most maxSeries label sets plus the overflow one, so it cannot grow without bound.
    if (this.#children.size >= (this.declaration.maxSeries ?? runtime.maxSeries())) return this.#fold();
    return this.#create(key, values);
  }

  /** Resolve a label set past the limit: the overflow child, counted for the hub's self-metric. */
  #fold(): Child {
    const values = this.labelNames.map(() => kOverflowLabelValue);
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
      runtime.declare(packWord0(kOpSeriesOverflow, this.#metricId), encodePayload(count));
    } catch {
      // Only a diagnostic count: nothing to throw to, and the folded observations are recorded anyway.
    }
  }

  /** This metric's id, declaring the metric first if this thread has not yet. */
  #declaredMetricId(): number {
    if (this.#metricId < 0) {
      const id = runtime.nextMetricId();
      runtime.declare(packWord0(kOpDeclareMetric, id), encodePayload(this.declaration));
      this.#metricId = id;
    }
    return this.#metricId;
  }

  #create(key: string, values: LabelValue[]): Child {
    const metricId = this.#declaredMetricId();
    const seriesId = takeSeriesId(this.name);
    try {
      runtime.declare(packWord0(kOpDeclareSeries, seriesId), encodePayload({ metric: metricId, values }), this.name);
    } catch (error) {
      releaseSeriesId(seriesId);
      throw error;
    }
    const labelNames = this.labelNames;
    const child = this.createChild(
      {
        word0Add: packWord0(kOpAdd, seriesId),
        word0Set: packWord0(kOpSet, seriesId),
        word0Observe: packWord0(kOpObserve, seriesId),
        metric: this.name,
        relabel: (endLabels) => {
          const labels: Record<string, LabelValue> = {};
          labelNames.forEach((name, i) => {
            labels[name] = values[i] as LabelValue;
          });
          return this.childOfLabels({ ...labels, ...endLabels });
        },
      },
      values,
    );
    childSeries.set(child as object, seriesId);
    this.#children.set(key, child);
    return child;
  }
}

/** The next level of the label cache for a label's value: `undefined` for a miss or a value not a string or number. */
function levelOf(node: unknown, value: unknown): unknown {
  const text = typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined;
  return text === undefined ? undefined : (node as Map<string, unknown>).get(text);
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

/**
 * Start a child's timer. Its end function records the elapsed seconds on the child, or, given end labels,
 * on the child of the child's labels merged with them (prom-client's `labels(...).startTimer()(labels)`).
 */
export function startChildTimer<C>(child: C, relabel: (endLabels: object) => unknown, record: (child: C, seconds: number) => void): (endLabels?: object) => number {
  const start = performance.now();
  return (endLabels?: object) => {
    const seconds = (performance.now() - start) / 1000;
    record(endLabels === undefined ? child : (relabel(endLabels) as C), seconds);
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
