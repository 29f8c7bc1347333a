// Runs in a worker thread: ns per call of prom-threads' record calls next to "the floor" (a lossless ring
// write of the same record at a cached limit, its reader in a thread of its own, the time it waits for a
// full ring taken out: bench/lib/floor-ring.js), "before" (counter.inc through version 0.1's writer,
// bench/lib/v01-writer.js) and prom-client, all in this one thread, rounds alternating
// so every case meets the same machine conditions. The hub (and the floor's reader) drain concurrently in
// the main thread. Two burst shapes:
// - short bursts: 4096 records (a sixteenth of the ring), then a pause while the readers drain; only the
//   bursts are timed. The ring never passes half full: the fast path alone.
// - 10^6 bursts: one burst of a million records per round. The ring (65,536 records) fills and overflows
//   while the hub drains it: the path every record takes under pressure.
import { parentPort, workerData } from "node:worker_threads";
import client from "prom-client";
import { Counter, Histogram, time } from "../../dist/worker/index.js";
import { FloorWriter, floorWaits } from "./floor-ring.js";
import { askToSettle, pause, timeBurst, timeShortBursts } from "./bursts.js";
import { compileLoop } from "./loop.js";
import { labelsObjectShapes } from "./labels-object.js";
import { V01Writer } from "./v01-writer.js";
import { BEFORE_INC, FLOOR } from "./goals.js";

const { ops, rounds, burst, bursts, floor: floorMemory, before: beforeMemory } = workerData;
const long = 1_000_000;
const registry = new client.Registry();
const floor = new FloorWriter(floorMemory);
// "Before": version 0.1's writer (worker-local spill buffer) behind 0.1's counter.inc, on a floor ring. The
// call reaches the writer as 0.1's (and today's) did: through a runtime object whose `writer` starts as a
// placeholder that connects on the first record and replaces itself with the ring writer.
const before = new V01Writer(beforeMemory);
class V01Runtime {
  writer;
  constructor() {
    const runtime = this;
    this.writer = {
      record(word0, aux, value) {
        runtime.writer = before;
        runtime.writer.record(word0, aux, value);
      },
    };
  }
}
const v01Runtime = new V01Runtime();
class V01CounterChild {
  #word0 = 0x101;
  inc(value = 1) {
    if (typeof value !== "number" || !(value >= 0 && value < Infinity)) throw new TypeError(`bad increment ${value}`);
    v01Runtime.writer.record(this.#word0, 0, value);
  }
}
const beforeCounter = new V01CounterChild();

/** Bucket layouts: 5, prom-client's default 11, and 30 (exponential, as latency histograms often are). */
const layouts = {
  5: [0.01, 0.05, 0.1, 0.5, 1],
  11: undefined,
  30: Array.from({ length: 30 }, (_, i) => Number((0.001 * 1.3 ** i).toPrecision(6))),
};
const hist = {};
for (const [n, buckets] of Object.entries(layouts)) {
  hist[n] = new Histogram({ name: `pt_seconds_${n}`, help: "h", labelNames: ["method", "status"], ...(buckets ? { buckets } : {}) }).labels("GET", "200");
}
const ptCounter = new Counter({ name: "pt_total", help: "h", labelNames: ["method", "status"] }).labels("GET", "200");
const promHistogram = new client.Histogram({ name: "pc_seconds", help: "h", labelNames: ["method", "status"], registers: [registry] }).labels("GET", "200");
const promCounter = new client.Counter({ name: "pc_total", help: "h", labelNames: ["method", "status"], registers: [registry] }).labels("GET", "200");
const ptTimed = time(hist[11], () => undefined);
const promTimed = time(promHistogram, () => undefined);
let clockSink = 0;
const clocks = {
  now() {
    // What time() reads: the clock before and after the call.
    const a = performance.now();
    const b = performance.now();
    clockSink += b - a;
  },
};

// Every case gets a loop compiled from its own source text, so no call site's type feedback is shared.
const loop = (body) => compileLoop(body, { from: true });
const observeLoop = () => loop("m.observe((i & 1023) / 1000)");
const incLoop = () => loop("m.inc()");
const callLoop = () => loop("m()");
const nowLoop = () => loop("m.now()");
const floorLoop = () => loop("m.record(0x101, i & 15, (i & 1023) / 1000)");

const shapes = [
  [FLOOR, floorLoop, floor],
  ["prom-threads histogram.observe, 5 buckets", observeLoop, hist[5]],
  ["prom-threads histogram.observe, 11 buckets (default)", observeLoop, hist[11]],
  ["prom-threads histogram.observe, 30 buckets", observeLoop, hist[30]],
  ["prom-threads counter.inc", incLoop, ptCounter],
  [BEFORE_INC, incLoop, beforeCounter],
];
shapes.push(...labelsObjectShapes({ Histogram, client, registry, loop }));
const cases = [];
for (const [shape, make, target] of shapes) {
  const shortRun = make();
  const longRun = make();
  cases.push({ name: `${shape}, short bursts`, kind: "short", run: (from, to) => shortRun(target, from, to) });
  cases.push({ name: `${shape}, 10^6 bursts`, kind: "long", run: (from, to) => longRun(target, from, to) });
}
const plain = (name, make, target, n) => {
  const run = make();
  cases.push({ name, kind: "plain", n, run: (from, to) => run(target, from, to) });
};
plain("prom-client histogram.observe (stored child, 2 labels, 11 buckets)", observeLoop, promHistogram, ops);
plain("prom-client counter.inc (stored child, 2 labels)", incLoop, promCounter, ops);
plain("two performance.now() reads (the clock reads of time())", nowLoop, clocks, ops / 4);
plain("prom-threads time() around a no-op", callLoop, ptTimed, ops / 4);
plain("prom-client time() around a no-op", callLoop, promTimed, ops / 4);

/**
 * Wait until the main thread has drained everything (the hub's rings and overflows, the floor's ring):
 * after a 10^6 burst the hub may still be reading the overflow, and until it has read it empty a
 * writer keeps writing there. The next case must start from an empty ring, as "short bursts" mean.
 */
function settle() {
  // 0.1's writer moves its spill into the ring only from this thread (a timer in 0.1): do it here.
  while (!before.flush()) pause(1);
  return askToSettle();
}

/** Time one round of a case; ns per call. */
function measure(c) {
  if (c.kind === "short") return timeShortBursts(c.run, burst, bursts);
  return timeBurst(c.run, c.kind === "long" ? long : c.n, settle);
}

const results = Object.fromEntries(cases.map((c) => [c.name, []]));
// Warm-up: let the JIT settle on every case.
for (const c of cases) await measure(c);
for (let round = 0; round < rounds; round++) for (const c of cases) results[c.name].push(await measure(c));
before.stop();
parentPort.postMessage({
  done: true,
  results,
  floorWritten: floor.written(),
  floorWaits: floor.waits,
  floorWaitedNs: floorWaits().ns,
  beforeDropped: before.dropped,
  clockSink,
});
