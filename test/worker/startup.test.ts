import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { samples } from "../helpers/exposition.js";
import { exited, nextMessage, startWorker } from "../helpers/workers.js";

describe("worker start-up", () => {
  it("shows a new thread's first record, made right after the import, at the next scrape", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    for (let round = 0; round < 3; round++) {
      const worker = startWorker("startup-first-record.mjs", { workerData: hub.workerData });
      expect(await nextMessage(worker)).toBe("recorded");
      // A scrape right after the worker says it recorded, with the hub's defaults (no flush(), no wait).
      expect(samples(await registry.metrics()).get("startup_first_total")).toBe(round + 1);
      await exited(worker);
    }
    await hub.close();
  });

  it("keeps one runtime per thread whatever copy of the worker code records: one slot, every record", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    const worker = startWorker("startup-copies.mjs", { workerData: hub.workerData });
    // The two Counter classes are different objects (two copies of the code), yet they share the runtime.
    expect(await nextMessage(worker)).toEqual({ connected: true, separate: true });
    const all = samples(await registry.metrics());
    expect(all.get("copies_bundle_total")).toBe(1);
    expect(all.get("copies_module_total")).toBe(2);
    expect(all.get("copies_again_total")).toBe(3);
    // One thread, one slot: a second runtime would have claimed a second one.
    expect(hub.stats().workersConnected).toBe(1);
    worker.postMessage("exit");
    await exited(worker);
    await hub.close();
  });

  it("keeps instanceof agreeing between the worker bundle's error classes and the main entry's", async () => {
    const worker = startWorker("startup-errors.mjs");
    const report = await nextMessage(worker);
    expect(report).toEqual({
      separate: true,
      code: "ERR_PROM_THREADS_INVALID_NAME",
      name: "ConfigurationError",
      workerToMain: [true, true, true],
      workerToOtherMain: [false, false],
      mainToWorker: [true, true, false],
      userSubclass: [false, true],
      plain: [false, false],
    });
    await exited(worker);
  });
});
