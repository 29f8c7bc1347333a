import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { samples } from "../helpers/exposition.js";
import { exited, nextMessage, sleep, startWorker, waitFor } from "../helpers/workers.js";

describe("overflow", () => {
  it("goes on in the overflow past a full ring and counts every drop exactly, while the main thread is blocked", async () => {
    const registry = new Registry();
    const ringRecords = 1024;
    const overflowRecords = 3000;
    const burst = 20_000;
    const hub = new MetricsHub({ registry, ringBytes: ringRecords * 16, overflowRecords });
    const flag = new SharedArrayBuffer(4);
    const worker = startWorker("burst.mjs", { workerData: { ...hub.workerData, flag, burst } });
    hub.attach(worker);
    expect(await nextMessage(worker)).toBe("warm");
    await hub.collect(); // the ring is empty now
    const done = nextMessage(worker);
    worker.postMessage("go");
    // Block this thread: the hub cannot drain while the worker writes its burst.
    const waited = Atomics.wait(new Int32Array(flag), 0, 0, 20_000);
    expect(waited).not.toBe("timed-out");
    expect(await done).toBe("done");
    const all = samples(await registry.metrics());
    const dropped = burst - ringRecords - overflowRecords;
    expect(all.get('prom_threads_records_dropped_total{reason="ring_full"}')).toBe(dropped);
    expect(all.get("burst_total")).toBe(1 + ringRecords + overflowRecords);
    expect(all.get("prom_threads_records_drained_total")).toBe(1 + ringRecords + overflowRecords);
    await worker.terminate();
    await hub.close();
  });

  it("accounts for every inc() of terminated workers: counted, or counted as dropped", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, ringBytes: 16384 });
    const n = 4;
    const returned = new SharedArrayBuffer(4 * n);
    let previous = 0;
    let previousCounted = 0;
    for (let round = 0; round < 3; round++) {
      const workers = Array.from({ length: n }, (_, index) => startWorker("recorder-loop.mjs", { workerData: { ...hub.workerData, returned, index } }));
      for (const w of workers) hub.attach(w);
      const allLive = await waitFor(async () => samples(await registry.metrics()).get("loop_live") === n, 10_000);
      expect(allLive).toBe(true);
      await sleep(20 + round * 20);
      await Promise.all(workers.map((w) => w.terminate()));
      await Promise.all(workers.map((w) => exited(w)));
      const all = samples(await registry.metrics());
      const counted = all.get("loop_total") ?? 0;
      // Producers on 2 cores can outrun the drain: what met a full ring and overflow is counted as dropped.
      const lost = (all.get('prom_threads_records_dropped_total{reason="worker_exit"}') ?? 0) + (all.get('prom_threads_records_dropped_total{reason="ring_full"}') ?? 0);
      const attempted = new Int32Array(returned).reduce((a, b) => a + b, 0);
      // Each worker may die between recording an inc() and publishing its own count of it.
      const total = counted + lost - previous;
      expect(total).toBeGreaterThanOrEqual(attempted);
      expect(total).toBeLessThanOrEqual(attempted + n);
      expect(counted).toBeGreaterThanOrEqual(previousCounted);
      previousCounted = counted;
      expect(all.has("loop_live")).toBe(false);
      previous = counted + lost;
      new Int32Array(returned).fill(0);
    }
    await hub.close();
  });
});
