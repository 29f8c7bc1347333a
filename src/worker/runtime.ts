/**
 * The per-thread runtime: finds the hub, claims a slot, hands out worker-local ids, and owns the writer
 * every metric of this thread records through.
 * @module
 */
import { isMainThread, threadId, workerData } from "node:worker_threads";
import { ConfigurationError, ConnectionError, ErrorCodes, RecordingError } from "../shared/api/errors.js";
import { findHandle, readHandle, type HubHandle } from "../shared/transport/handle.js";
import {
  type Layout,
  kSlotClaimed,
  kSlotClaiming,
  kSlotExited,
  kSlotFree,
  kMaxLocalId,
  kSlotHighWaterWord,
  kSlotState,
  kSlotThreadId,
} from "../shared/transport/layout.js";
import { kDefaultMaxSeries, maxDeclarationBytes } from "../shared/model/limits.js";
import { SlotWriter, type PublishPoint } from "../shared/transport/slot-writer.js";
import { ExemplarTableWriter } from "../shared/transport/exemplar-table.js";

const kNotConnectedMessage =
  "prom-threads: this thread is not connected to a MetricsHub. Pass hub.workerData as (or spread it into) " +
  "the workerData of your Worker or piscina pool, or call connect(handle) from 'prom-threads/worker' before recording.";

/**
 * A fault-injection hook for test fixtures only; not part of the public API. It stays in the runtime because
 * no test can otherwise stop a worker between writing a record's bytes and publishing them: the mid-write
 * kill tests (test/fixtures/paused-writer.mjs) freeze there and terminate() the thread to prove the hub
 * never reads a half-written record. While unset, the writer's fast path is unchanged.
 */
interface RuntimeTestHooks {
  /** Runs after bytes are written to the ring and before they are published (see SlotWriterOptions). */
  beforePublish?: (point: PublishPoint) => void;
}

/** The per-thread runtime (its type is exported for the pool's task wrapper, which finds it by its key). */
export class Runtime {
  /**
   * The writer every metric records through, one object for the thread's whole life (not connected yet,
   * attached to a slot, slotless, exited), so every call site that records sees one shape.
   */
  readonly writer: SlotWriter;
  /** The writer while it owns a slot. */
  #ring: SlotWriter | undefined;
  /** This thread's latest-exemplar table, while it owns a slot. */
  exemplarTable: ExemplarTableWriter | undefined;
  #buffer: SharedArrayBuffer | undefined;
  #slot = -1;
  #triedWorkerData = false;
  #pending: Array<{ word0: number; payload: Uint8Array; metric: string | undefined }> = [];
  #nextMetricId = 0;
  #nextSeriesId = 0;
  #ringCapacity = 0;
  #maxSeries = kDefaultMaxSeries;
  #testHooks: RuntimeTestHooks = {};
  /**
   * The thread-metrics sampler once `startThreadMetrics()` started it: here rather than in its module, so
   * the pool's task wrapper reaches it through the runtime (it imports only the public worker entry).
   */
  threadSampler: { sampleIfDue(): void } | undefined;

  constructor() {
    this.writer = new SlotWriter(undefined, () => {
      // First record of a thread that has not connected yet: try workerData once, then fail loudly.
      if (!this.#tryWorkerData()) throw new ConnectionError(ErrorCodes.NOT_CONNECTED, kNotConnectedMessage);
    });
  }

  /** Whether this thread writes to a hub (or at least found one and counts its drops there). */
  get connected(): boolean {
    return this.#buffer !== undefined;
  }

  /** Connect from `workerData` if not connected yet and it carries a handle; returns {@link connected}. */
  connectFromWorkerData(): boolean {
    return this.#tryWorkerData();
  }

  /** The slot this thread owns, or -1. */
  get slot(): number {
    return this.#slot;
  }

  /** Connect to the hub behind `value` (a handle, or an object carrying one such as `hub.workerData`). */
  connect(value: unknown): void {
    // Throws ERR_PROM_THREADS_INVALID_HANDLE for anything wrong, before this thread changes in any way.
    const { handle, layout } = readHandle(value);
    if (this.#buffer !== undefined) {
      if (this.#buffer === handle.buffer) return;
      throw new ConnectionError(ErrorCodes.INVALID_HANDLE, "This thread is already connected to another MetricsHub; a thread writes to one hub");
    }
    this.#attach(handle, layout);
  }

  /**
   * Write declarations that wait in this thread for room (only after ring and overflow were both full),
   * waiting for room up to `timeoutMs`. Every record is in shared memory when its call returns already.
   * @returns `true` when nothing waits in this thread.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    const ring = this.#ring;
    if (ring === undefined) return true;
    const deadline = Date.now() + timeoutMs;
    while (!ring.flush()) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return true;
  }

  /**
   * The hub's default limit of label sets per metric (connecting from `workerData` first if it can);
   * the built-in default while the thread is not connected.
   */
  maxSeries(): number {
    if (this.#buffer === undefined) this.#tryWorkerData();
    return this.#maxSeries;
  }

  /** Replace the fault-injection hooks (test fixtures only, see {@link RuntimeTestHooks}); takes effect at the next connect. */
  setTestHooks(hooks: RuntimeTestHooks): void {
    this.#testHooks = hooks;
  }

  /** Give out the next worker-local metric id. */
  nextMetricId(): number {
    if (this.#nextMetricId > kMaxLocalId) throw new ConfigurationError(ErrorCodes.METRIC_LIMIT, `This thread has declared ${kMaxLocalId + 1} metrics, the most one thread can`);
    return this.#nextMetricId++;
  }

  /** Give out the next worker-local series id. */
  nextSeriesId(metric: string): number {
    if (this.#nextSeriesId > kMaxLocalId) {
      throw new ConfigurationError(ErrorCodes.SERIES_LIMIT, `Metric "${metric}": this thread has created ${kMaxLocalId + 1} label sets, the most one thread can`);
    }
    return this.#nextSeriesId++;
  }

  /**
   * Send a declaration; before the thread connects, hold it until it does. `metric` names the metric a
   * label set belongs to, for the error a label set too large for the ring throws.
   */
  declare(word0: number, payload: Uint8Array, metric?: string): void {
    if (this.#ring === undefined && this.#buffer === undefined) this.#tryWorkerData();
    if (this.#ring !== undefined) {
      checkDeclarationSize(payload, this.#ringCapacity, metric);
      this.#ring.declare(word0, payload);
    } else if (this.#buffer === undefined) {
      this.#pending.push({ word0, payload, metric });
    }
    // Connected without a slot: nothing is written; observations are counted as dropped.
  }

  #tryWorkerData(): boolean {
    if (this.#buffer === undefined && !this.#triedWorkerData) {
      this.#triedWorkerData = true;
      const handle = findHandle(workerData);
      if (handle !== undefined) this.connect(handle);
    }
    return this.#buffer !== undefined;
  }

  #attach(handle: HubHandle, layout: Layout): void {
    const words = new Uint32Array(handle.buffer);
    // Declarations made before connecting were not checked against this ring: check them before taking
    // a slot, so a declaration that cannot fit never reaches (and wedges) the ring; connect() throws.
    for (const { payload, metric } of this.#pending) checkDeclarationSize(payload, layout.ringCapacity, metric);
    this.#buffer = handle.buffer;
    this.#maxSeries = typeof handle.maxSeries === "number" ? handle.maxSeries : kDefaultMaxSeries;
    this.#ringCapacity = layout.ringCapacity;
    const slot = claimSlot(words, layout, handle.slots);
    if (slot < 0) {
      // Every record is counted as dropped in the control buffer (kUnslottedDropsWord).
      this.writer.attachSlotless(handle.buffer);
      this.#pending = [];
      return;
    }
    this.#slot = slot;
    const ring = this.writer;
    ring.attach({
      control: handle.buffer,
      headerByte: layout.ringHeaderByte(slot),
      data: handle.slots[slot] as SharedArrayBuffer,
      capacity: layout.ringCapacity,
      overflowCapacity: layout.overflowCapacity,
      overflowLimit: handle.overflowRecords,
      // The main thread never waits: it would wait for itself, since it is the one that drains.
      maxWaitMs: isMainThread ? 0 : handle.overflowWaitMs,
      beforePublish: this.#testHooks.beforePublish,
    });
    this.#ring = ring;
    this.exemplarTable = new ExemplarTableWriter(handle.slots[slot] as SharedArrayBuffer, layout.exemplarTableByte);
    for (const { word0, payload } of this.#pending) ring.declare(word0, payload);
    this.#pending = [];
    const stateWord = layout.slotWord(slot) + kSlotState;
    process.once("exit", () => {
      // Every record is in shared memory already; only declarations that found no room (nowhere to wait)
      // may wait here, and no published record depends on them. Written if there is room, without waiting.
      ring.flush(false);
      // Why a store: tells a hub that was not told of this exit (nothing attached) that the slot's owner
      // is gone for good; everything written before it is published already.
      Atomics.store(words, stateWord, kSlotExited);
      // From here on the ring is not ours: the hub may hand it to another thread at once. Exit listeners
      // registered after this one may still record; those records are counted as lost, never written.
      // Later records are counted in the control buffer (kLateDropsWord).
      this.#ring = undefined;
      // Exemplars made later travel through the ring path, which writes nothing from here on.
      this.exemplarTable = undefined;
      ring.detach();
    });
  }
}

/**
 * Throw at the recording call when a declaration is larger than a ring of `ringCapacity` records takes
 * (only a label set can be: a metric's own declaration and an exemplar are bounded smaller).
 */
function checkDeclarationSize(payload: Uint8Array, ringCapacity: number, metric: string | undefined): void {
  const max = maxDeclarationBytes(ringCapacity);
  if (payload.length > max) {
    throw new RecordingError(
      ErrorCodes.DECLARATION_TOO_LARGE,
      `${metric === undefined ? "A label set" : `Metric "${metric}": a label set`} encodes to ${payload.length} bytes; the hub's ring takes declarations of at most ${max} bytes (a quarter of ringBytes). Shorten the label values, or raise the hub's ringBytes`,
    );
  }
}

/**
 * Claim the first free slot and grow its data buffer to hold the ring; returns -1 when every slot is
 * taken (or no memory is left to grow one).
 */
function claimSlot(words: Uint32Array, layout: Layout, buffers: SharedArrayBuffer[]): number {
  for (let slot = 0; slot < layout.slotCount; slot++) {
    const base = layout.slotWord(slot);
    // Why compareExchange: several workers may race for one slot; exactly one sees FREE and wins.
    if (Atomics.compareExchange(words, base + kSlotState, kSlotFree, kSlotClaiming) !== kSlotFree) continue;
    const data = buffers[slot] as SharedArrayBuffer;
    try {
      // The first owner of a slot grows its buffer to hold the ring; later owners find it grown. Nobody
      // else touches the buffer while the slot is CLAIMING.
      if (data.byteLength < layout.ringBytes) data.grow(layout.ringBytes);
    } catch {
      // Why a store: gives the slot back untouched; no memory is left for its ring.
      Atomics.store(words, base + kSlotState, kSlotFree);
      return -1;
    }
    raiseHighWater(words, slot + 1);
    // Why the two stores in this order: the hub matches exit events by threadId, and starts reading the
    // ring only once the state says CLAIMED, which it reads after the threadId.
    Atomics.store(words, base + kSlotThreadId, threadId);
    Atomics.store(words, base + kSlotState, kSlotClaimed);
    return slot;
  }
  return -1;
}

/** Raise the slot high-water mark to at least `count`, so the hub's scans reach the slot just claimed. */
function raiseHighWater(words: Uint32Array, count: number): void {
  for (;;) {
    const seen = Atomics.load(words, kSlotHighWaterWord);
    if (seen >= count) return;
    // Why compareExchange: claimers of other slots may raise the mark at the same time; the largest wins.
    if (Atomics.compareExchange(words, kSlotHighWaterWord, seen, count) === seen) return;
  }
}

/**
 * The key of this thread's runtime on `globalThis`: registered, so every copy of this module a thread
 * loads (the bundled worker entry, a module imported one by one) finds the same runtime, and the thread
 * has one slot and one set of metric ids.
 */
const kRuntime = Symbol.for("prom-threads.worker.runtime");

/** This thread's runtime: one per thread, whatever copy of this module created it. */
const shared = globalThis as { [kRuntime]?: Runtime };
if (shared[kRuntime] === undefined) shared[kRuntime] = new Runtime();
export const runtime: Runtime = shared[kRuntime];
