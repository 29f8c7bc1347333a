/**
 * prom-client's exemplar call shapes, `inc({ value, labels, exemplarLabels })` and
 * `observe({ value, labels, exemplarLabels })`, as metrics built with `enableExemplars: true` take them.
 * Parsing lives here alone, so exemplar support can grow from this one function.
 * @module
 */
import { ErrorCodes, RecordingError } from "../shared/errors.js";

/** The parts of an exemplar call. */
export interface ExemplarCall {
  /** The labels of the series, or `undefined` for the unlabelled series. */
  labels: object | undefined;
  /** The value to record, `undefined` when the call gave none. */
  value: unknown;
  /** The exemplar's labels, or `undefined`. Validated; not exported yet. */
  exemplarLabels: object | undefined;
}

const KEYS = new Set(["value", "labels", "exemplarLabels"]);

/**
 * Split an exemplar call's single argument into its parts, throwing ERR_PROM_THREADS_INVALID_LABELS for
 * anything else (prom-client would silently record such a call on the unlabelled series).
 */
export function parseExemplarCall(metric: string, call: string, arg: unknown): ExemplarCall {
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
