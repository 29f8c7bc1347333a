/**
 * Per-thread runtime figures, sampled inside each worker: event loop utilization and V8 heap used.
 *
 * Both are figures of one thread, so each thread writes its own series (labels `pool` and `thread`) and
 * nothing is ever summed across threads by accident. `process.memoryUsage().heapUsed` in a worker reads
 * that worker's V8 isolate (a test checks it); `rss` is process-wide and is deliberately not sampled here.
 * @module
 */
import { threadId } from "node:worker_threads";
import { ConfigurationError, ConnectionError, ErrorCodes } from "../shared/api/errors.js";
import { Gauge, type GaugeChild } from "./gauge.js";
import { runtime } from "./runtime.js";

/** Options of {@link startThreadMetrics}. */
export interface ThreadMetricsOptions {
  /**
   * Milliseconds between samples, from 10 to 3,600,000.
   * @default 1000
   */
  intervalMs?: number;
  /**
   * Value of the `pool` label; pools attached with `hub.attach(pool, { name })` use their name.
   * @default ""
   */
  pool?: string;
}

type EventLoopUtilization = ReturnType<typeof performance.eventLoopUtilization>;

/** The sampler of this thread, once started. */
class ThreadSampler {
  readonly intervalMs: number;
  readonly #heap: GaugeChild;
  readonly #elu: GaugeChild;
  #lastElu: EventLoopUtilization;
  #lastAt = 0;

  constructor(pool: string, intervalMs: number) {
    this.intervalMs = intervalMs;
    const labels = { pool, thread: String(threadId) };
    // One series per thread: within a process any aggregate shows that thread's value. `sum` for bytes and
    // `max` for a ratio are what stays meaningful if series ever meet (prom-client's cluster aggregation).
    this.#heap = new Gauge({ name: "prom_threads_thread_heap_used_bytes", help: "V8 heap used by this thread's isolate, in bytes.", labelNames: ["pool", "thread"], aggregate: "sum" }).labels(labels);
    this.#elu = new Gauge({
      name: "prom_threads_thread_event_loop_utilization",
      help: "Share of time this thread's event loop was busy since the previous sample (0 to 1).",
      labelNames: ["pool", "thread"],
      aggregate: "max",
    }).labels(labels);
    this.#lastElu = performance.eventLoopUtilization();
    this.sample();
    setInterval(() => this.sample(), intervalMs).unref();
  }

  /** Sample now. */
  sample(): void {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, this.#lastElu);
    this.#lastElu = now;
    this.#lastAt = performance.now();
    // A delta of zero time gives NaN; keep the previous value then.
    if (!Number.isNaN(utilization)) this.#elu.set(utilization);
    this.#heap.set(process.memoryUsage().heapUsed);
  }

  /** Sample if a period has passed since the last sample: for threads whose timers cannot fire. */
  sampleIfDue(): void {
    if (performance.now() - this.#lastAt >= this.intervalMs) this.sample();
  }
}

/**
 * Start sampling this thread's event loop utilization and heap used into
 * `prom_threads_thread_event_loop_utilization` and `prom_threads_thread_heap_used_bytes`, labelled
 * `pool` and `thread` (the threadId). Call it once in a plain worker; workers of a pool attached with
 * `hub.attach(pool)` start it by themselves. Later calls do nothing. Throws a ConnectionError when the
 * thread is connected to no hub.
 *
 * The sampler is an unref'd timer. A piscina worker with the default `atomics: "sync"` waits for tasks
 * inside `Atomics.wait`, where timers do not fire and which Node counts as event-loop activity: its
 * utilization reads 1. The pool's task wrapper samples after tasks instead, so heap figures stay fresh.
 *
 * @example
 * import { startThreadMetrics } from "prom-threads/worker";
 * startThreadMetrics({ intervalMs: 5000 });
 */
export function startThreadMetrics(options: ThreadMetricsOptions = {}): void {
  if (options === null || typeof options !== "object") throw new ConfigurationError(ErrorCodes.INVALID_OPTION, "options must be an object");
  const { intervalMs = 1000, pool = "" } = options;
  if (typeof intervalMs !== "number" || !Number.isInteger(intervalMs) || intervalMs < 10 || intervalMs > 3_600_000) {
    throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `options.intervalMs must be an integer from 10 to 3600000, got ${String(intervalMs)}`);
  }
  if (typeof pool !== "string") throw new ConfigurationError(ErrorCodes.INVALID_OPTION, "options.pool must be a string");
  if (runtime.threadSampler !== undefined) return;
  if (!runtime.connectFromWorkerData()) {
    throw new ConnectionError(ErrorCodes.NOT_CONNECTED, "startThreadMetrics() needs a thread connected to a MetricsHub: pass hub.workerData as the workerData, or call connect() first");
  }
  // On the runtime, one per thread: the pool's task wrapper samples through it after each task.
  runtime.threadSampler = new ThreadSampler(pool, intervalMs);
}
