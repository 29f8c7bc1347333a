/**
 * The record protocol: what each record on a ring means. See layout.ts for the record's bytes.
 *
 * Declarations travel in-band, on the same ring as the observations, so a metric and a label set always
 * reach the main thread before the first observation that uses them.
 * @module
 */
import type { MetricDeclaration } from "../model/types.js";
import { kMaxLocalId, kRecordBytes } from "./layout.js";

/** Add `value` to a counter or gauge series (gauge `dec` adds a negative value). */
export const kOpAdd = 1;
/** Set a gauge series to `value`. */
export const kOpSet = 2;
/** Observe `value` in a histogram (`aux` = bucket index, computed in the worker) or summary series. */
export const kOpObserve = 3;
/** Declare metric `id`; `aux` bytes of UTF-8 JSON ({@link MetricDeclaration}) follow. */
export const kOpDeclareMetric = 16;
/** Declare series `id`; `aux` bytes of UTF-8 JSON ({@link SeriesDeclaration}) follow. */
export const kOpDeclareSeries = 17;
/** Forget series `id`: a gauge series loses this worker's contribution; the id may be declared again. */
export const kOpRemoveSeries = 18;
/**
 * Metric `id` folded label sets into its overflow series in the worker, which reached the metric's
 * `maxSeries`; `aux` bytes of UTF-8 JSON follow: the number of label-set resolutions folded.
 */
export const kOpSeriesOverflow = 19;
/**
 * An observation with an exemplar on series `id`, sent as a declaration-shaped block so its variable
 * length fits; `aux` bytes follow, laid out by exemplar.ts (the observation's op, aux and value, the
 * exemplar's timestamp and labels). Like every declaration it is never dropped.
 */
export const kOpExemplar = 20;

/**
 * Reset metric `id` in the hub, for every worker, as prom-client's `metric.reset()` does; no payload.
 * In ring order: this thread's records before it are reset, those after it count.
 */
export const kOpResetMetric = 22;
/** Make series `id` exported at 0 before its first record (`zero()`); no payload. */
export const kOpZeroSeries = 23;

/**
 * The series id that `remove()` points a stale child at: the hub drops its records as `removed_series`.
 * Never given to a label set, so released ids can be reused without a stale child writing into them.
 */
export const kRemovedSeriesId = kMaxLocalId;

/** A label set of a declared metric, as it travels on the ring. */
export interface SeriesDeclaration {
  /** Worker-local id of the metric. */
  metric: number;
  /** Label values in the metric's `labelNames` order: strings, or finite numbers as the caller gave them. */
  values: Array<string | number>;
}

/** Pack an op and a worker-local id into a record's first word. */
export function packWord0(op: number, id: number): number {
  return (op | (id << 8)) >>> 0;
}

/** The op of a record's first word. */
export function opOf(word0: number): number {
  return word0 & 0xff;
}

/** The worker-local id of a record's first word. */
export function idOf(word0: number): number {
  return word0 >>> 8;
}

/** Records needed for a declaration whose payload is `payloadBytes` long (header included). */
export function declarationRecords(payloadBytes: number): number {
  return 1 + Math.ceil(payloadBytes / kRecordBytes);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encode a declaration payload. */
export function encodePayload(payload: MetricDeclaration | SeriesDeclaration | number): Uint8Array {
  return encoder.encode(JSON.stringify(payload));
}

/** Decode a declaration payload; throws on malformed bytes. */
export function decodePayload(bytes: Uint8Array): unknown {
  return JSON.parse(decoder.decode(bytes));
}
