/**
 * The MetricsHub: owns the shared memory, drains every worker's ring into prom-client, and follows
 * workers' lives.
 * @module
 */
import { EventEmitter } from "node:events";
import type { Registry } from "prom-client";
import { ConfigurationError, ErrorCodes, type PromThreadsError } from "../shared/api/errors.js";
import { kWorkerDataKey, findHandle, type HubHandle, type HubWorkerData } from "../shared/transport/handle.js";
import { AttachedTargets, isPool, type AttachTarget } from "./attach.js";
import { MetricCatalogue } from "./hub/catalogue.js";
import { registerScrapeAccess, registerStatusSources, registerWorkerMetrics } from "./hub/internal.js";
import { HubMemory } from "./hub/memory.js";
import { HubReports } from "./hub/reports.js";
import { DrainScheduler, type DrainWork } from "./hub/scheduler.js";
import { HistogramArena } from "./bridge/binding.js";
import { BridgeMetric } from "./bridge/bridge-metric.js";
import { SlotTable, type SlotMark } from "./hub/slots.js";
import { resolveHubOptions, type MetricsHubOptions } from "./options.js";
import { PoolMetrics, type ObservablePool, type PoolAttachOptions } from "./pool-metrics.js";
import { histogramPromText } from "./prom-text.js";
import { hookRegistry, type RegistryMethod } from "./registry-hook.js";
import { SelfMetrics } from "./self-metrics.js";
import { Tally, type DropReason } from "./tally.js";

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
  /** Metrics declared by workers that the hub accepted (at most `maxMetrics`). */
  metrics: number;
  /**
   * Slots quarantined so far, each counted once per occurrence: their entry in the shared slot table was
   * impossible (a state, or a claimed slot's buffer, that prom-threads never writes), so the hub did not
   * read them. Reported as `ERR_PROM_THREADS_SLOT_QUARANTINED`. See docs/guarantees.md.
   */
  slotsQuarantined: number;
}

/** Events of a {@link MetricsHub}. */
export interface MetricsHubEvents {
  /** A problem the hub handled (a conflicting declaration, no free slot, a malformed record). */
  error: [PromThreadsError];
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
  readonly #memory: HubMemory;
  readonly #reports: HubReports;
  readonly #tally = new Tally();
  readonly #catalogue: MetricCatalogue;
  readonly #slots: SlotTable;
  readonly #scheduler: DrainScheduler;
  readonly #targets: AttachedTargets;
  #poolMetrics: PoolMetrics | undefined;
  readonly #selfMetrics: SelfMetrics | undefined;
  readonly #unhookRegistry: () => void;
  readonly #stopFollowingProcess: () => void;
  #closed = false;

  /** Allocate the shared memory and start draining. Throws a ConfigurationError for invalid options. */
  constructor(options?: MetricsHubOptions) {
    super();
    const resolved = resolveHubOptions(options);
    this.registry = resolved.registry;
    this.#memory = new HubMemory(resolved);
    this.#reports = new HubReports(this);
    const drainForCollect = (): void => this.#scheduler.drainForCollect();
    const histograms = new HistogramArena();
    this.#catalogue = new MetricCatalogue(this.registry, { maxMetrics: resolved.maxMetrics, maxSeries: resolved.maxSeries, drain: drainForCollect, histograms }, this.#reports);
    this.#targets = new AttachedTargets((threadId) => {
      if (!this.#closed) this.#slots.threadExited(threadId);
    });
    const catalogue = this.#catalogue;
    const reports = this.#reports;
    this.#slots = new SlotTable(
      this.#memory,
      {
        resolveMetric: (declaration) => catalogue.resolve(declaration),
        reportMalformed: (detail, count) => reports.malformed(detail, count),
        reportQuarantined: (threadId, count) => reports.quarantined(threadId, count),
        tally: this.#tally,
        gaugeClock: { seq: 0 },
        histograms,
      },
      this.#targets,
      reports,
    );
    // Every Worker this thread creates from now on is followed to its exit, attached or not.
    this.#stopFollowingProcess = this.#targets.followProcessWorkers();
    this.#selfMetrics = resolved.selfMetrics
      ? new SelfMetrics(this.registry, {
          tally: this.#tally,
          conflicts: catalogue.conflicts,
          seriesOverflow: catalogue.seriesOverflow,
          drain: drainForCollect,
          connectedWorkers: () => this.#slots.connected(),
          slotUsage: () => ({ unfollowed: this.#slots.unfollowed(), sharedMemoryBytes: this.#memory.bytes() }),
          takeRingFill: () => this.#slots.takeRingFill(),
        })
      : undefined;
    this.#unhookRegistry = this.#hookRegistry();
    this.#scheduler = new DrainScheduler(this.#drainWork(), { control: this.#memory.control, intervalMs: resolved.drainIntervalMs });
    registerStatusSources(this, (minSlots) => ({ slots: this.#slots.status(minSlots), pools: this.#poolMetrics?.status() ?? [] }));
    registerWorkerMetrics(this, () => this.#catalogue.accepted());
    const scheduler = this.#scheduler;
    registerScrapeAccess(this, {
      drainPublished: (signal, deadline) => scheduler.drainPublished(signal, deadline),
      scraping: () => scheduler.scraping(),
      quietly: (read) => scheduler.quietly(read),
      pagesOf: (metric) => (metric instanceof BridgeMetric ? metric.pages() : undefined),
    });
  }

  /**
   * The plain, structured-cloneable object to pass as (or spread into) the `workerData` of a Worker or a
   * piscina pool. Worker code then needs no setup: `prom-threads/worker` finds the hub in it.
   */
  get workerData(): HubWorkerData {
    return { [kWorkerDataKey]: this.#memory.handle };
  }

  /** The hub handle alone, for `connect(handle)` in workers that get it another way (e.g. postMessage). */
  get handle(): HubHandle {
    return this.#memory.handle;
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
      // Quietly: its lookup of the registry, which finds nothing the first time, need not drain.
      this.#poolMetrics ??= this.#scheduler.quietly(() => new PoolMetrics(this.registry));
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
    this.#scheduler.drainAll();
  }

  /** Return the hub's state now. */
  stats(): HubStats {
    const { ringFill, overflowRecords } = this.#slots.backlog();
    return {
      workersConnected: this.#slots.connected(),
      workersUnfollowed: this.#slots.unfollowed(),
      maxWorkers: this.#memory.layout.slotCount,
      ringCapacity: this.#memory.layout.ringCapacity,
      ringFill,
      overflowRecords,
      sharedMemoryBytes: this.#memory.bytes(),
      recordsDrained: this.#tally.drained,
      recordsDropped: { ...this.#tally.dropped },
      metrics: this.#catalogue.size,
      slotsQuarantined: this.#slots.quarantined,
    };
  }

  /**
   * Drain one last time, stop, and remove the hub's metrics from the registry. Workers still running
   * afterwards drop what they record. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.drainSync();
    this.#closed = true;
    this.#scheduler.close();
    this.#stopFollowingProcess();
    this.#targets.detachAll();
    this.#poolMetrics?.close();
    // Wakes the pending doorbell wait, so its loop sees the scheduler closed and ends.
    this.#memory.ringDoorbell();
    this.#unhookRegistry();
    this.#catalogue.unregisterAll();
    this.#selfMetrics?.unregister();
  }

  /** The drains the scheduler runs, each timed into the drain-duration self-metric. */
  #drainWork(): DrainWork {
    const timed = <T>(drain: () => T): T => {
      const start = performance.now();
      // Pick up pool workers created since the last look, before they can exit unseen.
      this.#targets.scan();
      try {
        return drain();
      } finally {
        this.#selfMetrics?.observeDrain((performance.now() - start) / 1000);
      }
    };
    const slots = this.#slots;
    return {
      all: () => timed(() => slots.drain(Infinity)),
      step: (deadline) => timed(() => slots.drainUntil(deadline)),
      mark: () => ({ pending: timed(() => slots.mark()) }),
      stepToward: (marks, deadline) => timed(() => slots.drainToward(marks.pending as SlotMark[], deadline)),
    };
  }

  /** Warn when a pool's workers cannot find this hub: their task timings and thread metrics would be missing. */
  #checkPoolWorkerData(pool: { options?: { workerData?: unknown; name?: string } }, name: string | undefined): void {
    let buffer: unknown;
    try {
      buffer = findHandle(pool.options?.workerData)?.buffer;
    } catch {
      // A workerData whose getters throw carries no handle the workers could use either.
    }
    if (this.#memory.owns(buffer)) return;
    this.#reports.poolWorkerData(name ?? pool.options?.name ?? "default");
  }

  /**
   * Drain before the registry lists its metrics, so a metric whose declaration is still in a ring is
   * listed in this very scrape (each metric's own `get()` drains too, but the list is made before that);
   * before resetMetrics(), so records made before it are reset with it, not counted after it; and when
   * getSingleMetric() finds nothing, so a metric declared since the last drain is found. A
   * wrapper left behind after close() drains a closed hub, which returns at once.
   */
  #hookRegistry(): () => void {
    const drain = (): void => {
      // A sliced scrape lists the registry without draining: it drained in steps before (see hub/internal.ts).
      if (!this.#scheduler.quiet) this.drainSync();
    };
    const unhookDrains = hookRegistry(
      this.registry,
      ["getMetricsAsArray", "resetMetrics"],
      (original): RegistryMethod =>
        function (this: unknown, ...args: unknown[]): unknown {
          drain();
          return original.apply(this, args);
        },
    );
    // A metric a worker declared since the last drain is not in the registry yet: a lookup that finds
    // nothing drains and looks again (one that finds the metric costs nothing more; its get() drains).
    const unhookLookup = hookRegistry(
      this.registry,
      ["getSingleMetric"],
      (original): RegistryMethod =>
        function (this: unknown, ...args: unknown[]): unknown {
          const found = original.apply(this, args);
          if (found !== undefined) return found;
          drain();
          return original.apply(this, args);
        },
    );
    // prom-client's getSingleMetricAsString() reads its table directly: the lookup above runs first.
    const unhookLookupText = hookRegistry(
      this.registry,
      ["getSingleMetricAsString"],
      (original): RegistryMethod =>
        function (this: unknown, ...args: unknown[]): unknown {
          (this as Registry).getSingleMetric(args[0] as string);
          return original.apply(this, args);
        },
    );
    const selfMetrics = this.#selfMetrics;
    // In a text-mode registry, the self-metrics' lines are written by the self-metrics (see self-metrics.ts)
    // and worker histograms' lines by prom-text.ts, in prom-client's format.
    const unhookText = hookRegistry(
      this.registry,
      ["getMetricsAsString"],
      (original): RegistryMethod =>
        function (this: unknown, ...args: unknown[]): unknown {
          const fast =
            selfMetrics?.promString(this as Registry, args[0], (metric) => original.call(this, metric) as Promise<string>) ??
            histogramPromText(this as Registry, args[0], original);
          return fast ?? original.apply(this, args);
        },
    );
    return () => {
      unhookLookupText();
      unhookLookup();
      unhookText();
      unhookDrains();
    };
  }

  #assertOpen(): void {
    if (this.#closed) throw new ConfigurationError(ErrorCodes.HUB_CLOSED, "This MetricsHub is closed");
  }
}
