/**
 * Slot ownership races, made deterministic by driving the slot table and the exit events by hand.
 */
import { EventEmitter } from "node:events";
import type { Worker } from "node:worker_threads";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { Layout, kSlotClaiming, kSlotFree, kOverflowCapacityWord, kRingCapacityWord, kSlotCountWord, kSlotState, kSlotThreadId } from "../../src/shared/transport/layout.js";
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
    const layout = new Layout(words[kSlotCountWord] as number, words[kRingCapacityWord] as number, words[kOverflowCapacityWord] as number);
    const base = layout.slotWord(0);

    // A worker owns slot 0, then exits by itself: its exit handler marks the slot, the hub frees it.
    const first = await Scripted.start({ workerData: hub.workerData });
    await first.ok("record", { kind: "counter", config: { name: "race_total", help: "h" }, count: 2 });
    const previousOwner = first.worker.threadId;
    expect(Atomics.load(words, base + kSlotThreadId)).toBe(previousOwner);
    await first.run("exit").catch(() => {});
    await exited(first.worker);
    await hub.collect();
    expect(Atomics.load(words, base + kSlotState)).toBe(kSlotFree);

    // Another worker has just won the slot (FREE -> CLAIMING) and not yet written its threadId: the word
    // still names the previous owner. Now the previous owner's exit reaches the hub (late, as it may).
    Atomics.store(words, base + kSlotState, kSlotClaiming);
    const { pool, worker } = fakePool(previousOwner);
    hub.attach(pool as never);
    worker.emit("exit", 0);
    // The claim must survive: freeing it would let a third worker write the same ring.
    expect(Atomics.load(words, base + kSlotState)).toBe(kSlotClaiming);
    expect(await registry.metrics()).toContain("race_total 2");
    Atomics.store(words, base + kSlotState, kSlotFree);
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

describe("a pool worker destroyed before it was ready", () => {
  it("still has its slot and gauge released: the hub follows it from the pool's workerDestroy event", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, maxWorkers: 1 });
    cleanup.push(() => hub.close());
    // A pool as piscina shapes it. Its worker claims a slot while loading (before "ready", so before
    // workerCreate); then the pool destroys it: workerDestroy fires while the worker is still listed.
    const events = new EventEmitter();
    const pool = { threads: [] as Worker[], on: events.on.bind(events), off: events.off.bind(events) };
    hub.attach(pool as never);
    const returned = new SharedArrayBuffer(16);
    const worker = startWorker("sequence-writer.mjs", { workerData: { ...hub.workerData, returned, index: 0, label: "early", die: { kind: "idle", at: 11, doneIndex: 1 } } });
    cleanup.push(() => worker.terminate());
    while (Atomics.load(new Int32Array(returned), 1) === 0) await new Promise((r) => setTimeout(r, 5));
    expect(parse(await registry.metrics()).get("seq_live")).toBe(1);
    // piscina's _removeWorker: terminate(), emit workerDestroy, then unlist. No drain runs in between.
    pool.threads = [worker];
    const gone = worker.terminate();
    events.emit("workerDestroy", { id: worker.threadId });
    pool.threads = [];
    await gone;
    await exited(worker);
    const all = parse(await registry.metrics());
    expect(all.has("seq_live")).toBe(false);
    expect(all.get("prom_threads_workers_connected")).toBe(0);
    expect(all.get('seq_total{w="early"}')).toBe(55);
  });
});
