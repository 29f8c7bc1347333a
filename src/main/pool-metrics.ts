/**
 * Pool metrics: what `hub.attach(pool)` exports about a piscina pool without any code of the user's,
 * prefixed `prom_threads_pool_` and labelled `pool`.
 *
 * | Metric | Source |
 * | --- | --- |
 * | `prom_threads_pool_tasks_total{outcome}` | the instrumented `pool.run()`: every call, once, when it settles |
 * | `prom_threads_pool_task_wait_seconds`, `..._run_seconds` | the task wrapper, in the worker (histograms) |
 * | `prom_threads_pool_workers_created_total`, `..._destroyed_total` | `workerCreate` / `workerDestroy` events |
 * | `prom_threads_pool_queue_size`, `..._threads`, `..._utilization` | `pool.queueSize`, `pool.threads.length`, `pool.utilization` at scrape time |
 * @module
 */
import type { Counter, Gauge, Registry } from "prom-client";
import { client } from "./client.js";
import { ConfigurationError, ErrorCodes } from "../shared/api/errors.js";
import { booleanOption, invalid, optionsObject } from "./validate-options.js";
import { instrumentRun, TASK_OUTCOMES, type RunnablePool, type TaskOutcome } from "./pool-run.js";

/** Options of `hub.attach(pool, options)`; they apply to piscina pools only. */
export interface PoolAttachOptions {
  /**
   * The pool's name: the `pool` label of its metrics. Two attached pools need different names.
   * @default the pool's piscina `name` option, which piscina fills with "default"
   */
  name?: string;
  /**
   * Send tasks through prom-threads' task wrapper in the worker, which records each task's wait and run
   * time and starts the per-thread metrics. The caller's task, result and error are unchanged. With
   * `false`, only the main-thread metrics are exported.
   * @default true
   */
  wrapTasks?: boolean;
  /**
   * Milliseconds between samples of the per-thread metrics (event loop utilization, heap used) in the
   * pool's workers; 0 turns them off. Needs `wrapTasks`.
   * @default 1000
   */
  threadMetricsIntervalMs?: number;
}

/** The part of a piscina pool the pool metrics read. */
export interface ObservablePool extends RunnablePool {
  readonly threads: readonly { readonly threadId: number }[];
  readonly queueSize?: number;
  readonly utilization?: number;
  on(event: "workerCreate" | "workerDestroy", listener: (...args: unknown[]) => void): unknown;
  off(event: "workerCreate" | "workerDestroy", listener: (...args: unknown[]) => void): unknown;
}

interface Resolved {
  name: string;
  wrapTasks: boolean;
  threadMetricsMs: number;
}

/** Validate `hub.attach()` options for `pool`; throws a ConfigurationError naming the option. */
function resolvePoolOptions(pool: ObservablePool, options: PoolAttachOptions | undefined): Resolved {
  const raw = optionsObject(options);
  const name = raw.name ?? pool.options?.name ?? "default";
  if (typeof name !== "string" || name === "" || Buffer.byteLength(name) > 1024) invalid("name", "a non-empty string of at most 1024 bytes", name);
  const wrapTasks = booleanOption(raw, "wrapTasks", true);
  const interval = raw.threadMetricsIntervalMs ?? 1000;
  if (typeof interval !== "number" || !Number.isInteger(interval) || (interval !== 0 && (interval < 10 || interval > 3_600_000))) {
    invalid("threadMetricsIntervalMs", "0 or an integer from 10 to 3600000", interval);
  }
  return { name, wrapTasks, threadMetricsMs: wrapTasks ? interval : 0 };
}

/** Milliseconds between two readings of `pool.utilization` for the status page. */
const UTILIZATION_READ_MS = 5000;

interface Tracked {
  name: string;
  /** pool.run() calls settled, by outcome: the same counts as the tasks counter, read without prom-client. */
  outcomes: Record<TaskOutcome, number>;
  /** The status page's last reading of `pool.utilization`, and when (ms, performance.now()). */
  utilization: { value: number | null; at: number };
  stop(): void;
}

/** One attached pool as the status page shows it: read from the pool and plain counts, no collect. */
export interface PoolStatus {
  /** The `pool` label. */
  name: string;
  /** `pool.queueSize` now, or null when the pool has none. */
  queueSize: number | null;
  /** Worker threads in the pool now. */
  threads: number;
  /** `pool.utilization` as read at most {@link UTILIZATION_READ_MS} ago, or null when the pool has none. */
  utilization: number | null;
  /** pool.run() calls settled so far, by outcome. */
  tasks: Record<TaskOutcome, number>;
}

/** The pool metrics of one hub: registered on the first pool attached, removed when the hub closes. */
export class PoolMetrics {
  readonly #registry: Registry;
  readonly #pools = new Map<ObservablePool, Tracked>();
  readonly #tasks: Counter<"pool" | "outcome">;
  readonly #created: Counter<"pool">;
  readonly #destroyed: Counter<"pool">;
  readonly #metrics: object[];

  /** Register the metrics in `registry`; throws a ConfigurationError when another hub's are there. */
  constructor(registry: Registry) {
    this.#registry = registry;
    if (registry.getSingleMetric("prom_threads_pool_tasks_total") !== undefined) {
      throw new ConfigurationError(ErrorCodes.INVALID_OPTION, "options.registry already has another MetricsHub's pool metrics: attach each pool to one hub, and use one hub per registry");
    }
    const registers = [registry];
    const pools = this.#pools;
    const gauge = (name: string, help: string, read: (pool: ObservablePool) => number | undefined): Gauge<"pool"> =>
      new client.Gauge({
        name,
        help,
        labelNames: ["pool"],
        registers,
        collect(this: Gauge<"pool">) {
          this.reset();
          for (const [pool, { name: label }] of pools) {
            const value = read(pool);
            if (typeof value === "number" && Number.isFinite(value)) this.set({ pool: label }, value);
          }
        },
      });
    this.#tasks = new client.Counter({
      name: "prom_threads_pool_tasks_total",
      help: "pool.run() calls settled, by outcome: completed (resolved), failed (rejected), aborted (rejected with an AbortError).",
      labelNames: ["pool", "outcome"],
      registers,
    });
    this.#created = new client.Counter({ name: "prom_threads_pool_workers_created_total", help: "Worker threads the pool created.", labelNames: ["pool"], registers });
    this.#destroyed = new client.Counter({ name: "prom_threads_pool_workers_destroyed_total", help: "Worker threads the pool destroyed.", labelNames: ["pool"], registers });
    this.#metrics = [
      this.#tasks,
      this.#created,
      this.#destroyed,
      gauge("prom_threads_pool_queue_size", "Tasks waiting in the pool's queue for a worker.", (pool) => pool.queueSize),
      gauge("prom_threads_pool_threads", "Worker threads in the pool, starting ones included.", (pool) => pool.threads.length),
      gauge(
        "prom_threads_pool_utilization",
        "piscina's estimate of the pool's utilization since it started: mean run time x tasks / (pool age x maxThreads).",
        (pool) => pool.utilization,
      ),
    ];
  }

  /** Start exporting `pool`'s metrics; returns a function that stops. Validates `options` first. */
  attach(pool: ObservablePool, options: PoolAttachOptions | undefined): () => void {
    const settings = resolvePoolOptions(pool, options);
    const existing = this.#pools.get(pool);
    if (existing !== undefined) return () => this.#detach(pool, existing);
    for (const tracked of this.#pools.values()) {
      if (tracked.name === settings.name) throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `options.name must differ between attached pools; "${settings.name}" is taken`);
    }
    const labels = { pool: settings.name };
    const outcomes: Record<TaskOutcome, number> = { completed: 0, failed: 0, aborted: 0 };
    for (const outcome of TASK_OUTCOMES) this.#tasks.inc({ ...labels, outcome }, 0);
    this.#created.inc(labels, 0);
    this.#destroyed.inc(labels, 0);
    // Workers that exist now count as created; piscina announces its first workers a microtask after the
    // constructor, so their events must not count them twice.
    const seen = new Set<number>();
    const created = (threadId: number): void => {
      if (threadId < 0 || seen.has(threadId)) return;
      seen.add(threadId);
      this.#created.inc(labels);
    };
    for (const worker of pool.threads) created(worker.threadId);
    const onCreate = (worker: unknown): void => created((worker as { id: number }).id);
    const onDestroy = (): void => this.#destroyed.inc(labels);
    pool.on("workerCreate", onCreate);
    pool.on("workerDestroy", onDestroy);
    const restoreRun = instrumentRun(pool, {
      pool: settings.name,
      wrapTasks: settings.wrapTasks,
      threadMetricsMs: settings.threadMetricsMs,
      onOutcome: (outcome) => {
        this.#tasks.inc({ ...labels, outcome });
        outcomes[outcome]++;
      },
    });
    const tracked: Tracked = {
      name: settings.name,
      outcomes,
      utilization: { value: null, at: -Infinity },
      stop() {
        pool.off("workerCreate", onCreate);
        pool.off("workerDestroy", onDestroy);
        restoreRun();
      },
    };
    this.#pools.set(pool, tracked);
    return () => this.#detach(pool, tracked);
  }

  /**
   * The attached pools now, for the status page. Cheap: no prom-client call, and piscina's
   * `utilization`, which costs about a millisecond per reading on a busy pool, is read at most every
   * {@link UTILIZATION_READ_MS} (it is an average since the pool started, so it moves slowly).
   */
  status(): PoolStatus[] {
    const finite = (value: number | undefined): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);
    const now = performance.now();
    return [...this.#pools].map(([pool, { name, outcomes, utilization }]) => {
      if (now - utilization.at >= UTILIZATION_READ_MS) {
        utilization.value = finite(pool.utilization);
        utilization.at = now;
      }
      return { name, queueSize: finite(pool.queueSize), threads: pool.threads.length, utilization: utilization.value, tasks: { ...outcomes } };
    });
  }

  /** Stop following every pool and remove the metrics from the registry. */
  close(): void {
    for (const [pool, tracked] of this.#pools) this.#detach(pool, tracked);
    for (const metric of this.#metrics) {
      const { name } = metric as { name: string };
      if ((this.#registry.getSingleMetric(name) as object | undefined) === metric) this.#registry.removeSingleMetric(name);
    }
  }

  #detach(pool: ObservablePool, tracked: Tracked): void {
    if (this.#pools.get(pool) !== tracked) return;
    this.#pools.delete(pool);
    tracked.stop();
  }
}
