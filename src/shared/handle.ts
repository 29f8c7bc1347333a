/**
 * The hub handle: the plain, structured-cloneable object a worker needs to find its hub.
 * @module
 */
import { ConnectionError, ErrorCodes } from "./errors.js";
import { kLayoutVersion, kMagic, kMagicWord, kRingCapacityWord, kSlotCountWord, kVersionWord } from "./layout.js";

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

/** Throw a {@link ConnectionError} unless `handle` is a usable handle of this layout version. */
export function checkHandle(handle: HubHandle): void {
  const { buffer } = handle;
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < 64) {
    throw new ConnectionError(ErrorCodes.INVALID_HANDLE, "The hub handle carries no SharedArrayBuffer; pass hub.workerData unchanged");
  }
  const words = new Uint32Array(buffer, 0, 4);
  // The hub wrote these words before the handle existed; a plain read is enough, but Atomics.load states
  // that they are shared.
  if (Atomics.load(words, kMagicWord) !== kMagic || handle.version !== kLayoutVersion || Atomics.load(words, kVersionWord) !== kLayoutVersion) {
    throw new ConnectionError(
      ErrorCodes.INVALID_HANDLE,
      `The hub handle has layout version ${handle.version}, this prom-threads/worker expects ${kLayoutVersion}: use one prom-threads version on both sides`,
    );
  }
  if (Atomics.load(words, kSlotCountWord) === 0 || Atomics.load(words, kRingCapacityWord) === 0) {
    throw new ConnectionError(ErrorCodes.INVALID_HANDLE, "The hub handle describes an empty buffer");
  }
}
