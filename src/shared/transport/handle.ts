/**
 * The hub handle: the plain, structured-cloneable object a worker needs to find its hub.
 * @module
 */
import { ConnectionError, ErrorCodes } from "../api/errors.js";
import {
  Layout,
  kCacheLineBytes,
  kLayoutVersion,
  kMagic,
  kMagicWord,
  kMaxRingCapacity,
  kMaxSlotBufferBytes,
  kMaxSlots,
  kMinRingCapacity,
  kOverflowCapacityWord,
  kMaxSlotInitialBytes,
  kRingCapacityWord,
  kSlotCountWord,
  kSlotInitialBytesWord,
  kVersionWord,
} from "./layout.js";

/** The key under which `hub.workerData` carries the handle. */
export const kWorkerDataKey = "promThreads";

/** Everything a worker needs to write into a hub's rings. Structured-cloneable; safe to postMessage. */
export interface HubHandle {
  /** Always `"prom-threads/hub"`. */
  kind: "prom-threads/hub";
  /** Layout version; see layout.ts. */
  version: number;
  /** The hub's control buffer: geometry, doorbell, slot table and ring headers. */
  buffer: SharedArrayBuffer;
  /**
   * One growable data buffer per slot (ring, latest-exemplar table, overflow; see layout.ts), created
   * empty: the worker that claims a slot grows it, so memory follows the workers actually connected.
   */
  slots: SharedArrayBuffer[];
  /** Most observation records a worker's overflow holds before it drops. */
  overflowRecords: number;
  /** The hub's default limit of label sets per metric; workers bound their own label-set caches by it. */
  maxSeries: number;
  /** How long a worker whose ring and overflow are full waits for the hub to make room, in milliseconds. */
  overflowWaitMs: number;
}

/** `hub.workerData`: pass it as, or spread it into, a Worker's or a piscina pool's `workerData`. */
export interface HubWorkerData {
  /** The hub handle. */
  promThreads: HubHandle;
}

/** Return the handle inside `value`, which may be a handle or an object carrying one (`workerData`). */
export function findHandle(value: unknown): HubHandle | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const candidate = (value as Record<string, unknown>)[kWorkerDataKey] ?? value;
  if (candidate === null || typeof candidate !== "object") return undefined;
  return (candidate as { kind?: unknown }).kind === "prom-threads/hub" ? (candidate as HubHandle) : undefined;
}

/**
 * Read the handle inside `value` (a handle, or an object carrying one such as `hub.workerData`) once, check
 * all of it, and return a plain copy of it with its layout. Whatever is wrong, including a getter that
 * throws, throws a {@link ConnectionError} (`ERR_PROM_THREADS_INVALID_HANDLE`) and changes nothing.
 *
 * @example
 * const { handle, layout } = readHandle(workerData);
 */
export function readHandle(value: unknown): { handle: HubHandle; layout: Layout } {
  let handle: HubHandle;
  try {
    const found = findHandle(value);
    if (found === undefined) throw invalid("connect() needs hub.workerData or hub.handle from the main thread's MetricsHub");
    // Each field is read once: what is checked is what is used.
    const slots: unknown = found.slots;
    handle = {
      kind: found.kind,
      version: found.version,
      buffer: found.buffer,
      slots: Array.isArray(slots) ? [...(slots as SharedArrayBuffer[])] : (slots as SharedArrayBuffer[]),
      overflowRecords: found.overflowRecords,
      maxSeries: found.maxSeries,
      overflowWaitMs: found.overflowWaitMs,
    };
    return { handle, layout: checkHandle(handle) };
  } catch (error) {
    if (error instanceof ConnectionError) throw error;
    throw invalid(`Reading the hub handle threw (${error instanceof Error ? error.message : String(error)}); pass hub.workerData or hub.handle unchanged`);
  }
}

/**
 * Check the whole handle before anything uses it, and return its layout: a handle whose geometry does not
 * fit its buffers, or whose slot buffers are not the hub's own, throws a {@link ConnectionError}
 * (`ERR_PROM_THREADS_INVALID_HANDLE`) and changes nothing. Reads each field of `handle` more than once:
 * pass it a plain object ({@link readHandle} makes one).
 */
function checkHandle(handle: HubHandle): Layout {
  const { buffer } = handle;
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < kCacheLineBytes) {
    throw invalid("The hub handle carries no SharedArrayBuffer; pass hub.workerData unchanged");
  }
  const words = new Uint32Array(buffer, 0, kCacheLineBytes / 4);
  // The hub wrote these words before the handle existed; a plain read is enough, but Atomics.load states
  // that they are shared.
  if (Atomics.load(words, kMagicWord) !== kMagic) {
    throw invalid("The hub handle's buffer is not a prom-threads hub's (its first word is not the hub's mark); pass hub.workerData unchanged");
  }
  const bufferVersion = Atomics.load(words, kVersionWord);
  if (handle.version !== kLayoutVersion || bufferVersion !== kLayoutVersion) {
    const theirs = bufferVersion !== kLayoutVersion ? bufferVersion : handle.version;
    throw invalid(
      `The hub handle has layout version ${String(theirs)}, this prom-threads/worker expects ${kLayoutVersion}: use one prom-threads version on both sides`,
    );
  }
  const slotCount = Atomics.load(words, kSlotCountWord);
  const ringCapacity = Atomics.load(words, kRingCapacityWord);
  const overflowCapacity = Atomics.load(words, kOverflowCapacityWord);
  if (slotCount < 1 || slotCount > kMaxSlots) throw invalid(`The hub handle names ${slotCount} slots; a hub has 1 to ${kMaxSlots}`);
  if (ringCapacity < kMinRingCapacity || ringCapacity > kMaxRingCapacity || (ringCapacity & (ringCapacity - 1)) !== 0) {
    throw invalid(`The hub handle names a ring of ${ringCapacity} records; a ring is a power of two from ${kMinRingCapacity} to ${kMaxRingCapacity}`);
  }
  const layout = new Layout(slotCount, ringCapacity, overflowCapacity);
  if (overflowCapacity < 1 || layout.slotBufferMaxBytes > kMaxSlotBufferBytes) {
    throw invalid(`The hub handle names an overflow of ${overflowCapacity} records, which does not fit a slot buffer`);
  }
  if (buffer.byteLength < layout.controlBytes) {
    throw invalid(`The hub handle's buffer holds ${buffer.byteLength} bytes; its geometry needs ${layout.controlBytes}`);
  }
  const { slots } = handle;
  if (!Array.isArray(slots) || slots.length !== slotCount) throw invalid(`The hub handle must carry ${slotCount} slot buffers`);
  const initialBytes = Atomics.load(words, kSlotInitialBytesWord);
  for (const slot of slots) {
    if (!(slot instanceof SharedArrayBuffer) || !slot.growable || slot.maxByteLength !== layout.slotBufferMaxBytes) {
      throw invalid("A slot buffer of the hub handle is not a growable SharedArrayBuffer of the size its geometry needs");
    }
    // The hub made every slot buffer `initialBytes` long; its first owner grows it to hold the ring at
    // least. A buffer of any other length is not the hub's: a worker that grew it would write where the
    // hub never reads.
    if (initialBytes < 1 || initialBytes > kMaxSlotInitialBytes || (slot.byteLength !== initialBytes && slot.byteLength < layout.ringBytes)) {
      throw invalid("The slot buffers of the hub handle are not the hub's own; pass hub.workerData or hub.handle unchanged");
    }
  }
  if (!Number.isSafeInteger(handle.overflowRecords) || handle.overflowRecords < 0) throw invalid("The hub handle's overflowRecords must be a non-negative integer");
  if (!Number.isSafeInteger(handle.maxSeries) || handle.maxSeries < 1) throw invalid("The hub handle's maxSeries must be a positive integer");
  if (typeof handle.overflowWaitMs !== "number" || !(handle.overflowWaitMs >= 0) || handle.overflowWaitMs > 60_000) {
    throw invalid("The hub handle's overflowWaitMs must be a number from 0 to 60000");
  }
  return layout;
}

function invalid(message: string): ConnectionError {
  return new ConnectionError(ErrorCodes.INVALID_HANDLE, message);
}
