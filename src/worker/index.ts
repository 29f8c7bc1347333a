/**
 * `prom-threads/worker`: record Prometheus metrics inside worker threads.
 *
 * Import the metric classes from here instead of prom-client; they take the same configuration and offer
 * the same calls. The thread connects to its hub through `workerData` (see `MetricsHub.workerData`), or
 * through {@link connect}.
 * @module
 */
import { runtime } from "./runtime.js";

export { Counter, CounterChild } from "./counter.js";
export { Gauge, GaugeChild } from "./gauge.js";
export { Histogram, HistogramChild } from "./histogram.js";
export type { ExemplarCall } from "./exemplars.js";
export { Summary, SummaryChild } from "./summary.js";
export { meterProvider, WorkerMeterProvider } from "./otel-provider.js";
export { startThreadMetrics, type ThreadMetricsOptions } from "./thread-metrics.js";
export * from "../shared/api/public.js";

/**
 * Connect this thread to a hub, for setups where `workerData` does not carry `hub.workerData`
 * (a handle sent by `postMessage`, a worker created by a library). Metrics declared before the call are
 * sent when it connects. Calling it again with the same hub does nothing.
 *
 * @example
 * import { parentPort } from "node:worker_threads";
 * import { connect } from "prom-threads/worker";
 * parentPort.once("message", (msg) => connect(msg.metrics));
 */
export function connect(handle: unknown): void {
  runtime.connect(handle);
}

/** Whether this thread is connected to a hub (connecting from `workerData` first if it can). */
export function isConnected(): boolean {
  return runtime.connectFromWorkerData();
}

/**
 * Resolve once nothing this thread recorded waits in the thread itself. You never need it for correct
 * counts: every record is in shared memory, where the next drain or scrape reads it, when its call
 * returns. The one exception it covers is a label-set declaration made while the ring and the overflow
 * were both full and the hub made no progress for `overflowWaitMs` (observations made meanwhile are
 * dropped and counted); `flush()` writes it as soon as the hub makes room.
 * @returns `true` when nothing waits in this thread, `false` when `timeoutMs` passed first.
 *
 * @example
 * const settled = await flush({ timeoutMs: 500 });
 */
export function flush(options: { timeoutMs?: number } = {}): Promise<boolean> {
  return runtime.flush(options.timeoutMs ?? 1000);
}
