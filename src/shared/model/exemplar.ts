/**
 * Exemplars: validation of their labels (in the recording thread, once per exemplar) and the payload
 * that carries an observation with its exemplar through the ring.
 *
 * ```text
 * payload of an kOpExemplar block (little-endian):
 * ┌──────────┬─────────┬──────────┬──────────────┬─────────────────┬───────────────────────────────┐
 * │ u8 op    │ 3 bytes │ u32 aux  │ f64 value    │ f64 timestamp   │ UTF-8 JSON of the label set   │
 * │ (ADD or  │ (zero)  │          │              │ (ms since epoch)│ {"trace_id":"..."}            │
 * │ OBSERVE) │         │          │              │                 │                               │
 * └──────────┴─────────┴──────────┴──────────────┴─────────────────┴───────────────────────────────┘
 *   0          1         4          8              16                24
 * ```
 * @module
 */
import { ErrorCodes, RecordingError } from "../api/errors.js";
import { isClassicLabelName } from "./names.js";

/** OpenMetrics: the label names and values of an exemplar together hold at most 128 UTF-8 characters. */
export const kMaxExemplarLabelChars = 128;

const kHeaderBytes = 24;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An observation and its exemplar, as the hub receives them. */
export interface ExemplarRecord {
  op: number;
  aux: number;
  value: number;
  /** Milliseconds since the epoch, taken in the recording thread. */
  timestampMs: number;
  labels: Record<string, string>;
}

function codePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/**
 * Check an exemplar label set and return it with string values. Throws a RecordingError
 * (ERR_PROM_THREADS_INVALID_LABELS) for a bad name, a value that is not a string or number, or more than
 * 128 characters in all.
 */
export function validateExemplarLabels(metric: string, labels: unknown): Record<string, string> {
  if (labels === null || typeof labels !== "object" || Array.isArray(labels)) {
    throw new RecordingError(ErrorCodes.INVALID_LABELS, `Metric "${metric}": exemplarLabels must be an object of label names to values`);
  }
  const out: Record<string, string> = {};
  let chars = 0;
  for (const [name, raw] of Object.entries(labels as Record<string, unknown>)) {
    if (!isClassicLabelName(name)) {
      throw new RecordingError(ErrorCodes.INVALID_LABELS, `Metric "${metric}": invalid exemplar label name ${JSON.stringify(name)}`);
    }
    if (typeof raw !== "string" && typeof raw !== "number") {
      throw new RecordingError(ErrorCodes.INVALID_LABELS, `Metric "${metric}": exemplar label "${name}" must be a string or a number`);
    }
    const value = String(raw);
    chars += codePoints(name) + codePoints(value);
    out[name] = value;
  }
  if (chars > kMaxExemplarLabelChars) {
    throw new RecordingError(
      ErrorCodes.INVALID_LABELS,
      `Metric "${metric}": exemplar labels hold ${chars} characters (names and values); OpenMetrics allows at most ${kMaxExemplarLabelChars}`,
    );
  }
  return out;
}

// One scratch buffer per thread: an exemplar is encoded here, then copied once into a payload of its size.
let scratch = new Uint8Array(1024);
let scratchView = new DataView(scratch.buffer);

/** Encode an observation and its (validated) exemplar labels into a fresh payload. */
export function encodeExemplar(op: number, aux: number, value: number, timestampMs: number, labels: Record<string, string>): Uint8Array {
  const json = JSON.stringify(labels);
  // At most 3 UTF-8 bytes per UTF-16 unit.
  if (kHeaderBytes + json.length * 3 > scratch.length) {
    scratch = new Uint8Array(kHeaderBytes + json.length * 3);
    scratchView = new DataView(scratch.buffer);
  }
  scratchView.setUint32(0, op, true);
  scratchView.setUint32(4, aux, true);
  scratchView.setFloat64(8, value, true);
  scratchView.setFloat64(16, timestampMs, true);
  const { written } = encoder.encodeInto(json, scratch.subarray(kHeaderBytes));
  // A copy: the ring writer may hold the payload (before the thread connects), so it must not be shared.
  return scratch.slice(0, kHeaderBytes + written);
}

/** Decode an exemplar payload; `undefined` when it is malformed. */
export function decodeExemplar(payload: Uint8Array): ExemplarRecord | undefined {
  if (payload.length < kHeaderBytes) return undefined;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let labels: unknown;
  try {
    labels = JSON.parse(decoder.decode(payload.subarray(kHeaderBytes)));
  } catch {
    return undefined;
  }
  if (labels === null || typeof labels !== "object") return undefined;
  return {
    op: view.getUint8(0),
    aux: view.getUint32(4, true),
    value: view.getFloat64(8, true),
    timestampMs: view.getFloat64(16, true),
    labels: labels as Record<string, string>,
  };
}
