/**
 * Slot ownership races, made deterministic by driving the slot table and the exit events by hand.
 */
import { EventEmitter } from "node:events";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { Layout, SLOT_CLAIMING, SLOT_FREE, kRingCapacityWord, kSlotCountWord, kSlotState, kSlotThreadId } from "../../src/shared/layout.js";
import { samples as parse } from "../helpers/exposition.js";
import { Scripted } from "../helpers/scripted.js";
import { exited, nextMessage, startWorker } from "../helpers/workers.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A piscina-like pool whose one "worker" emits `exit` when the test says so. */
function fakePool(threadId: number) {
  const worker = Object.assign(new EventEmitter(), { threadId });
  return { pool: { threads: [worker], on() {}, off() {} }, worker };
}

describe("slot table races", () => {
  it("does not free a slot that another worker is claiming when a late exit event names its previous owner", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, maxWorkers: 1 });
    cleanup.push(() => hub.close());
    const words = new Uint32Array(hub.handle.buffer);
    const layout = new Layout(words[kSlotCountWord] as number, words[kRingCapacityWord] as number);
    const base = layout.slotWord(0);

    // A worker owns slot 0, then exits by itself: its exit handler marks the slot, the hub frees it.
    const first = await Scripted.start({ workerData: hub.workerData });
    await first.ok("record", { kind: "counter", config: { name: "race_total", help: "h" }, count: 2 });
    const previousOwner = first.worker.threadId;
    expect(Atomics.load(words, base + kSlotThreadId)).toBe(previousOwner);
    await first.run("exit").catch(() => {});
    await exited(first.worker);
    await hub.collect();
    expect(Atomics.load(words, base + kSlotState)).toBe(SLOT_FREE);

    // Another worker has just won the slot (FREE -> CLAIMING) and not yet written its threadId: the word
    // still names the previous owner. Now the previous owner's exit reaches the hub (late, as it may).
    Atomics.store(words, base + kSlotState, SLOT_CLAIMING);
    const { pool, worker } = fakePool(previousOwner);
    hub.attach(pool as never);
    worker.emit("exit", 0);
    // The claim must survive: freeing it would let a third worker write the same ring.
    expect(Atomics.load(words, base + kSlotState)).toBe(SLOT_CLAIMING);
    expect(await registry.metrics()).toContain("race_total 2");
    Atomics.store(words, base + kSlotState, SLOT_FREE);
  });
});


describe("records made after the thread gave its slot back", () => {
  it("are counted as dropped (worker_exit), never written to a ring the next owner may hold", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, maxWorkers: 1 });
    cleanup.push(() => hub.close());
    const first = startWorker("late-exit.mjs", { workerData: { ...hub.workerData, count: 3, late: 2 } });
    expect(await nextMessage(first)).toBe("ready");
    first.postMessage("exit");
    await exited(first);
    await hub.collect();
    let all = parse(await registry.metrics());
    expect(all.get("late_total")).toBe(3);
    expect(all.get('prom_threads_records_dropped_total{reason="worker_exit"}')).toBe(2);
    // The slot went back: the next owner records exactly, with the same local ids.
    const second = startWorker("late-exit.mjs", { workerData: { ...hub.workerData, count: 5, late: 0 } });
    cleanup.push(() => second.terminate());
    expect(await nextMessage(second)).toBe("ready");
    all = parse(await registry.metrics());
    expect(all.get("late_total")).toBe(8);
    expect(all.get('prom_threads_records_dropped_total{reason="malformed"}')).toBe(0);
  });
});
