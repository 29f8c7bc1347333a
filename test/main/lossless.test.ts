/**
 * Nothing recorded is stranded or lost in normal operation. Every record is in shared memory
 * when its call returns, so a scrape right after the work resolved is exact, whatever the worker does
 * next: parked in Atomics.wait (piscina's default), busy, retired by the idle timeout, destroyed, or
 * terminated. Tested as users run it: piscina's defaults, no flush(), scrapes right after the work.
 */
import { Piscina } from "piscina";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { samples } from "../helpers/exposition.js";
import { exited, fixture, nextMessage, sleep, startWorker } from "../helpers/workers.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function hubFor(registry: Registry): MetricsHub {
  const hub = new MetricsHub({ registry });
  cleanup.push(() => hub.close());
  return hub;
}

/** Every figure a lossless run must show: exact counts, and no drop of any reason. */
function expectExact(all: Map<string, number>, half: number): void {
  const drops = [...all].filter(([key]) => key.startsWith("prom_threads_records_dropped_total"));
  expect(all.get("lossless_total"), JSON.stringify(drops)).toBe(half);
  expect(all.get("lossless_seconds_count")).toBe(half);
  expect(all.get("lossless_seconds_sum")).toBe(half * 0.25);
  for (const reason of ["ring_full", "worker_exit", "no_slot", "malformed"]) {
    expect(all.get(`prom_threads_records_dropped_total{reason="${reason}"}`), reason).toBe(0);
  }
}

interface PoolCase {
  atomics: "sync" | "async";
  threads: number;
  idleTimeout: number;
  records: number;
  tasks: number;
  attach: boolean;
}

const poolCases: PoolCase[] = [
  // The reported scenario: piscina defaults, 4 threads on 2 cores, 160 tasks of 50,000 records.
  { atomics: "sync", threads: 4, idleTimeout: 20, records: 50_000, tasks: 160, attach: true },
  { atomics: "async", threads: 4, idleTimeout: 20, records: 50_000, tasks: 40, attach: true },
  { atomics: "sync", threads: 4, idleTimeout: 20, records: 50_000, tasks: 40, attach: false },
  { atomics: "sync", threads: 1, idleTimeout: 0, records: 1_000, tasks: 200, attach: true },
  { atomics: "sync", threads: 8, idleTimeout: 0, records: 1_000, tasks: 400, attach: false },
  { atomics: "sync", threads: 8, idleTimeout: 1_000, records: 200_000, tasks: 16, attach: true },
  { atomics: "async", threads: 2, idleTimeout: 1_000, records: 1_000_000, tasks: 4, attach: true },
  { atomics: "sync", threads: 3, idleTimeout: 5, records: 1_000_000, tasks: 6, attach: false },
];

describe.each(poolCases)("a piscina pool (atomics $atomics, $threads threads, idleTimeout $idleTimeout ms, $tasks tasks of $records records, attach $attach)", (c) => {
  it("is exact in the scrape right after pool.run() resolved, after the idle timeout retired its workers, and after destroy()", { timeout: 120_000 }, async () => {
    const registry = new Registry();
    const hub = hubFor(registry);
    const pool = new Piscina({
      filename: fixture("burst-task.mjs").href,
      workerData: hub.workerData,
      atomics: c.atomics,
      minThreads: c.threads,
      maxThreads: c.threads,
      idleTimeout: c.idleTimeout,
    });
    let destroyed = false;
    cleanup.push(() => (destroyed ? Promise.resolve() : pool.destroy()));
    if (c.attach) hub.attach(pool);
    let half = 0;
    // Two rounds: the second runs on workers that were parked, or retired and replaced, after the first.
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all(Array.from({ length: c.tasks }, () => pool.run({ records: c.records })));
      half += results.reduce((a: number, b: number) => a + b, 0);
      expectExact(samples(await registry.metrics()), half);
      await sleep(Math.min(1_200, c.idleTimeout + 100));
      expectExact(samples(await registry.metrics()), half);
    }
    await pool.destroy();
    destroyed = true;
    expectExact(samples(await registry.metrics()), half);
  });
});

describe("a plain worker that returned from its last call", () => {
  it.each([
    ["parked in Atomics.wait for 5 s", "wait", 5_000],
    ["busy in a synchronous loop for 2 s", "busy", 2_000],
  ])("is counted exactly while it is %s", { timeout: 30_000 }, async (_what, park, parkMs) => {
    const registry = new Registry();
    const hub = hubFor(registry);
    // Three times the ring (65,536 records): most of the burst is in the overflow when the worker parks.
    const records = 200_000;
    const worker = startWorker("burst-then-park.mjs", { workerData: { ...hub.workerData, records, park, parkMs } });
    cleanup.push(() => worker.terminate());
    expect(await nextMessage(worker)).toBe("done");
    const started = Date.now();
    const all = samples(await registry.metrics());
    expect(all.get('parked_total{w="a"}')).toBe(records);
    expect(all.get('prom_threads_records_dropped_total{reason="ring_full"}')).toBe(0);
    // The scrape came while the worker was still parked.
    expect(Date.now() - started).toBeLessThan(parkMs);
    expect(hub.stats().workersConnected).toBe(1);
  });

  it("loses nothing when 200 workers, never attached, are each terminated right after their last call", { timeout: 120_000 }, async () => {
    const registry = new Registry();
    const hub = hubFor(registry);
    const records = 80_000; // more than the ring: part of each burst is in the overflow at the kill
    const workers = 200;
    const batch = 20;
    let peakSharedBytes = 0;
    for (let first = 0; first < workers; first += batch) {
      const started = Array.from({ length: batch }, (_, i) =>
        startWorker("burst-then-park.mjs", { workerData: { ...hub.workerData, records, park: "idle", label: `w${first + i}` } }),
      );
      await Promise.all(
        started.map(async (worker) => {
          expect(await nextMessage(worker)).toBe("done");
          await worker.terminate();
          await exited(worker);
        }),
      );
      peakSharedBytes = Math.max(peakSharedBytes, hub.stats().sharedMemoryBytes);
    }
    const all = samples(await registry.metrics());
    let counted = 0;
    for (const [key, value] of all) if (key.startsWith("parked_total{")) counted += value;
    expect(counted).toBe(workers * records);
    for (const reason of ["ring_full", "worker_exit", "no_slot", "malformed"]) {
      expect(all.get(`prom_threads_records_dropped_total{reason="${reason}"}`), reason).toBe(0);
    }
    const stats = hub.stats();
    // The hub followed every Worker it saw created: their slots came back, none is left taken.
    expect(stats.workersConnected).toBe(0);
    expect(stats.workersUnfollowed).toBe(0);
    // Memory: slots are reused, so it is bounded by the workers alive at once (a batch), each a 1 MiB ring
    // plus the part of its overflow it used (here at most 100,000 records), never by the 200 workers.
    const slotBound = 2 ** 20 + 2 * records * 16;
    console.log(`[200 workers] peak shared memory ${(peakSharedBytes / 2 ** 20).toFixed(1)} MiB`);
    expect(peakSharedBytes).toBeLessThanOrEqual(2 * batch * slotBound + 2 ** 20);
    expect(all.get("prom_threads_shared_memory_bytes")).toBe(stats.sharedMemoryBytes);
  });
});

describe("a worker the hub cannot follow (created inside another worker)", () => {
  it("is counted exactly after it is terminated, and reported once as unfollowed", { timeout: 30_000 }, async () => {
    const registry = new Registry();
    const hub = hubFor(registry);
    const errors: string[] = [];
    hub.on("error", (error) => errors.push(error.code));
    const parent = startWorker("nested-parent.mjs", { workerData: { ...hub.workerData, records: 100_000 } });
    cleanup.push(() => parent.terminate());
    expect(await nextMessage(parent)).toBe("child-done");
    await hub.collect();
    expect(hub.stats().workersUnfollowed).toBe(1);
    expect(errors).toEqual(["ERR_PROM_THREADS_WORKER_UNFOLLOWED"]);
    parent.postMessage("terminate-child");
    expect(await nextMessage(parent)).toBe("child-terminated");
    const all = samples(await registry.metrics());
    expect(all.get('parked_total{w="nested"}')).toBe(100_000);
    expect(all.get("prom_threads_workers_unfollowed")).toBe(1);
    expect(errors).toEqual(["ERR_PROM_THREADS_WORKER_UNFOLLOWED"]);
  });
});
