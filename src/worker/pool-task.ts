/**
 * The task wrapper of attached piscina pools. `hub.attach(pool)` makes `pool.run(task)` send piscina this
 * module as the task's `filename`, with the caller's task in an envelope (see `src/shared/transport/pool-task.ts`).
 * Here, in the worker, it measures how long the task waited, calls the pool's own handler with the
 * caller's task, and measures how long it ran; the handler's result or error goes back unchanged.
 *
 * This is the one place where a task's start is visible: piscina 5 emits no per-task events, and the main
 * thread cannot see when a queued task reaches a worker.
 * @module
 */
import { pathToFileURL } from "node:url";
import { kTaskBuckets, kTaskRunMetric, kTaskWaitMetric, isTaskEnvelope, type TaskEnvelope } from "../shared/transport/pool-task.js";
// Only the public worker entry: the bundle (scripts/bundle-worker.mjs) then keeps all the worker code in
// that entry's one file, which this module imports, instead of a chunk both would load.
import { Histogram, type HistogramChild, isConnected, startThreadMetrics } from "./index.js";
import type { Runtime } from "./runtime.js";

type Handler = (task: unknown) => unknown;

const handlers = new Map<string, Handler>();
let waitSeconds: Histogram<"pool"> | undefined;
let runSeconds: Histogram<"pool"> | undefined;
const children = new Map<string, { wait: HistogramChild; run: HistogramChild }>();
let samplerStarted = false;

/** Find the handler the way piscina does: the export called `name`, or that export of a CommonJS module. */
async function handlerOf(filename: string, name: string): Promise<Handler> {
  const key = `${filename}\0${name}`;
  const cached = handlers.get(key);
  if (cached !== undefined) return cached;
  const namespace = (await import(pathToFileURL(filename).href)) as Record<string, unknown>;
  let handler = await namespace[name];
  const commonJs = namespace.default;
  if (typeof handler !== "function" && commonJs !== null && typeof commonJs === "object") handler = await (commonJs as Record<string, unknown>)[name];
  if (typeof handler !== "function") throw new Error(`No handler function exported from ${filename}`);
  handlers.set(key, handler as Handler);
  return handler as Handler;
}

function timersOf(pool: string): { wait: HistogramChild; run: HistogramChild } {
  let timers = children.get(pool);
  if (timers === undefined) {
    waitSeconds ??= new Histogram({
      name: kTaskWaitMetric,
      help: "Seconds from pool.run() until the task started in a worker thread.",
      labelNames: ["pool"],
      buckets: kTaskBuckets,
    });
    runSeconds ??= new Histogram({
      name: kTaskRunMetric,
      help: "Seconds a task ran in its worker thread, until it returned or threw.",
      labelNames: ["pool"],
      buckets: kTaskBuckets,
    });
    timers = { wait: waitSeconds.labels(pool), run: runSeconds.labels(pool) };
    children.set(pool, timers);
  }
  return timers;
}

/** This thread's runtime, which importing the entry created; found by its registered key (src/worker/runtime.ts). */
function threadRuntime(): Runtime | undefined {
  return (globalThis as { [key: symbol]: Runtime | undefined })[Symbol.for("prom-threads.worker.runtime")];
}

function secondsSince(start: bigint, end: bigint): number {
  const nanoseconds = Number(end - start);
  return nanoseconds > 0 ? nanoseconds / 1e9 : 0;
}

/**
 * Run one enveloped task: record its wait, call the pool's handler, record its run time.
 * Not for direct use; `hub.attach(pool)` routes tasks here.
 */
export default async function runPoolTask(envelope: TaskEnvelope): Promise<unknown> {
  const started = process.hrtime.bigint();
  if (!isTaskEnvelope(envelope)) throw new TypeError("prom-threads: this module runs tasks of a pool attached to a MetricsHub; call pool.run(), not this file");
  // Without a hub the task still runs; only its timing is lost (hub.attach() warns about such pools).
  const timers = isConnected() ? timersOf(envelope.pool) : undefined;
  if (timers !== undefined && !samplerStarted && envelope.threadMetricsMs > 0) {
    samplerStarted = true;
    startThreadMetrics({ pool: envelope.pool, intervalMs: envelope.threadMetricsMs });
  }
  timers?.wait.observe(secondsSince(envelope.queuedAt, started));
  try {
    const handler = handlers.get(`${envelope.filename}\0${envelope.name}`) ?? (await handlerOf(envelope.filename, envelope.name));
    return await handler(envelope.task);
  } finally {
    timers?.run.observe(secondsSince(started, process.hrtime.bigint()));
    if (samplerStarted) threadRuntime()?.threadSampler?.sampleIfDue();
  }
}
