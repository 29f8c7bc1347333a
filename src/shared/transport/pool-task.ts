/**
 * The envelope a piscina task travels in when its pool is attached to a hub: the main thread's
 * instrumented `pool.run()` wraps the caller's task in it, and prom-threads' task wrapper in the worker
 * unwraps it, times the task and calls the pool's real handler with the caller's task.
 *
 * ```
 *  main thread                                   worker thread
 *  pool.run(task) ──► { promThreadsTask: 1, task, filename, name, pool, queuedAt }
 *                     ──► piscina queue ──► dist/worker/pool-task.js
 *                                            wait = now - queuedAt; handler(task); run = now - start
 * ```
 *
 * `queuedAt` is `process.hrtime.bigint()`: one monotonic clock for every thread of the process, so a
 * difference taken in the worker against a reading taken in the main thread is exact.
 * @module
 */

/** The property that marks an envelope; a string, since symbols do not survive structured cloning. */
export const kEnvelopeKey = "promThreadsTask";

/** Layout version of the envelope; both sides come from the same package, this catches mixed copies. */
export const kEnvelopeVersion = 1;

/** What travels to the worker for each task of an attached pool. */
export interface TaskEnvelope {
  /** Always {@link kEnvelopeVersion}. */
  promThreadsTask: number;
  /** The caller's task, unchanged. */
  task: unknown;
  /** Absolute path of the module whose export handles the task (as piscina would load it). */
  filename: string;
  /** Name of the export that handles the task. */
  name: string;
  /** The pool's name, the `pool` label of the timing and per-thread metrics. */
  pool: string;
  /** `process.hrtime.bigint()` when `pool.run()` was called. */
  queuedAt: bigint;
  /** Sampling period of the per-thread metrics in milliseconds; 0 turns them off. */
  threadMetricsMs: number;
}

/** Whether `value` is an envelope of this version. */
export function isTaskEnvelope(value: unknown): value is TaskEnvelope {
  return value !== null && typeof value === "object" && (value as Record<string, unknown>)[kEnvelopeKey] === kEnvelopeVersion;
}

/** The histogram of each task's wait, from `pool.run()` to its start in a worker, recorded in the worker. */
export const kTaskWaitMetric = "prom_threads_pool_task_wait_seconds";
/** The histogram of each task's run, from its start in a worker until its handler returned or threw. */
export const kTaskRunMetric = "prom_threads_pool_task_run_seconds";
/** Buckets of both histograms, in seconds: sub-millisecond tasks to half-minute ones. */
export const kTaskBuckets: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
