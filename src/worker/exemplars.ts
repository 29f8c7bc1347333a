/**
 * Worker-side exemplars: the `inc({ value, labels, exemplarLabels })` and
 * `observe({ value, labels, exemplarLabels })` calls of metrics built with `enableExemplars: true`.
 * The metric chooses them in its constructor, as prom-client does (by a field, so every metric of a kind
 * keeps one shape). An observation with an exemplar travels as one OP_EXEMPLAR block. The call's
 * shape is checked here too ({@link parseExemplarCall}), for summaries, which accept it and export no
 * exemplar.
 * @module
 */
import { ErrorCodes, RecordingError } from "../shared/api/errors.js";
import { encodeExemplar, validateExemplarLabels } from "../shared/model/exemplar.js";
import { OP_EXEMPLAR, packWord0 } from "../shared/transport/protocol.js";
import type { LabelValues } from "../shared/model/types.js";
import { seriesIdOf } from "./metric.js";
import { runtime } from "./runtime.js";

/**
 * Most exemplars one thread sends per second. Each one is a block on the ring that, like a declaration,
 * is never dropped; the budget keeps a flood of them from crowding out observations. Past it, until the
 * second is over, observations are recorded without their exemplar (the hub keeps only the latest per
 * bucket, and Prometheus takes at most one per series per scrape, so little is lost).
 */
export const MAX_EXEMPLARS_PER_SECOND = 1000;

// The budget of this thread: exemplars sent in the second that began at `windowStart`.
let windowStart = 0;
let sentInWindow = 0;

/** The argument of `inc()` and `observe()` on a metric with `enableExemplars: true` (prom-client's shape). */
export interface ExemplarCall<T extends string = string> {
  /** The increment (default 1) or the observed value. */
  value?: number;
  /** Labels of the series. */
  labels?: LabelValues<T>;
  /** Labels of the exemplar, such as `{ trace_id }`: at most 128 characters in all. */
  exemplarLabels?: Record<string, string | number>;
}

/** What an exemplar call needs from its metric. */
export interface ExemplarTarget<Child> {
  readonly name: string;
  /** The call's name, for errors: `inc` or `observe`. */
  readonly call: "inc" | "observe";
  /** Resolve labels to the bound child. */
  child(labels: object | undefined): Child;
  /** The plain call on a child (`inc` or `observe`), for calls without exemplar labels. */
  plain(child: Child, value: unknown): void;
  /** Validate `value` (throws as the plain call does) and return it with its record's op and aux. */
  record(value: unknown): { op: number; aux: number; value: number };
}

/** Build the exemplar form of `inc()`/`observe()` for a metric. */
export function exemplarCall<Child>(target: ExemplarTarget<Child>): (call?: ExemplarCall | number) => void {
  return (arg) => {
    if (arg === undefined || arg === null || typeof arg === "number") {
      target.plain(target.child(undefined), arg);
      return;
    }
    // Anything but { value, labels, exemplarLabels } throws, where prom-client would silently record it.
    const call = parseExemplarCall(target.name, target.call, arg);
    const child = target.child(call.labels);
    const labels = call.exemplarLabels as Record<string, string | number> | undefined;
    if (labels === undefined || Object.keys(labels).length === 0) {
      target.plain(child, call.value);
      return;
    }
    const exemplar = validateExemplarLabels(target.name, labels);
    const now = Date.now();
    if (now - windowStart >= 1000 || now < windowStart) {
      windowStart = now;
      sentInWindow = 0;
    }
    if (sentInWindow >= MAX_EXEMPLARS_PER_SECOND) {
      target.plain(child, call.value);
      return;
    }
    const { op, aux, value } = target.record(call.value);
    const id = seriesIdOf(child as object);
    if (id === undefined) return;
    sentInWindow++;
    runtime.declare(packWord0(OP_EXEMPLAR, id), encodeExemplar(op, aux, value, now, exemplar));
  };
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

const KEYS = new Set(["value", "labels", "exemplarLabels"]);

/**
 * Split an exemplar call's single argument into its parts, throwing ERR_PROM_THREADS_INVALID_LABELS for
 * anything else (prom-client would silently record such a call on the unlabelled series).
 */
export function parseExemplarCall(metric: string, call: string, arg: unknown): ParsedExemplarCall {
  if (arg === undefined) return { labels: undefined, value: undefined, exemplarLabels: undefined };
  if (arg === null || typeof arg !== "object") {
    throw shapeError(metric, call, `got ${arg === null ? "null" : typeof arg}`);
  }
  for (const key of Object.keys(arg)) if (!KEYS.has(key)) throw shapeError(metric, call, `unknown key "${key}"`);
  const { value, labels, exemplarLabels } = arg as Record<string, unknown>;
  return { labels: objectOrUndefined(metric, call, "labels", labels), value, exemplarLabels: checkExemplarLabels(metric, call, exemplarLabels) };
}

function objectOrUndefined(metric: string, call: string, key: string, value: unknown): object | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object") throw shapeError(metric, call, `${key} must be an object`);
  return value;
}

function checkExemplarLabels(metric: string, call: string, labels: unknown): object | undefined {
  const checked = objectOrUndefined(metric, call, "exemplarLabels", labels);
  if (checked === undefined) return undefined;
  for (const [name, value] of Object.entries(checked)) {
    if (typeof value !== "string" && typeof value !== "number") {
      throw new RecordingError(ErrorCodes.INVALID_LABELS, `Metric "${metric}": exemplar label "${name}" must be a string or a number`);
    }
  }
  return checked;
}

function shapeError(metric: string, call: string, detail: string): RecordingError {
  return new RecordingError(
    ErrorCodes.INVALID_LABELS,
    `Metric "${metric}" has enableExemplars: ${call}() takes one object { value, labels, exemplarLabels } or a number (${detail})`,
  );
}
