/** startThreadMetrics() in plain worker threads: per-thread series, validation, connection. */
import type { Worker } from "node:worker_threads";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { ErrorCodes } from "../../src/shared/api/errors.js";
import { samples } from "../helpers/exposition.js";
import { exited, nextMessage, startWorker, waitFor } from "../helpers/workers.js";

interface Reply {
  ok: boolean;
  threadId?: number;
  heapUsed?: number;
  code?: string;
  message?: string;
}

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function sampler(workerData: unknown): Worker {
  const worker = startWorker("thread-sampler.mjs", { workerData });
  cleanup.push(() => worker.terminate());
  return worker;
}

async function ask(worker: Worker, command: object): Promise<Reply> {
  const reply = nextMessage<Reply>(worker);
  worker.postMessage(command);
  return reply;
}

describe("startThreadMetrics()", () => {
  it("gives each thread its own heap series, which leaves with the thread", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    cleanup.push(() => hub.close());
    const [a, b] = [sampler(hub.workerData), sampler(hub.workerData)];
    hub.attach(a!);
    hub.attach(b!);
    const big = await ask(a!, { start: { intervalMs: 20 }, allocObjects: 1_000_000 });
    const small = await ask(b!, { start: { intervalMs: 20, pool: "side" } });
    const key = (pool: string, reply: Reply) => `prom_threads_thread_heap_used_bytes{pool="${pool}",thread="${reply.threadId}"}`;
    // The samplers' timers run: wait for a sample taken after the allocation.
    expect(await waitFor(async () => (samples(await registry.metrics()).get(key("", big)) ?? 0) > 30e6)).toBe(true);
    const all = samples(await registry.metrics());
    expect(all.get(key("side", small))).toBeLessThan(20e6);
    expect(all.get(`prom_threads_thread_event_loop_utilization{pool="",thread="${big.threadId}"}`)).toBeLessThanOrEqual(1);
    await a!.terminate();
    await exited(a!);
    const after = samples(await registry.metrics());
    expect(after.has(key("", big))).toBe(false);
    expect(after.has(key("side", small))).toBe(true);
  });

  it("validates its options, and needs a hub", async () => {
    const hub = new MetricsHub({ registry: new Registry() });
    cleanup.push(() => hub.close());
    const worker = sampler(hub.workerData);
    expect(await ask(worker, { start: { intervalMs: 1 } })).toMatchObject({ code: ErrorCodes.INVALID_OPTION, message: "options.intervalMs must be an integer from 10 to 3600000, got 1" });
    expect(await ask(worker, { start: { pool: 1 } })).toMatchObject({ code: ErrorCodes.INVALID_OPTION, message: "options.pool must be a string" });
    const lonely = sampler({ unrelated: true });
    expect(await ask(lonely, { start: {} })).toMatchObject({ code: ErrorCodes.NOT_CONNECTED, message: expect.stringContaining("hub.workerData") });
  });
});
