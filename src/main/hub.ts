/**
 * The MetricsHub: owns the shared memory, drains every worker's ring into prom-client, and follows
 * workers' lives.
 * @module
 */
import { EventEmitter } from "node:events";
import type { Registry } from "prom-client";
import { ConfigurationError, ConnectionError, ErrorCodes, PromThreadsError, ProtocolError } from "../shared/api/errors.js";
import { WORKER_DATA_KEY, findHandle, type HubHandle, type HubWorkerData } from "../shared/transport/handle.js";
import {
  kExemplarHeaderBytes,
  kExemplarTableMaxBytes,
  Layout,
  SLOT_CLAIMED,
  SLOT_EXITED,
  SLOT_FREE,
  kDoorbellWord,
  kLayoutVersion,
  kMagic,
  kMagicWord,
  kOverflowCapacityWord,
  kRingCapacityWord,
  kSlotCountWord,
  kSlotHighWaterWord,
  kSlotState,
  kSlotThreadId,
  kLateDropsWord,
  kUnslottedDropsWord,
  kVersionWord,
  kReadIndex,
  kWriteIndex,
} from "../shared/transport/layout.js";
import { SlotReader } from "../shared/transport/slot-reader.js";
import { ExemplarTableReader } from "../shared/transport/exemplar-table.js";
import type { MetricDeclaration } from "../shared/model/types.js";
import { OVERFLOW_LABEL_VALUE } from "../shared/model/limits.js";
import { declarationDifference, normalizeDeclaration } from "../shared/model/validation.js";
import { AttachedTargets, isPool, type AttachTarget } from "./attach.js";
import type { BridgeMetric } from "./bridge/bridge-metric.js";
import { BridgeCounter } from "./bridge/counter.js";
import { BridgeGauge } from "./bridge/gauge.js";
import { BridgeHistogram } from "./bridge/histogram.js";
import { BridgeSummary } from "./bridge/summary.js";
import { resolveHubOptions, type MetricsHubOptions, type ResolvedHubOptions } from "./options.js";
import { PoolMetrics, type PoolStatus, type ObservablePool, type PoolAttachOptions } from "./pool-metrics.js";
import { SelfMetrics } from "./self-metrics.js";
import { SlotDrain } from "./slot-drain.js";
import { Reporter } from "./reporter.js";
import { Tally, type DropReason } from "./tally.js";

/** Distinct metric names `prom_threads_declaration_conflicts_total` labels; more count as `__overflow__`. */
const kConflictMetricLabels = 100;

/** A snapshot of the hub's state, for status pages and logs. */
export interface HubStats {
  /** Worker threads that own a ring now. */
  workersConnected: number;
  /**
   * Connected worker threads whose Worker object the hub cannot see (created before the hub, or inside
   * another worker, and not attached): if one is terminated, its slot and gauge values stay until the
   * hub closes. Reported once (`ERR_PROM_THREADS_WORKER_UNFOLLOWED`).
   */
  workersUnfollowed: number;
  /** Slots in the hub (`maxWorkers`). */
  maxWorkers: number;
  /** Records per ring. */
  ringCapacity: number;
  /** Fill of the fullest ring now, from 0 to 1. */
  ringFill: number;
  /** Records waiting in the overflows of workers whose ring was full, not drained yet. */
  overflowRecords: number;
  /**
   * Bytes of shared memory in use: the control buffer and every slot buffer as far as its workers grew
   * it. Grows with the workers actually connected; a slot's buffer is reused by its next owner.
   */
  sharedMemoryBytes: number;
  /** Observation records applied to metrics so far. */
  recordsDrained: number;
  /** Observation records dropped so far, by reason. */
  recordsDropped: Record<DropReason, number>;
  /** Metrics declared by workers. */
  metrics: number;
}

/** Events of a {@link MetricsHub}. */
export interface MetricsHubEvents {
  /** A problem the hub handled (a conflicting declaration, no free slot, a malformed record). */
  error: [PromThreadsError];
}

interface Entry {
  declaration: MetricDeclaration;
  metric: BridgeMetric | null;
}

type ListMetrics = (...args: unknown[]) => unknown[];

/** The registry methods the hub wraps; typed loosely so prom-client's own typing does not matter. */
interface RegistryWithHook {
  getMetricsAsArray: ListMetrics;
  resetMetrics?: (...args: unknown[]) => unknown;
}

/**
 * Aggregate metrics recorded in worker threads into a prom-client registry.
 *
 * Counters, histograms and summaries accumulate here, so they never go down when a worker exits; gauges
 * combine the values of live workers. Every `registry.metrics()` call drains every worker's ring and
 * overflow first, so it includes every observation whose call returned before it began, whatever the
 * worker does afterwards (parked, busy, exited or terminated). Every observation is counted or counted as
 * dropped: see docs/guarantees.md.
 *
 * The hub follows every Worker the main thread creates after it (Node's process `worker` event), so a
 * terminated worker frees its slot and its gauge values at once, attached or not. `attach()` adds a
 * piscina pool's own metrics, and follows Workers the hub cannot see being created (made before the hub,
 * or handed over from elsewhere).
 *
 * @example
 * import { MetricsHub } from "prom-threads";
 * import { Piscina } from "piscina";
 * const hub = new MetricsHub();
 * const pool = new Piscina({ filename: "./task.js", workerData: { ...hub.workerData } });
 * hub.attach(pool);
 * // register.metrics() now includes what the pool's workers record.
 */
export class MetricsHub extends EventEmitter<MetricsHubEvents> {
  /** The registry the aggregated metrics live in. */
  readonly registry: Registry;
  readonly #options: ResolvedHubOptions;
  readonly #buffer: SharedArrayBuffer;
  readonly #slotBuffers: SharedArrayBuffer[];
  readonly #exemplarTables: SharedArrayBuffer[];
  readonly #words: Uint32Array;
  readonly #control: Int32Array;
  readonly #layout: Layout;
  /** Drain state of each slot, made when the slot is first claimed (its ring exists from then on). */
  readonly #slots: Array<SlotDrain | undefined> = [];
  readonly #handle: HubHandle;
  readonly #metrics = new Map<string, Entry>();
  readonly #conflicts = new Map<string, number>();
  /** Label sets folded into each metric's overflow series, by metric name. */
  readonly #seriesOverflow = new Map<string, number>();
  readonly #reporter = new Reporter(this);
  #metricLimitRefusals = 0;
  readonly #tally = new Tally();
  readonly #gaugeClock = { seq: 0 };
  readonly #targets: AttachedTargets;
  #poolMetrics: PoolMetrics | undefined;
  readonly #selfMetrics: SelfMetrics | undefined;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #unhookRegistry: () => void;
  readonly #stopFollowingProcess: () => void;
  #lastUnslotted = 0;
  #lastLate = 0;
  #ringFillWindow = 0;
  #draining = false;
  /** A background drain left records and has its next step scheduled. */
  #chunkScheduled = false;
  /** Set by a drain, cleared at the next microtask checkpoint: see {@link #drainForCollect}. */
  #drainedThisTurn = false;
  #closed = false;

  /** Allocate the shared memory and start draining. Throws a ConfigurationError for invalid options. */
  constructor(options?: MetricsHubOptions) {
    super();
    this.#options = resolveHubOptions(options);
    this.registry = this.#options.registry;
    this.#layout = new Layout(this.#options.maxWorkers, this.#options.ringCapacity, this.#options.overflowCapacity);
    this.#buffer = new SharedArrayBuffer(this.#layout.controlBytes);
    this.#words = new Uint32Array(this.#buffer);
    this.#control = new Int32Array(this.#buffer);
    this.#writeHeader();
    // Empty, growable buffers: only their address range is reserved now. The worker that claims a slot
    // grows its buffer to hold the ring, and further only if it needs its overflow.
    this.#slotBuffers = Array.from({ length: this.#layout.slotCount }, () => new SharedArrayBuffer(0, { maxByteLength: this.#layout.slotBufferMaxBytes }));
    // A header line each; grown by a slot's owner at its first exemplar only.
    this.#exemplarTables = Array.from({ length: this.#layout.slotCount }, () => new SharedArrayBuffer(kExemplarHeaderBytes, { maxByteLength: kExemplarTableMaxBytes }));
    this.#handle = {
      kind: "prom-threads/hub",
      version: kLayoutVersion,
      buffer: this.#buffer,
      slots: this.#slotBuffers,
      exemplarTables: this.#exemplarTables,
      overflowRecords: this.#options.overflowRecords,
      maxSeries: this.#options.maxSeries,
      overflowWaitMs: this.#options.overflowWaitMs,
    };
    this.#targets = new AttachedTargets((threadId) => this.#threadExited(threadId));
    // Every Worker this thread creates from now on is followed to its exit, attached or not.
    this.#stopFollowingProcess = this.#targets.followProcessWorkers();
    this.#selfMetrics = this.#options.selfMetrics ? new SelfMetrics(this.registry, this.#selfMetricsSource()) : undefined;
    this.#unhookRegistry = this.#hookRegistry();
    this.#timer = setInterval(() => this.#drainInBackground(), this.#options.drainIntervalMs);
    this.#timer.unref();
    this.#armDoorbell();
  }

  /**
   * The plain, structured-cloneable object to pass as (or spread into) the `workerData` of a Worker or a
   * piscina pool. Worker code then needs no setup: `prom-threads/worker` finds the hub in it.
   */
  get workerData(): HubWorkerData {
    return { [WORKER_DATA_KEY]: this.#handle };
  }

  /** The hub handle alone, for `connect(handle)` in workers that get it another way (e.g. postMessage). */
  get handle(): HubHandle {
    return this.#handle;
  }

  /** Whether {@link close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Follow the lives of a Worker or of a piscina pool's workers, so that an exited or terminated worker's
   * slot and gauge values are released at once. Returns a function that stops following.
   *
   * A piscina pool also gets its `prom_threads_pool_*` metrics, labelled with `options.name`: its
   * `pool.run()` is instrumented (see {@link PoolAttachOptions} and docs/pool-metrics.md).
   *
   * @example
   * const detach = hub.attach(pool, { name: "images" });
   */
  attach(target: AttachTarget, options?: PoolAttachOptions): () => void {
    this.#assertOpen();
    let stopPool: (() => void) | undefined;
    if (isPool(target) && typeof (target as Partial<ObservablePool>).run === "function") {
      this.#poolMetrics ??= new PoolMetrics(this.registry);
      stopPool = this.#poolMetrics.attach(target as unknown as ObservablePool, options);
      if (options?.wrapTasks !== false) this.#checkPoolWorkerData(target as unknown as { options?: { workerData?: unknown; name?: string } }, options?.name);
    } else if (options !== undefined) {
      throw new ConfigurationError(ErrorCodes.INVALID_OPTION, "options of hub.attach() apply to piscina pools; a Worker takes none");
    }
    const stopExits = this.#targets.attach(target);
    return () => {
      stopExits();
      stopPool?.();
    };
  }

  /** Drain every ring now. Resolves when every observation published before the call is in the registry. */
  async collect(): Promise<void> {
    this.#assertOpen();
    this.drainSync();
  }

  /**
   * Drain every ring synchronously. This is what scrapes, the timer and {@link collect} call; it is
   * exposed for code that cannot await.
   */
  drainSync(): void {
    this.#drain(Infinity);
  }

  /**
   * Drain every slot, at most `budget` records of each (a scrape drains everything: `Infinity`).
   * @returns `true` when records were left for a next drain.
   */
  #drain(budget: number): boolean {
    if (this.#closed || this.#draining) return false;
    this.#draining = true;
    if (budget === Infinity && !this.#drainedThisTurn) {
      this.#drainedThisTurn = true;
      queueMicrotask(() => {
        this.#drainedThisTurn = false;
      });
    }
    const start = performance.now();
    let left = false;
    try {
      // Pick up pool workers created since the last look, before they can exit unseen.
      this.#targets.scan();
      const highWater = this.#slotHighWater();
      for (let slot = 0; slot < highWater; slot++) if (this.#drainSlot(slot, budget)) left = true;
      this.#countUnslotted();
    } finally {
      this.#draining = false;
    }
    this.#selfMetrics?.observeDrain((performance.now() - start) / 1000);
    return left;
  }

  /**
   * The timer's and the doorbell's drain: at most a ring's worth of records per slot, then, if more is
   * waiting (a worker's overflow under load), again at the next turn of the event loop. A backlog of a
   * million records is taken in short steps, between which the event loop serves scrapes and I/O; a
   * scrape itself still drains everything published before it.
   */
  #drainInBackground(): void {
    if (!this.#drain(this.#layout.ringCapacity) || this.#chunkScheduled) return;
    this.#chunkScheduled = true;
    setImmediate(() => {
      this.#chunkScheduled = false;
      this.#drainInBackground();
    }).unref();
  }

  /**
   * The drain a metric's `get()` or a self-metric's `collect` asks for. A scrape calls every metric's
   * `get()` synchronously, right after the registry hook drained everything published before the scrape
   * began; draining again for each metric would only add records published during the scrape, at the
   * cost of one full drain per metric, which under overload multiplies the scrape's time. So these drain
   * only when no drain ran yet in the current synchronous turn (a lone `getSingleMetricAsString()` does).
   */
  #drainForCollect(): void {
    if (!this.#drainedThisTurn) this.drainSync();
  }

  /** Return the hub's state now. */
  stats(): HubStats {
    let ringFill = 0;
    let overflowRecords = 0;
    for (const slot of this.#slots) {
      if (slot === undefined || !slot.active) continue;
      ringFill = Math.max(ringFill, slot.fill());
      overflowRecords += slot.overflowPending();
    }
    return {
      workersConnected: this.#connectedWorkers(),
      workersUnfollowed: this.#unfollowedWorkers(),
      maxWorkers: this.#layout.slotCount,
      ringCapacity: this.#layout.ringCapacity,
      ringFill,
      overflowRecords,
      sharedMemoryBytes: this.#sharedMemoryBytes(),
      recordsDrained: this.#tally.drained,
      recordsDropped: { ...this.#tally.dropped },
      metrics: this.#metrics.size,
    };
  }

  /**
   * @internal For the status page: the owner and ring fill of each slot up to the highest ever claimed (and
   * at least `minSlots`; slots above it were never used), and the attached pools, read without draining
   * (the fills are as of now; counts are as of the last drain).
   */
  statusSources(minSlots = 0): { slots: { inUse: boolean; threadId: number | null; fill: number }[]; pools: PoolStatus[] } {
    const slots: { inUse: boolean; threadId: number | null; fill: number }[] = [];
    const count = Math.min(this.#layout.slotCount, Math.max(minSlots, this.#slotHighWater()));
    for (let index = 0; index < count; index++) {
      const word = this.#layout.slotWord(index);
      // Relaxed readings, as for the connected count: a worker may claim or leave the slot right after.
      const inUse = Atomics.load(this.#words, word + kSlotState) === SLOT_CLAIMED;
      const threadId = inUse ? Atomics.load(this.#words, word + kSlotThreadId) : null;
      slots.push({ inUse, threadId, fill: inUse ? (this.#slots[index]?.fill() ?? 0) : 0 });
    }
    return { slots, pools: this.#poolMetrics?.status() ?? [] };
  }

  /**
   * Drain one last time, stop, and remove the hub's metrics from the registry. Workers still running
   * afterwards drop what they record. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.drainSync();
    this.#closed = true;
    clearInterval(this.#timer);
    this.#stopFollowingProcess();
    this.#targets.detachAll();
    this.#poolMetrics?.close();
    // Why add and notify: wakes the pending Atomics.waitAsync so the doorbell loop sees `closed` and ends.
    Atomics.add(this.#control, kDoorbellWord, 1);
    Atomics.notify(this.#control, kDoorbellWord);
    this.#unhookRegistry();
    for (const [name, entry] of this.#metrics) {
      if (entry.metric !== null) this.registry.removeSingleMetric(name);
    }
    this.#selfMetrics?.unregister();
  }

  /** @internal Called by a slot for each metric declaration. Never throws. */
  resolveMetric(raw: unknown): BridgeMetric | null {
    let declaration: MetricDeclaration;
    try {
      const type = (raw as { type?: unknown } | null)?.type;
      if (type !== "counter" && type !== "gauge" && type !== "histogram" && type !== "summary") throw new Error(`unknown type ${String(type)}`);
      declaration = normalizeDeclaration(type, raw);
    } catch (error) {
      this.reportMalformed(`an invalid metric declaration (${(error as Error).message})`, 1);
      return null;
    }
    const entry = this.#metrics.get(declaration.name);
    if (entry !== undefined) {
      const difference = declarationDifference(entry.declaration, declaration);
      if (difference === undefined) return entry.metric;
      this.#conflict(declaration.name, `a worker declared metric "${declaration.name}" again with ${difference}; the first declaration wins and the records of the other are dropped`);
      return null;
    }
    if (this.#metrics.size >= this.#options.maxMetrics) {
      this.#metricLimitRefusals++;
      this.#report(
        new ConfigurationError(
          ErrorCodes.METRIC_LIMIT,
          `prom-threads: the hub holds its limit of ${this.#options.maxMetrics} worker metrics (maxMetrics); metric "${declaration.name}" and further new ones are refused, their records dropped as declaration_conflict. Raise maxMetrics, or stop making metric names from data`,
        ),
        "metric-limit",
      );
      return null;
    }
    const drain = (): void => this.#drainForCollect();
    let metric: BridgeMetric;
    try {
      // prom-client may refuse a configuration the declaration's checks let through; that is this
      // declaration's failure, never the drain's.
      metric = createBridge(declaration, drain);
    } catch (error) {
      this.reportMalformed(`a metric declaration prom-client refused (${(error as Error).message})`, 1);
      return null;
    }
    metric.limitSeries(this.#options.maxSeries, (folded, count) => this.#seriesOverflowed(folded, count));
    try {
      metric.register(this.registry);
    } catch (error) {
      this.#metrics.set(declaration.name, { declaration, metric: null });
      this.#conflict(declaration.name, `metric "${declaration.name}" declared by a worker is already registered in the hub's registry by other code (${(error as Error).message}); its records are dropped`);
      return null;
    }
    this.#metrics.set(declaration.name, { declaration, metric });
    return metric;
  }

  /** @internal Called by a slot, at most once per drain, for what it could not understand. */
  reportMalformed(detail: string, count: number): void {
    const what = count === 1 ? detail : `${count} records or declarations that made no sense, the first ${detail}`;
    this.#report(new ProtocolError(ErrorCodes.MALFORMED_RECORD, `prom-threads: a worker ring held ${what}; dropped`), "malformed");
  }

  /** @internal Called by a slot once, when it stops reading a worker that sent too many malformed records. */
  reportQuarantined(threadId: number, count: number): void {
    this.#report(
      new ProtocolError(
        ErrorCodes.SLOT_QUARANTINED,
        `prom-threads: worker thread ${threadId} sent ${count} malformed records; its slot is quarantined: everything it publishes from now on is dropped and counted as malformed, until it exits`,
      ),
      `quarantined:${threadId}`,
    );
  }

  /** Drain one slot (at most `budget` records); `true` when records were left. */
  #drainSlot(index: number, budget: number): boolean {
    const stateWord = this.#layout.slotWord(index) + kSlotState;
    // Acquire: once the state says CLAIMED, the owner's threadId, its grown buffer and first records are
    // visible.
    const state = Atomics.load(this.#words, stateWord);
    if (state !== SLOT_CLAIMED && state !== SLOT_EXITED) return false;
    const slot = this.#slots[index] ?? this.#openSlot(index);
    if (!slot.active) {
      slot.active = true;
      slot.threadId = Atomics.load(this.#words, this.#layout.slotWord(index) + kSlotThreadId);
      if (this.#isUnfollowed(slot)) this.#reportUnfollowed(slot.threadId);
    }
    const fill = slot.fill();
    if (fill > this.#ringFillWindow) this.#ringFillWindow = fill;
    // The owner marked its exit: release() drains everything it left, whatever the budget.
    if (state === SLOT_EXITED) {
      this.#releaseSlot(index);
      return false;
    }
    return slot.drain(budget);
  }

  /** Make the drain state of a slot whose owner grew its buffer to hold the ring. */
  #openSlot(index: number): SlotDrain {
    const reader = new SlotReader({
      control: this.#buffer,
      headerByte: this.#layout.ringHeaderByte(index),
      data: this.#slotBuffers[index] as SharedArrayBuffer,
      capacity: this.#layout.ringCapacity,
      overflowCapacity: this.#layout.overflowCapacity,
    });
    const exemplars = new ExemplarTableReader(this.#exemplarTables[index] as SharedArrayBuffer);
    const slot = new SlotDrain(reader, this, this.#tally, this.#gaugeClock, exemplars);
    this.#slots[index] = slot;
    return slot;
  }

  #releaseSlot(index: number): void {
    (this.#slots[index] ?? this.#openSlot(index)).release();
    // Why a store: hands the slot back; a worker's compareExchange may claim it from now on, and sees the
    // clean ring header written by release() before this store.
    Atomics.store(this.#words, this.#layout.slotWord(index) + kSlotState, SLOT_FREE);
  }

  #threadExited(threadId: number): void {
    if (this.#closed) return;
    const highWater = this.#slotHighWater();
    for (let index = 0; index < highWater; index++) {
      const base = this.#layout.slotWord(index);
      // The dead thread's last stores are visible to these loads. A slot in any other state than CLAIMED
      // or EXITED is free, or being claimed by another thread that has not written its threadId yet (the
      // word may still name the dead thread, its previous owner): it is not the dead thread's to release.
      // The state is read first: a claimer stores its threadId before CLAIMED.
      const state = Atomics.load(this.#words, base + kSlotState);
      if (state !== SLOT_CLAIMED && state !== SLOT_EXITED) continue;
      if (Atomics.load(this.#words, base + kSlotThreadId) !== threadId) continue;
      this.#releaseSlot(index);
    }
  }

  #countUnslotted(): void {
    // Acquire load of a counter that exiting workers increment with Atomics.add.
    const late = Atomics.load(this.#words, kLateDropsWord);
    if (late !== this.#lastLate) {
      this.#tally.dropped.worker_exit += (late - this.#lastLate) >>> 0;
      this.#lastLate = late;
    }
    // Acquire load of a counter that slotless workers increment with Atomics.add.
    const unslotted = Atomics.load(this.#words, kUnslottedDropsWord);
    if (unslotted === this.#lastUnslotted) return;
    this.#tally.dropped.no_slot += (unslotted - this.#lastUnslotted) >>> 0;
    this.#lastUnslotted = unslotted;
    this.#report(
      new ConnectionError(
        ErrorCodes.NO_FREE_SLOT,
        `prom-threads: every one of the hub's ${this.#layout.slotCount} worker slots is taken; records of workers without a slot are dropped. Raise options.maxWorkers, or attach() your pools so exited workers free their slots`,
      ),
      "no_slot",
    );
  }

  #seriesOverflowed(metric: BridgeMetric, count: number): void {
    const previous = this.#seriesOverflow.get(metric.name);
    this.#seriesOverflow.set(metric.name, (previous ?? 0) + count);
    if (previous !== undefined) return;
    // Once per metric, listeners or not: a cardinality explosion must not flood the error event.
    const labels = metric.labelNames.map((name) => `${name}="${OVERFLOW_LABEL_VALUE}"`).join(",");
    this.#report(
      new ConfigurationError(
        ErrorCodes.SERIES_LIMIT,
        `prom-threads: metric "${metric.name}" reached its limit of label sets (maxSeries); further label sets are folded into the series {${labels}} and counted in prom_threads_series_overflow_total{metric="${metric.name}"}. Remove the unbounded label, or raise maxSeries`,
      ),
      `series-limit:${metric.name}`,
    );
  }

  #conflict(metric: string, message: string): void {
    // A bounded label set: past kConflictMetricLabels names, conflicts count under one overflow name.
    const label = this.#conflicts.has(metric) || this.#conflicts.size < kConflictMetricLabels ? metric : OVERFLOW_LABEL_VALUE;
    this.#conflicts.set(label, (this.#conflicts.get(label) ?? 0) + 1);
    this.#report(new ProtocolError(ErrorCodes.DECLARATION_CONFLICT, `prom-threads: ${message}`), `conflict:${message}`);
  }

  /** Emit `error` when someone listens, otherwise warn; bounded per code either way (see reporter.ts). */
  #report(error: PromThreadsError, key: string): void {
    this.#reporter.report(error, key);
  }

  /** Warn when a pool's workers cannot find this hub: their task timings and thread metrics would be missing. */
  #checkPoolWorkerData(pool: { options?: { workerData?: unknown; name?: string } }, name: string | undefined): void {
    if (findHandle(pool.options?.workerData)?.buffer === this.#buffer) return;
    const label = name ?? pool.options?.name ?? "default";
    this.#report(
      new ConfigurationError(
        ErrorCodes.INVALID_OPTION,
        `prom-threads: the workerData of pool "${label}" does not carry this hub's hub.workerData, so its workers cannot record task wait and run times or thread metrics; create the pool with workerData: { ...hub.workerData }`,
      ),
      `pool-worker-data:${label}`,
    );
  }

  /** One more than the highest slot ever claimed: slots above it were never used. */
  #slotHighWater(): number {
    // Acquire load of a mark claimers raise before they publish their slot as CLAIMED.
    return Math.min(this.#layout.slotCount, Atomics.load(this.#words, kSlotHighWaterWord));
  }

  #sharedMemoryBytes(): number {
    let bytes = this.#buffer.byteLength;
    const highWater = this.#slotHighWater();
    for (let index = 0; index < highWater; index++) bytes += (this.#slotBuffers[index] as SharedArrayBuffer).byteLength;
    return bytes;
  }

  /** A worker the hub cannot follow to its exit: not the main thread (which outlives the hub), not followed. */
  #isUnfollowed(slot: SlotDrain): boolean {
    return slot.threadId !== 0 && !this.#targets.follows(slot.threadId);
  }

  #unfollowedWorkers(): number {
    let count = 0;
    for (const slot of this.#slots) if (slot !== undefined && slot.active && this.#isUnfollowed(slot)) count++;
    return count;
  }

  #reportUnfollowed(threadId: number): void {
    this.#report(
      new ConfigurationError(
        ErrorCodes.WORKER_UNFOLLOWED,
        `prom-threads: worker thread ${threadId} connected to the hub, but the hub cannot see its Worker object (it was created before the hub, or inside another worker). Its records are counted; but if it is terminated, its slot and gauge values stay until the hub closes. Call hub.attach(worker) in the thread that created it, or create the hub first`,
      ),
      "worker-unfollowed",
    );
  }

  #connectedWorkers(): number {
    let count = 0;
    const highWater = this.#slotHighWater();
    for (let index = 0; index < highWater; index++) {
      // A relaxed reading is enough for a count that is stale the moment it is returned.
      if (Atomics.load(this.#words, this.#layout.slotWord(index) + kSlotState) === SLOT_CLAIMED) count++;
    }
    return count;
  }

  #selfMetricsSource() {
    return {
      tally: this.#tally,
      conflicts: this.#conflicts,
      seriesOverflow: this.#seriesOverflow,
      drain: () => this.#drainForCollect(),
      connectedWorkers: () => this.#connectedWorkers(),
      slotUsage: () => ({ unfollowed: this.#unfollowedWorkers(), sharedMemoryBytes: this.#sharedMemoryBytes() }),
      takeRingFill: () => {
        const fill = this.#ringFillWindow;
        this.#ringFillWindow = 0;
        return fill;
      },
    };
  }

  #writeHeader(): void {
    const words = this.#words;
    // No worker has the buffer yet; plain stores would do, Atomics.store states the words are shared.
    Atomics.store(words, kMagicWord, kMagic);
    Atomics.store(words, kVersionWord, kLayoutVersion);
    Atomics.store(words, kSlotCountWord, this.#layout.slotCount);
    Atomics.store(words, kRingCapacityWord, this.#layout.ringCapacity);
    Atomics.store(words, kOverflowCapacityWord, this.#layout.overflowCapacity);
    const start = this.#options.ringStartIndex >>> 0;
    if (start !== 0) {
      for (let slot = 0; slot < this.#layout.slotCount; slot++) {
        const header = this.#layout.ringHeaderByte(slot) / 4;
        Atomics.store(words, header + kWriteIndex, start);
        Atomics.store(words, header + kReadIndex, start);
      }
    }
  }

  /**
   * Drain before the registry lists its metrics, so a metric whose declaration is still in a ring is
   * listed in this very scrape (each metric's own `get()` drains too, but the list is made before that).
   */
  #hookRegistry(): () => void {
    const registry = this.registry as unknown as RegistryWithHook;
    const original = registry.getMetricsAsArray;
    if (typeof original !== "function") return () => {};
    const hub = this;
    const hooked = function getMetricsAsArray(this: unknown, ...args: unknown[]): unknown[] {
      hub.drainSync();
      return original.apply(this, args);
    };
    registry.getMetricsAsArray = hooked;
    // resetMetrics() drains first too: records made before it are reset with it, not counted after it.
    const originalReset = registry.resetMetrics;
    const hookedReset = function resetMetrics(this: unknown, ...args: unknown[]): unknown {
      hub.drainSync();
      return originalReset?.apply(this, args);
    };
    if (typeof originalReset === "function") registry.resetMetrics = hookedReset;
    // Restore only if nobody wrapped them after us; otherwise our wrappers stay and drain a closed hub,
    // which returns at once.
    return () => {
      if (registry.getMetricsAsArray === hooked) registry.getMetricsAsArray = original;
      if (registry.resetMetrics === hookedReset) registry.resetMetrics = originalReset as ListMetrics;
    };
  }

  #armDoorbell(seen: number = Atomics.load(this.#control, kDoorbellWord)): void {
    if (this.#closed) return;
    // Why waitAsync: a worker whose ring passes half full adds to the doorbell word and notifies; the hub
    // wakes and drains at once instead of at the next tick. A pending waitAsync does not keep Node alive.
    // `seen` was loaded before the last drain: a ring during that drain changed the word, so the wait
    // returns at once and the hub drains again (a wake-up is never lost between drain and wait).
    const result = Atomics.waitAsync(this.#control, kDoorbellWord, seen);
    const next = (): void => {
      if (this.#closed) return;
      // Acquire load of the word workers add to, before the drain it is meant to cover.
      const before = Atomics.load(this.#control, kDoorbellWord);
      this.#drainInBackground();
      this.#armDoorbell(before);
    };
    if (result.async) void result.value.then(next);
    else setImmediate(next);
  }

  #assertOpen(): void {
    if (this.#closed) throw new ConfigurationError(ErrorCodes.HUB_CLOSED, "This MetricsHub is closed");
  }
}

function createBridge(declaration: MetricDeclaration, drain: () => void): BridgeMetric {
  switch (declaration.type) {
    case "counter":
      return new BridgeCounter(declaration, drain);
    case "gauge":
      return new BridgeGauge(declaration, drain);
    case "histogram":
      return new BridgeHistogram(declaration, drain);
    case "summary":
      return new BridgeSummary(declaration, drain);
  }
}


