/**
 * Deterministic mid-write kills: a worker freezes between writing bytes into its ring and publishing
 * them (the runtime's test hook), the test terminates it there, and checks that nothing unpublished was
 * counted, every loss is accounted for, and the ring's next owner works without mixing series.
 */
import type { Worker } from "node:worker_threads";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { flagRaised, triangular } from "../helpers/faults.js";
import { samples } from "../helpers/exposition.js";
import { exited, nextMessage, startWorker } from "../helpers/workers.js";


const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function makeHub(ringStartIndex: number) {
  const registry = new Registry();
  // One slot: the next worker must reuse the killed worker's ring. A small ring makes overflows easy.
  const hub = new MetricsHub({ registry, maxWorkers: 1, ringBytes: 1024 * 16, ringStartIndex, drainIntervalMs: 3_600_000 });
  cleanup.push(() => hub.close());
  return { registry, hub };
}

function writer(hub: MetricsHub, data: Record<string, unknown>): { worker: Worker; control: Int32Array } {
  const control = new SharedArrayBuffer(16);
  const worker = startWorker("paused-writer.mjs", { workerData: { ...hub.workerData, control, ...data } });
  hub.attach(worker);
  cleanup.push(() => worker.terminate());
  return { worker, control: new Int32Array(control) };
}

/** The next owner of the slot records its own series; the killed worker's totals must not move. */
async function nextOwnerWorks(registry: Registry, hub: MetricsHub, before: Map<string, number>): Promise<void> {
  const next = writer(hub, { label: "new", count: 300, gaugeValue: 5 });
  expect(await nextMessage(next.worker)).toBe("done");
  const all = samples(await registry.metrics());
  expect(all.get('pw_total{w="new"}')).toBe(triangular(300));
  // Same worker-local ids as the dead worker (metric 0, series 0, 1): a mix-up would show here.
  expect(all.get('pw_total{w="old"}')).toBe(before.get('pw_total{w="old"}'));
  expect(all.get("pw_live")).toBe(5);
  expect(all.get("prom_threads_records_drained_total")).toBe((before.get("prom_threads_records_drained_total") ?? 0) + 301);
  expect(all.get('prom_threads_records_dropped_total{reason="malformed"}')).toBe(0);
  expect(all.get('prom_threads_records_dropped_total{reason="no_slot"}')).toBe(0);
  expect(hub.stats().workersConnected).toBe(1);
}

describe.each([
  ["from index 0", 0],
  ["across the 2^32 wrap of the ring indices", 2 ** 32 - 700],
])("a worker terminated while frozen before publishing (%s)", (_name, ringStartIndex) => {
  it("never counts the written-but-unpublished record, and the ring's next owner works", async () => {
    const { registry, hub } = makeHub(ringStartIndex);
    // Record #1 is the gauge; records #2.. are inc(1), inc(2), ...: freeze before publishing inc(400).
    const { worker, control } = writer(hub, { label: "old", count: 1000, pause: { point: "record", nth: 401 } });
    await flagRaised(control, 0);
    let all = samples(await registry.metrics());
    expect(Atomics.load(control, 2)).toBe(399);
    expect(all.get('pw_total{w="old"}')).toBe(triangular(399));
    await worker.terminate();
    await exited(worker);
    all = samples(await registry.metrics());
    expect(all.get('pw_total{w="old"}')).toBe(triangular(399));
    expect(all.has("pw_live")).toBe(false);
    expect(all.get("prom_threads_records_drained_total")).toBe(1 + 399);
    expect(all.get('prom_threads_records_dropped_total{reason="worker_exit"}')).toBe(0);
    expect(all.get("prom_threads_workers_connected")).toBe(0);
    await nextOwnerWorks(registry, hub, all);
  });

  it("never applies a half-published declaration, and the next owner declares the same ids cleanly", async () => {
    const { registry, hub } = makeHub(ringStartIndex);
    // Declarations: #1 gauge metric, #2 its series, #3 counter metric, #4 the counter's {w="old"} series.
    const { worker, control } = writer(hub, { label: "old", count: 10, pause: { point: "declare", nth: 4 } });
    await flagRaised(control, 0);
    await worker.terminate();
    await exited(worker);
    const all = samples(await registry.metrics());
    expect(all.has('pw_total{w="old"}')).toBe(false);
    expect(all.get('prom_threads_records_dropped_total{reason="malformed"}')).toBe(0);
    await nextOwnerWorks(registry, hub, all);
  });

  it("counts everything published to ring and overflow, never the overflow record a kill interrupted", async () => {
    const { registry, hub } = makeHub(ringStartIndex);
    // 1024 increments fill the ring; the next ones go to the overflow: freeze before publishing the 300th.
    const { worker, control } = writer(hub, { label: "old", count: 1524, waitForGo: true, pause: { point: "overflow", nth: 300 } });
    expect(await nextMessage(worker)).toBe("ready");
    await hub.collect(); // the ring is empty: exactly 1024 records fit
    worker.postMessage("go");
    // Block this thread so the hub cannot drain while the worker fills its ring and freezes.
    expect(Atomics.wait(control, 0, 0, 20_000)).not.toBe("timed-out");
    expect(Atomics.load(control, 2)).toBe(1024 + 299);
    await worker.terminate();
    await exited(worker);
    const all = samples(await registry.metrics());
    expect(all.get('pw_total{w="old"}')).toBe(triangular(1024 + 299));
    expect(all.get("prom_threads_records_drained_total")).toBe(1 + 1024 + 299);
    expect(all.get('prom_threads_records_dropped_total{reason="worker_exit"}')).toBe(0);
    await nextOwnerWorks(registry, hub, all);
  });

  it("loses nothing of a burst bigger than the ring when the worker is terminated right after it returned", async () => {
    const { registry, hub } = makeHub(ringStartIndex);
    const { worker, control } = writer(hub, { label: "old", count: 5000, waitForGo: true });
    expect(await nextMessage(worker)).toBe("ready");
    worker.postMessage("go");
    // Block this thread until every call returned: most of the burst is in the overflow, and the worker
    // never runs again to move anything.
    expect(Atomics.wait(control, 3, 0, 20_000)).not.toBe("timed-out");
    await worker.terminate();
    await exited(worker);
    const all = samples(await registry.metrics());
    expect(Atomics.load(control, 2)).toBe(5000);
    expect(all.get('pw_total{w="old"}')).toBe(triangular(5000));
    expect(all.get("prom_threads_records_drained_total")).toBe(1 + 5000);
    expect(all.get('prom_threads_records_dropped_total{reason="worker_exit"}')).toBe(0);
    await nextOwnerWorks(registry, hub, all);
  });
});
