/**
 * The hub handle: the plain, structured-cloneable object a worker needs to find its hub.
 * @module
 */
import { ConnectionError, ErrorCodes } from "./errors.js";
import {
  Layout,
  kLayoutVersion,
  kMagic,
  kMagicWord,
  kMaxLocalId,
  kMaxRingCapacity,
  kMaxSlots,
  kMinRingCapacity,
  kRingCapacityWord,
  kSlotCountWord,
  kVersionWord,
} from "./layout.js";

/** The key under which `hub.workerData` carries the handle. */
export const WORKER_DATA_KEY = "promThreads";

/** Everything a worker needs to write into a hub's rings. Structured-cloneable; safe to postMessage. */
export interface HubHandle {
  /** Always `"prom-threads/hub"`. */
  kind: "prom-threads/hub";
  /** Layout version; see layout.ts. */
  version: number;
  /** The hub's shared memory. */
  buffer: SharedArrayBuffer;
  /** Most observation records a worker may hold in its spill buffer. */
  spillRecords: number;
  /** The hub's default limit of label sets per metric; workers bound their own label-set caches by it. */
  maxSeries: number;
}

/** `hub.workerData`: pass it as, or spread it into, a Worker's or a piscina pool's `workerData`. */
export interface HubWorkerData {
  /** The hub handle. */
  promThreads: HubHandle;
}

/** Return the handle inside `value`, which may be a handle or an object carrying one (`workerData`). */
export function findHandle(value: unknown): HubHandle | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const candidate = (value as Record<string, unknown>)[WORKER_DATA_KEY] ?? value;
  if (candidate === null || typeof candidate !== "object") return undefined;
  return (candidate as { kind?: unknown }).kind === "prom-threads/hub" ? (candidate as HubHandle) : undefined;
}

/**
 * Throw a {@link ConnectionError} (ERR_PROM_THREADS_INVALID_HANDLE) unless `handle` is a usable handle of
 * this layout version: its buffer, version, geometry (slot count, ring capacity, and the buffer large
 * enough for both) and settings are checked, all before the caller changes any state, so a refused
 * `connect()` leaves the thread as it was.
 */
export function checkHandle(handle: HubHandle): void {
  const { buffer } = handle;
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < 64) {
    throw invalid("The hub handle carries no SharedArrayBuffer; pass hub.workerData unchanged");
  }
  const words = new Uint32Array(buffer, 0, 4);
  // The hub wrote these words before the handle existed; a plain read is enough, but Atomics.load states
  // that they are shared.
  if (Atomics.load(words, kMagicWord) !== kMagic || handle.version !== kLayoutVersion || Atomics.load(words, kVersionWord) !== kLayoutVersion) {
    throw invalid(
      `The hub handle has layout version ${handle.version}, this prom-threads/worker expects ${kLayoutVersion}: use one prom-threads version on both sides`,
    );
  }
  const slotCount = Atomics.load(words, kSlotCountWord);
  const ringCapacity = Atomics.load(words, kRingCapacityWord);
  if (slotCount === 0 || ringCapacity === 0) throw invalid("The hub handle describes an empty buffer");
  if (slotCount > kMaxSlots) throw invalid(`The hub handle describes ${slotCount} slots; a hub has at most ${kMaxSlots}`);
  if (ringCapacity < kMinRingCapacity || ringCapacity > kMaxRingCapacity || (ringCapacity & (ringCapacity - 1)) !== 0) {
    throw invalid(`The hub handle describes rings of ${ringCapacity} records; a ring holds a power of two from ${kMinRingCapacity} to ${kMaxRingCapacity}`);
  }
  const needed = new Layout(slotCount, ringCapacity).totalBytes;
  if (needed > buffer.byteLength) {
    throw invalid(`The hub handle describes ${slotCount} rings of ${ringCapacity} records (${needed} bytes) in a buffer of ${buffer.byteLength} bytes`);
  }
  if (!Number.isSafeInteger(handle.spillRecords) || handle.spillRecords < 0) {
    throw invalid("The hub handle's spillRecords is not a count; pass hub.workerData unchanged");
  }
  if (handle.maxSeries !== undefined && (!Number.isInteger(handle.maxSeries) || handle.maxSeries < 1 || handle.maxSeries > kMaxLocalId)) {
    throw invalid("The hub handle's maxSeries is not a count; pass hub.workerData unchanged");
  }
}

function invalid(message: string): ConnectionError {
  return new ConnectionError(ErrorCodes.INVALID_HANDLE, message);
}
