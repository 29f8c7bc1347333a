/**
 * Worker-side exemplars: the `inc({ value, labels, exemplarLabels })` and
 * `observe({ value, labels, exemplarLabels })` calls of metrics built with `enableExemplars: true`.
 * The metric chooses them in its constructor, as prom-client does (by a field, so every metric of a kind
 * keeps one shape). An observation with an exemplar is an ordinary record, and its exemplar goes to the
 * thread's latest-exemplar table (see {@link ExemplarCalls}). The call's
 * shape is checked here too ({@link parseExemplarCall}), for summaries, which accept it and export no
 * exemplar.
 * @module
 */
import { ErrorCodes, RecordingError } from "../shared/api/errors.js";
import { encodeExemplar, validateExemplarLabels } from "../shared/model/exemplar.js";
import { kOpExemplar, packWord0 } from "../shared/transport/protocol.js";
import { kEmpty, kEncoded, kTooLong } from "../shared/transport/exemplar-table.js";
import type { LabelValues } from "../shared/model/types.js";
import { childOfLabelsOf, seriesIdOf, type WorkerMetric } from "./metric.js";
import { runtime } from "./runtime.js";

/** The argument of `inc()` and `observe()` on a metric with `enableExemplars: true` (prom-client's shape). */
export interface ExemplarCall<T extends string = string> {
  /** The increment (default 1) or the observed value. */
  value?: number;
  /** Labels of the series. */
  labels?: LabelValues<T>;
  /** Labels of the exemplar, such as `{ trace_id }`: at most 128 characters in all. */
  exemplarLabels?: Record<string, string | number>;
}

/**
 * The exemplar form of `inc()`/`observe()` for one metric: the shared flow in {@link run}, the metric
 * kind's parts in a subclass (counter.ts, histogram.ts). A class per kind, not an object of closures per
 * metric: the flow's calls to the kind's methods then see at most two classes, and V8 inlines them; with a
 * closure per metric every such call was megamorphic as soon as a thread recorded exemplars on a
 * counter and a histogram.
 *
 * The observation is one ring record as without an exemplar; the exemplar goes to its slot's entry in the
 * thread's latest-exemplar table (exemplar-table.ts) when the table says it is due: the first of the slot
 * since the hub's last read of the table, or the 256th skipped. Only an exemplar whose labels do not fit
 * an entry, or one made while the table is full or the thread has no slot yet, travels through the ring
 * with its observation as a kOpExemplar block (never dropped, like a declaration).
 */
export abstract class ExemplarCalls<Child extends object> {
  /** The series id of the child resolved last (a child's id never changes): a repeated label set skips the WeakMap lookup. */
  #lastChild: Child | undefined = undefined;
  #lastId: number | undefined = undefined;
  readonly #metric: WorkerMetric<string, Child>;
  /** The metric's name, for errors. */
  readonly name: string;

  /**
   * @param metric The metric whose calls these are.
   * @param call The call's name, for errors: `inc` or `observe`.
   * @param slots Exemplar slots per series: 1 for a counter, the classic buckets and `+Inf` for a histogram.
   */
  constructor(
    metric: WorkerMetric<string, Child>,
    readonly call: "inc" | "observe",
    readonly slots: number,
  ) {
    this.#metric = metric;
    this.name = metric.name;
  }

  /** Resolve labels to the bound child. */
  #child(labels: object | undefined): Child {
    return childOfLabelsOf(this.#metric, labels);
  }
  /** The plain call on a child (`inc` or `observe`), for calls without exemplar labels. */
  protected abstract plain(child: Child, value: unknown): void;
  /** Validate `value` (throws as the plain call does) and return the number recorded. */
  protected abstract check(value: unknown): number;
  /**
   * Record a checked value on a child (as {@link plain} would) and return its exemplar slot: 0 for a
   * counter, the classic bucket of a histogram (searched once, for the record and the slot).
   */
  protected abstract observe(child: Child, value: number): number;
  /** The record of a checked value, for an exemplar sent through the ring: op and aux. */
  protected abstract record(value: number): { op: number; aux: number };

  /** `inc(arg)` or `observe(arg)` of the metric: `{ value, labels, exemplarLabels }`, a number or nothing. */
  run(arg: ExemplarCall | number | undefined | null): void {
    if (arg === undefined || arg === null || typeof arg === "number") {
      this.plain(this.#child(undefined), arg);
      return;
    }
    const { name, call } = this;
    if (typeof arg !== "object") throw shapeError(name, call, `got ${typeof arg}`);
    // A misspelt key, where prom-client would silently record the call without it, throws. Misspelling
    // one of the three leaves it missing, so the keys are walked only then: with all three given, other
    // keys are ignored (as prom-client ignores them), and the call does not pay for a walk of its keys.
    if (arg.value === undefined || arg.labels === undefined || arg.exemplarLabels === undefined) checkKeys(name, call, arg);
    const labels = arg.labels;
    if (labels !== undefined && (labels === null || typeof labels !== "object")) throw shapeError(name, call, "labels must be an object");
    const exemplarLabels = arg.exemplarLabels as Record<string, unknown> | undefined;
    if (exemplarLabels !== undefined && (exemplarLabels === null || typeof exemplarLabels !== "object")) throw shapeError(name, call, "exemplarLabels must be an object");
    let table = runtime.exemplarTable;
    // One walk of the exemplar's labels checks them, measures them, tells an empty set and keeps their
    // names and texts for the commit below (which walks them no more).
    let encoded = exemplarLabels === undefined ? kEmpty : table !== undefined ? table.encode(exemplarLabels) : isEmpty(exemplarLabels) ? kEmpty : kTooLong;
    if (encoded === kEmpty) {
      this.plain(this.#child(labels), arg.value);
      return;
    }
    // Value and exemplar are checked before the label set is resolved: a call that throws creates no series.
    const value = this.check(arg.value);
    // Labels the table cannot take are validated here too (the precise error for invalid ones), not after.
    let exemplar = encoded === kEncoded ? undefined : validateExemplarLabels(name, exemplarLabels);
    const child = this.#child(labels);
    if (child !== this.#lastChild) {
      this.#lastChild = child;
      this.#lastId = seriesIdOf(child);
    }
    const id = this.#lastId;
    if (id === undefined) return;
    // Resolving the child may have connected this thread just now.
    if (table === undefined) {
      table = runtime.exemplarTable;
      if (table !== undefined) encoded = table.encode(exemplarLabels as Record<string, unknown>);
    }
    if (encoded === kEncoded && table !== undefined) {
      const entry = table.entryOf(id, this.slots);
      if (entry >= 0) {
        const slot = this.observe(child, value);
        // Writes the names and texts encode() kept: strings, so what was checked is what is written. Only
        // when due: the first exemplar of the slot since the hub's last read, or one every 256 (sampled).
        if (table.due(entry + slot)) table.commit(entry + slot, id, slot, value, Date.now());
        return;
      }
    }
    // What remains is valid (checked above, or encoded) and travels through the ring.
    exemplar ??= validateExemplarLabels(name, exemplarLabels);
    const { op, aux } = this.record(value);
    runtime.declare(packWord0(kOpExemplar, id), encodeExemplar(op, aux, value, Date.now(), exemplar));
  }
}

/**
 * Throw for an own key of an exemplar call's object other than `value`, `labels` and `exemplarLabels`:
 * called only when one of the three is missing, so the array of keys costs nothing on the usual path.
 */
function checkKeys(name: string, call: string, arg: object): void {
  for (const key of Object.keys(arg)) if (key !== "value" && key !== "labels" && key !== "exemplarLabels") throw shapeError(name, call, `unknown key "${key}"`);
}

function isEmpty(object: object): boolean {
  for (const _ in object) return false;
  return true;
}

/** The parts of an exemplar call, checked. */
export interface ParsedExemplarCall {
  /** The labels of the series, or `undefined` for the unlabelled series. */
  labels: object | undefined;
  /** The value to record, `undefined` when the call gave none. */
  value: unknown;
  /** The exemplar's labels, or `undefined`; their values are strings or numbers. */
  exemplarLabels: object | undefined;
}

/**
 * Split an exemplar call's single argument (an object; the caller takes plain values) into its parts,
 * throwing ERR_PROM_THREADS_INVALID_LABELS for anything else (prom-client would silently record such a
 * call on the unlabelled series): a key other than the three when one of them is missing (a misspelt
 * key), labels that are not objects, invalid exemplar labels. `checkValue` runs before the exemplar's
 * labels are checked, as a histogram's call checks them.
 */
export function parseExemplarCall(metric: string, call: string, arg: unknown, checkValue: (value: unknown) => void): ParsedExemplarCall {
  if (arg === null || typeof arg !== "object") throw shapeError(metric, call, `got ${typeof arg}`);
  const { value, labels, exemplarLabels } = arg as Record<string, unknown>;
  // As in ExemplarCalls.run: a misspelt key leaves one of the three missing; then the shapes, the value,
  // and last the exemplar's labels.
  if (value === undefined || labels === undefined || exemplarLabels === undefined) checkKeys(metric, call, arg);
  const checkedLabels = objectOrUndefined(metric, call, "labels", labels);
  const exemplarObject = objectOrUndefined(metric, call, "exemplarLabels", exemplarLabels);
  checkValue(value);
  return { labels: checkedLabels, value, exemplarLabels: exemplarObject === undefined ? undefined : validateExemplarLabels(metric, exemplarObject) };
}

function objectOrUndefined(metric: string, call: string, key: string, value: unknown): object | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object") throw shapeError(metric, call, `${key} must be an object`);
  return value;
}


function shapeError(metric: string, call: string, detail: string): RecordingError {
  return new RecordingError(
    ErrorCodes.INVALID_LABELS,
    `Metric "${metric}" has enableExemplars: ${call}() takes one object { value, labels, exemplarLabels } or a number (${detail})`,
  );
}
