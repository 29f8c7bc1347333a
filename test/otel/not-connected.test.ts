/**
 * The worker meterProvider's recording calls throw only when the thread cannot reach a hub, with the
 * error that says why (as the worker metric classes do); what they cannot record otherwise is counted.
 */
import { Worker } from "node:worker_threads";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const entry = new URL("../../dist/worker/index.js", import.meta.url).href;

/** Two `add(1)` calls in a thread started with `workerData`; what each did. */
async function addTwice(workerData: unknown): Promise<string[]> {
  const worker = new Worker(
    `const { parentPort } = require("node:worker_threads");
    import(${JSON.stringify(entry)}).then(({ meterProvider }) => {
      const counter = meterProvider.getMeter("m").createCounter("jobs");
      const out = [];
      for (let i = 0; i < 2; i++) {
        try { counter.add(1); out.push("ok"); } catch (error) { out.push(error.code); }
      }
      parentPort.postMessage(out);
    });`,
    { eval: true, workerData },
  );
  cleanup.push(() => worker.terminate());
  return new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
}

describe("the worker meterProvider without a reachable hub", () => {
  it("throws ERR_PROM_THREADS_INVALID_HANDLE for a handle of another version, then NOT_CONNECTED", async () => {
    const hub = new MetricsHub({ registry: new Registry() });
    cleanup.push(() => hub.close());
    const workerData = hub.workerData as unknown as Record<string, Record<string, unknown>>;
    const key = Object.keys(workerData)[0] as string;
    expect(await addTwice({ [key]: { ...workerData[key], version: 999 } })).toEqual(["ERR_PROM_THREADS_INVALID_HANDLE", "ERR_PROM_THREADS_NOT_CONNECTED"]);
  });

  it("throws ERR_PROM_THREADS_NOT_CONNECTED in a thread given no hub", async () => {
    expect(await addTwice(undefined)).toEqual(["ERR_PROM_THREADS_NOT_CONNECTED", "ERR_PROM_THREADS_NOT_CONNECTED"]);
  });

  it("records in a connected thread", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    cleanup.push(() => hub.close());
    expect(await addTwice(hub.workerData)).toEqual(["ok", "ok"]);
    expect(await registry.getSingleMetricAsString("jobs_total")).toContain("jobs_total 2");
  });
});
