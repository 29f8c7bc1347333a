// Runs in a worker thread: where the time of a 10^6 burst goes. counter.inc (no bucket search) in bursts of
// 10^6 records, rounds alternating between three conditions of the hub in the main thread:
// - "draining": the hub drains concurrently (the doorbell and a 1 ms tick), as in the cost table;
// - "stalled": the main thread is blocked for the whole burst (it waits on `gate`), so the ring fills once,
//   then the overflow up to its bound (the hub's overflowRecords, 65,536 by default), with no reader
//   touching any line the writer uses; past the bound the writer waits overflowWaitMs (500 ms by default)
//   for a hub that makes no progress and drops the rest, counted: with the defaults that wait and those
//   drops are most of this row's time;
// - and the floor writer with its reader draining, for reference (lossless: the time it waits for a full
//   ring is taken out).
// Short bursts (4096 records, the fast path alone) of the same calls give the fast path's own cost.
// Per 10^6 burst it also counts the records that went to the ring and to the overflow, and (on Linux) the
// ns per record this thread ran and waited for a CPU and the ns the main thread ran: printed with
// BENCH_BREAKDOWN_DETAIL=1 (`BENCH_BREAKDOWN_DETAIL=1 node bench/core.js --single`: a run of several prints only the tables).
import { readFileSync } from "node:fs";
import { parentPort, threadId, workerData } from "node:worker_threads";
import { Layout, kOverflowCapacityWord, kOverflowWrite, kRingCapacityWord, kSlotCountWord, kSlotThreadId, kWriteIndex } from "../../dist/shared/transport/layout.js";
import { Counter } from "../../dist/worker/index.js";
import { FloorWriter, floorWaits } from "./floor-ring.js";
import { compileLoop } from "./loop.js";

const { rounds, gate } = workerData;
const long = 1_000_000;
const floor = new FloorWriter(workerData.floor);
const counter = new Counter({ name: "breakdown_total", help: "h" }).labels();
const flag = new Int32Array(gate);
const incShort = compileLoop("m.inc()");
const incDraining = compileLoop("m.inc()");
const incStalled = compileLoop("m.inc()");
const floorLong = compileLoop("m.record(0x101, i & 15, (i & 1023) / 1000)");
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Where this thread's records went: the ring's and the overflow's write indices, read from the slot header
 * of this thread (found by its threadId in the slot table), to count per burst how many records took each.
 */
function pathCounter() {
  const words = new Uint32Array(workerData.promThreads.buffer);
  const layout = new Layout(words[kSlotCountWord], words[kRingCapacityWord], words[kOverflowCapacityWord]);
  let header;
  const indices = () => {
    if (header === undefined) {
      for (let slot = 0; slot < layout.slotCount && header === undefined; slot++) {
        if (Atomics.load(words, layout.slotWord(slot) + kSlotThreadId) === threadId) header = layout.ringHeaderByte(slot) / 4;
      }
    }
    return header === undefined ? [0, 0] : [Atomics.load(words, header + kWriteIndex), Atomics.load(words, header + kOverflowWrite)];
  };
  const wrap = 2 * layout.overflowCapacity;
  // The burst runs in chunks of 2^14 calls, fewer than either index can wrap around in, sampled between.
  return (loop, m, n) => {
    let ring = 0;
    let overflow = 0;
    let [ringAt, overflowAt] = indices();
    const waitedBefore = floorWaits().ns;
    const start = process.hrtime.bigint();
    for (let done = 0; done < n; done += kChunk) {
      loop(m, Math.min(kChunk, n - done));
      const [ringNow, overflowNow] = indices();
      ring += (ringNow - ringAt) >>> 0;
      overflow += (overflowNow - overflowAt + wrap) % wrap;
      ringAt = ringNow;
      overflowAt = overflowNow;
    }
    const ns = (Number(process.hrtime.bigint() - start) - (floorWaits().ns - waitedBefore)) / n;
    return { ns, ring, overflow };
  };
}
const kChunk = 1 << 14;
const paths = pathCounter();

function settle() {
  return new Promise((resolve) => {
    parentPort.once("message", resolve);
    parentPort.postMessage({ settle: true });
  });
}
/** ns per call, less the time the floor waited for its reader on a full ring (see bench/lib/floor-ring.js). */
const time = (run, m, n) => {
  const waitedBefore = floorWaits().ns;
  const start = process.hrtime.bigint();
  run(m, n);
  return (Number(process.hrtime.bigint() - start) - (floorWaits().ns - waitedBefore)) / n;
};

/**
 * Nanoseconds a thread has run on a CPU and waited in the run queue so far (Linux's schedstat: this
 * thread's, or the main thread's), or `undefined` where it cannot be read.
 */
function schedstat(mainThread) {
  try {
    const [run, wait] = readFileSync(mainThread ? `/proc/self/task/${process.pid}/schedstat` : "/proc/thread-self/schedstat", "utf8").split(" ");
    return { run: Number(run), wait: Number(wait) };
  } catch {
    return undefined;
  }
}

/**
 * Per 10^6-burst case, per round: records of the burst written to the ring and to the overflow (for the
 * prom-threads cases), and per record the ns this thread ran, the ns it waited for a CPU, and the ns the
 * main thread ran meanwhile (where Linux tells).
 */
const routes = {};
let measuring = false;
function routed(name, run) {
  const self = schedstat(false);
  const main = schedstat(true);
  const out = run();
  const selfAfter = schedstat(false);
  const mainAfter = schedstat(true);
  if (measuring) {
    const round = { ...(out.ring === undefined ? {} : { ring: out.ring, overflow: out.overflow }) };
    if (self !== undefined && selfAfter !== undefined && main !== undefined && mainAfter !== undefined) {
      round.runNs = (selfAfter.run - self.run) / long;
      round.waitNs = (selfAfter.wait - self.wait) / long;
      round.mainRunNs = (mainAfter.run - main.run) / long;
    }
    if (routes[name] === undefined) routes[name] = [];
    routes[name].push(round);
  }
  return out.ns;
}

const cases = {
  "counter.inc, short bursts (fast path only)": async () => {
    let ns = 0;
    for (let b = 0; b < 64; b++) {
      ns += time(incShort, counter, 4096);
      Atomics.wait(sleeper, 0, 0, 2);
    }
    return ns / 64;
  },
  "counter.inc, 10^6 bursts, hub draining concurrently": async () => routed("counter.inc, 10^6 bursts, hub draining concurrently", () => paths(incDraining, counter, long)),
  "counter.inc, 10^6 bursts, hub stalled (ring once, then overflow, no reader)": async () => {
    // Ask the main thread to block until we are done, and wait until it is blocked.
    Atomics.store(flag, 0, 1);
    parentPort.postMessage({ stall: true });
    while (Atomics.load(flag, 0) !== 2) Atomics.wait(flag, 0, 1, 1);
    const ns = routed("counter.inc, 10^6 bursts, hub stalled (ring once, then overflow, no reader)", () => paths(incStalled, counter, long));
    // Release the main thread.
    Atomics.store(flag, 0, 0);
    Atomics.notify(flag, 0);
    return ns;
  },
  "floor, 10^6 bursts, reader draining concurrently": async () => routed("floor, 10^6 bursts, reader draining concurrently", () => ({ ns: time(floorLong, floor, long) })),
};
const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let round = -1; round < rounds; round++) {
  measuring = round >= 0;
  for (const [name, run] of Object.entries(cases)) {
    const ns = await run();
    if (round >= 0) results[name].push(ns);
    await settle();
  }
}
// With BENCH_BREAKDOWN_DETAIL=1, print where each 10^6 burst went (bench/core.js prints only the times).
if (process.env.BENCH_BREAKDOWN_DETAIL === "1") {
  for (const [name, rounds] of Object.entries(routes)) {
    console.log(`  detail: ${name}`);
    for (const r of rounds) {
      const where = r.ring === undefined ? "" : `ring ${r.ring}, overflow ${r.overflow}; `;
      const cpu = r.runNs === undefined ? "" : `per record: this thread ran ${r.runNs.toFixed(1)} ns, waited for a CPU ${r.waitNs.toFixed(1)} ns; the main thread ran ${r.mainRunNs.toFixed(1)} ns`;
      console.log(`    ${where}${cpu}`);
    }
  }
}
parentPort.postMessage({ done: true, results, routes });
