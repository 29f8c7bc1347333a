/**
 * The slot table is untrusted input too: a thread holding the handle (a buggy native addon, a stray
 * typed-array store, a library handed hub.handle by mistake) writes stores prom-threads never would into
 * the slot table, and hands connect() handles whose parts are not the hub's. The main process goes on
 * serving (every scrape answers 200 and passes promtool), an honest worker beside it is counted exactly,
 * and each bad slot is reported once, with its code. Real workers write the stores, at offsets from the
 * layout module.
 */
import type { Worker } from "node:worker_threads";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub, startHttpServer, type PromThreadsError } from "../../src/main/index.js";
import { ErrorCodes } from "../../src/shared/api/errors.js";
import { kSlotClaimed, kSlotExited, kSlotFree } from "../../src/shared/transport/layout.js";
import { promtoolCheck, skipWithout } from "../helpers/exposition-checkers.js";
import { samples } from "../helpers/exposition.js";
import { get } from "../helpers/http.js";
import { exited, nextMessage, startWorker, waitFor } from "../helpers/workers.js";

const noPromtool = skipWithout(["promtool"], "checking scrapes of a hub that met stray stores with promtool");

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

interface Reply {
  ok: boolean;
  result?: unknown;
  code?: string;
  message?: string;
}

/** A hub serving /metrics, its errors, a thread that writes stray stores, and honest workers. */
async function setup(options: Record<string, unknown> = {}) {
  const registry = new Registry();
  const hub = new MetricsHub({ registry, maxWorkers: 4, ...options });
  cleanups.push(() => hub.close());
  const errors: PromThreadsError[] = [];
  hub.on("error", (error) => errors.push(error));
  const server = await startHttpServer({ hub, port: 0, host: "127.0.0.1" });
  cleanups.push(() => server.close());
  const stray = startWorker("slot-stores.mjs", { workerData: { handle: hub.handle } });
  cleanups.push(() => stray.terminate());
  expect(await nextMessage(stray)).toEqual({ ready: true });
  const run = async (action: string, args: Record<string, unknown> = {}): Promise<Reply> => {
    const reply = nextMessage<Reply>(stray);
    stray.postMessage({ action, ...args });
    return reply;
  };
  const ok = async (action: string, args: Record<string, unknown> = {}): Promise<unknown> => {
    const reply = await run(action, args);
    if (!reply.ok) throw new Error(`${action}: ${reply.code} ${reply.message}`);
    return reply.result;
  };
  const honest = async (label: string) => {
    const worker = startWorker("honest-recorder.mjs", { workerData: { ...hub.workerData, label } });
    cleanups.push(() => worker.terminate());
    const ready = await nextMessage<{ ready: boolean; slot: number }>(worker);
    expect(ready.slot).toBeGreaterThanOrEqual(0);
    return { worker, slot: ready.slot, record: (count: number) => request(worker, { count }) };
  };
  /** Scrape over HTTP: 200, valid for promtool; returns the samples. */
  const scrape = async () => {
    const reply = await get(`http://127.0.0.1:${server.port}/metrics`);
    expect(reply.status).toBe(200);
    if (!noPromtool) expect((await promtoolCheck(reply.text)).error).toBeUndefined();
    return samples(reply.text);
  };
  const withCode = (code: string) => errors.filter((error) => error.code === code);
  return { registry, hub, errors, withCode, run, ok, honest, scrape };
}

function request(worker: Worker, message: Record<string, unknown>): Promise<unknown> {
  const reply = nextMessage(worker);
  worker.postMessage(message);
  return reply;
}

describe("a store into a slot nobody claimed", () => {
  it.each([
    ["CLAIMED", kSlotClaimed],
    ["EXITED", kSlotExited],
    ["a state no worker writes (77)", 77],
  ])("(%s, with the high-water mark raised over it) quarantines the slot, once; the hub serves on", async (_what, state) => {
    const { hub, withCode, ok, honest, scrape } = await setup();
    const a = await honest("a");
    const last = hub.stats().maxWorkers - 1;
    expect(a.slot).not.toBe(last);
    await ok("store", { field: "threadId", slot: last, value: 123_456 });
    await ok("store", { field: "state", slot: last, value: state });
    await ok("store", { field: "highWater", value: last + 1 });
    expect(await waitFor(() => withCode(ErrorCodes.SLOT_QUARANTINED).length > 0)).toBe(true);
    // A burst bigger than the ring, while the bad slot is there, and several drains after it.
    await a.record(200_000);
    for (let i = 0; i < 3; i++) expect((await scrape()).get('honest_total{w="a"}')).toBe(200_000);
    expect(withCode(ErrorCodes.SLOT_QUARANTINED)).toHaveLength(1);
    expect(withCode(ErrorCodes.SLOT_QUARANTINED)[0]?.message).toContain(`slot ${last} is quarantined`);
    expect(hub.stats().slotsQuarantined).toBe(1);
    expect(hub.stats().workersConnected).toBe(1);
  });

  it("is not read again until the slot is free, and a new occurrence is counted again", async () => {
    const { hub, withCode, ok, honest, scrape } = await setup();
    const a = await honest("a");
    const last = hub.stats().maxWorkers - 1;
    await ok("store", { field: "state", slot: last, value: kSlotClaimed });
    await ok("store", { field: "highWater", value: last + 1 });
    expect(await waitFor(() => hub.stats().slotsQuarantined === 1)).toBe(true);
    await ok("store", { field: "state", slot: last, value: kSlotFree });
    await scrape();
    await ok("store", { field: "state", slot: last, value: 9 });
    expect(await waitFor(() => hub.stats().slotsQuarantined === 2)).toBe(true);
    await a.record(10_000);
    expect((await scrape()).get('honest_total{w="a"}')).toBe(10_000);
    expect(withCode(ErrorCodes.SLOT_QUARANTINED)).toHaveLength(2);
  });
});

describe("a store into a live worker's slot", () => {
  it("of EXITED is ignored (the worker's exit event frees its slot), reported once, and its counts stay exact", async () => {
    const { hub, errors, ok, honest, scrape } = await setup();
    const a = await honest("a");
    const recording = a.record(400_000);
    await ok("store", { field: "state", slot: a.slot, value: kSlotExited });
    await recording;
    const stray = () => errors.filter((error) => error.code === ErrorCodes.MALFORMED_RECORD && error.message.includes("set to EXITED"));
    // The owner outlives its own EXITED store by a moment only; after a second it is a stray store.
    expect(await waitFor(() => stray().length > 0, 5000)).toBe(true);
    await a.record(100_000);
    expect((await scrape()).get('honest_total{w="a"}')).toBe(500_000);
    expect(stray()).toHaveLength(1);
    expect(hub.stats().workersConnected).toBe(1);
    expect(hub.stats().recordsDropped.ring_full).toBe(0);
    // Its real exit frees the slot.
    a.worker.postMessage({ action: "end" });
    await exited(a.worker);
    expect(hub.stats().workersConnected).toBe(0);
    expect((await scrape()).get('honest_total{w="a"}')).toBe(500_000);
  });

  it.each([
    ["FREE", kSlotFree],
    ["a state no worker writes (5)", 5],
  ])("of %s is ignored and put back at once, reported once, and its counts stay exact", async (_what, state) => {
    const { hub, errors, ok, honest, scrape } = await setup();
    const a = await honest("a");
    // The hub has read the worker's slot.
    await scrape();
    const recording = a.record(400_000);
    await ok("store", { field: "state", slot: a.slot, value: state });
    await recording;
    expect((await scrape()).get('honest_total{w="a"}')).toBe(400_000);
    expect(await ok("load", { field: "state", slot: a.slot })).toBe(kSlotClaimed);
    const stray = errors.filter((error) => error.code === ErrorCodes.MALFORMED_RECORD && error.message.includes(`slot ${a.slot}'s state word`));
    expect(stray).toHaveLength(1);
    expect(hub.stats().workersConnected).toBe(1);
  });

  it.each([
    ["FREE", kSlotFree],
    ["a state no worker writes (5)", 5],
    ["a state no worker writes (0xffffffff)", 0xffff_ffff],
  ])("of %s before the hub first read the slot is found by the records in it, put back, reported once", async (what, state) => {
    const { hub, errors, ok, honest, scrape } = await setup({ drainIntervalMs: 3_600_000 });
    const a = await honest("a");
    await ok("store", { field: "state", slot: a.slot, value: state });
    await a.record(100_000);
    expect((await scrape()).get('honest_total{w="a"}')).toBe(100_000);
    expect(await ok("load", { field: "state", slot: a.slot })).toBe(kSlotClaimed);
    const name = state === kSlotFree ? "FREE" : String(state >>> 0);
    expect(errors.filter((error) => error.message.includes(`slot ${a.slot}'s state word was set to ${name} `))).toHaveLength(1);
    expect(hub.stats().slotsQuarantined, what).toBe(0);
    expect(hub.stats().workersConnected).toBe(1);
    // Its exit frees the slot, and nothing it recorded is lost.
    a.worker.postMessage({ action: "end" });
    await exited(a.worker);
    expect(hub.stats().workersConnected).toBe(0);
    expect((await scrape()).get('honest_total{w="a"}')).toBe(100_000);
  });

  it("of another threadId does not move its release: the owner's own exit frees the slot", async () => {
    const { hub, ok, honest, scrape } = await setup();
    const a = await honest("a");
    await a.record(1000);
    await scrape();
    await ok("store", { field: "threadId", slot: a.slot, value: 987_654 });
    await a.record(1000);
    a.worker.postMessage({ action: "end" });
    await exited(a.worker);
    expect(hub.stats().workersConnected).toBe(0);
    expect((await scrape()).get('honest_total{w="a"}')).toBe(2000);
  });

  it("of an overflow write index out of range counts one malformed record per store, not one per drain", async () => {
    const { hub, withCode, ok, honest, scrape } = await setup();
    const a = await honest("a");
    await a.record(1000);
    const before = (await ok("load", { field: "overflowWrite", slot: a.slot })) as number;
    await ok("store", { field: "overflowWrite", slot: a.slot, value: 0xffff_fff0 });
    // Many drains: scrapes and the timer's (every 100 ms).
    for (let i = 0; i < 5; i++) {
      await scrape();
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    let all = await scrape();
    expect(all.get('prom_threads_records_dropped_total{reason="malformed"}')).toBe(1);
    expect(withCode(ErrorCodes.MALFORMED_RECORD)).toHaveLength(1);
    expect(withCode(ErrorCodes.MALFORMED_RECORD)[0]?.message).toContain("overflow write index 4294967280");
    expect(hub.stats().overflowRecords).toBe(0);
    // Put back, the worker goes on as before.
    await ok("store", { field: "overflowWrite", slot: a.slot, value: before });
    await a.record(1000);
    all = await scrape();
    expect(all.get('honest_total{w="a"}')).toBe(2000);
    expect(all.get('prom_threads_records_dropped_total{reason="malformed"}')).toBe(1);
  });
});

describe("connect() with a handle that is not the hub's", () => {
  it("refuses slot buffers the hub never made, and the thread stays as it was", async () => {
    const { hub, errors, run, ok, honest, scrape } = await setup();
    const a = await honest("a");
    const reply = await run("connectForgedSlots");
    expect(reply.code).toBe(ErrorCodes.INVALID_HANDLE);
    expect(reply.message).toContain("not the hub's own");
    // Not connected: a record is refused at the call, nothing reaches the hub.
    expect((await run("inc")).code).toBe(ErrorCodes.NOT_CONNECTED);
    await a.record(100_000);
    expect((await scrape()).get('honest_total{w="a"}')).toBe(100_000);
    // The same thread connects with the real handle afterwards, and is counted.
    await ok("connect");
    await ok("inc", { count: 3 });
    const all = await scrape();
    expect(all.get("stray_thread_total")).toBe(3);
    expect(hub.stats().workersConnected).toBe(2);
    expect(errors).toEqual([]);
  });

  it("turns an exception while reading the handle into ERR_PROM_THREADS_INVALID_HANDLE", async () => {
    const { run, ok, scrape } = await setup();
    const reply = await run("connectThrowingGetter");
    expect(reply.code).toBe(ErrorCodes.INVALID_HANDLE);
    expect(reply.message).toContain("a getter that throws");
    await ok("connect");
    await ok("inc", { count: 2 });
    expect((await scrape()).get("stray_thread_total")).toBe(2);
  });
});

describe("the handle's checks say what is wrong", () => {
  it("names a buffer that is not a hub's, and a version that is not this one, as such", async () => {
    const { readHandle } = await import("../../src/shared/transport/handle.js");
    const { kMagicWord } = await import("../../src/shared/transport/layout.js");
    const hub = new MetricsHub({ registry: new Registry(), selfMetrics: false });
    cleanups.push(() => hub.close());
    const copy = new SharedArrayBuffer(hub.handle.buffer.byteLength);
    new Uint8Array(copy).set(new Uint8Array(hub.handle.buffer));
    new Uint32Array(copy)[kMagicWord] = 0;
    const refusal = (value: unknown) => {
      try {
        readHandle(value);
      } catch (error) {
        return error as PromThreadsError;
      }
      throw new Error("readHandle() accepted the handle");
    };
    const badMagic = refusal({ ...hub.handle, buffer: copy });
    expect(badMagic.code).toBe(ErrorCodes.INVALID_HANDLE);
    expect(badMagic.message).toContain("not a prom-threads hub's");
    expect(badMagic.message).not.toContain("layout version");
    const otherVersion = refusal({ ...hub.handle, version: 99 });
    expect(otherVersion.code).toBe(ErrorCodes.INVALID_HANDLE);
    expect(otherVersion.message).toContain(`layout version 99, this prom-threads/worker expects ${hub.handle.version}`);
    // The hub's own handle passes.
    expect(readHandle(hub.workerData).layout.slotCount).toBe(hub.stats().maxWorkers);
  });
});

describe("a background drain that leaves a backlog", () => {
  it("takes its next step at the next turn of the event loop, with no other event and no scrape", async () => {
    // The timer ticks once an hour: only the doorbell and the continuation drain. The overflow holds the
    // whole burst, made while this thread is blocked (the default, 65,536 records, would drop the rest).
    const hub = new MetricsHub({ registry: new Registry(), ringBytes: 16384, overflowRecords: 1 << 20, drainIntervalMs: 3_600_000 });
    cleanups.push(() => hub.close());
    const records = 300_000;
    const done = new SharedArrayBuffer(4);
    const worker = startWorker("burst-signal.mjs", { workerData: { ...hub.workerData, records, done } });
    cleanups.push(() => worker.terminate());
    // The main thread is blocked while the worker records: the whole burst (about 290 rings, in the
    // worker's overflow) is waiting when the doorbell's drain runs. Then the worker idles and the main
    // thread waits on a timer only: each next step of one ring must come at the next turn.
    expect(Atomics.wait(new Int32Array(done), 0, 0, 20_000)).not.toBe("timed-out");
    const start = Date.now();
    while (hub.stats().recordsDrained < records && Date.now() - start < 5000) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hub.stats().recordsDrained).toBe(records);
    expect(hub.stats().overflowRecords).toBe(0);
  });

  it("does not keep an idle process alive", async () => {
    const { spawn } = await import("node:child_process");
    const main = new URL("../../dist/main/index.js", import.meta.url).href;
    const fixture = new URL("../fixtures/burst-then-park.mjs", import.meta.url).href;
    const script = `
      import { MetricsHub } from ${JSON.stringify(main)};
      import { Worker } from "node:worker_threads";
      const hub = new MetricsHub({ ringBytes: 16384 });
      const worker = new Worker(new URL(${JSON.stringify(fixture)}), { workerData: { ...hub.workerData, records: 100000, park: "wait", parkMs: 0 } });
      // At the process's exit, after the hub released the worker's slot on its exit event.
      process.on("exit", () => console.log("process exits", hub.stats().recordsDrained, hub.stats().workersConnected));
    `;
    const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "prom-threads-idle-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "idle.mjs"), script);
    const child = spawn(process.execPath, [join(dir, "idle.mjs")], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      child.on("exit", (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect(out).toContain("process exits 100000 0");
    expect(code).toBe(0);
  }, 30_000);
});
