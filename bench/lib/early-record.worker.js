// Runs in a worker thread that records before it connects: its first counter.inc() finds no hub (the
// thread's workerData does not carry it) and throws ERR_PROM_THREADS_NOT_CONNECTED; then it calls
// connect(). The call site in CounterChild.inc has seen the writer before connecting: if that were
// another object than the one it writes through afterwards, the site would stay polymorphic for the
// thread's life. Measured like the cost table's cases, with the floor beside it in this thread.
import { parentPort, workerData } from "node:worker_threads";
import { Counter, connect } from "../../dist/worker/index.js";
import { FloorWriter } from "./floor-ring.js";
import { askToSettle, timeBurst, timeShortBursts } from "./bursts.js";
import { compileLoop } from "./loop.js";
import { EARLY_FLOOR, EARLY_INC } from "./goals.js";

const { rounds, burst, bursts, floor: floorMemory, late } = workerData;
const long = 1_000_000;
const counter = new Counter({ name: "early_total", help: "h", labelNames: ["method", "status"] }).labels("GET", "200");
let threw = "";
try {
  counter.inc();
} catch (error) {
  threw = error.code;
}
connect(late);
const floor = new FloorWriter(floorMemory);
const loop = (body) => compileLoop(body, { from: true });
const cases = [];
for (const [shape, body, target] of [
  [EARLY_FLOOR, "m.record(0x101, i & 15, (i & 1023) / 1000)", floor],
  [EARLY_INC, "m.inc()", counter],
]) {
  const shortRun = loop(body);
  const longRun = loop(body);
  cases.push({ name: `${shape}, short bursts`, short: true, run: (from, to) => shortRun(target, from, to) });
  cases.push({ name: `${shape}, 10^6 bursts`, short: false, run: (from, to) => longRun(target, from, to) });
}
/** Time one round of a case; ns per call. */
function measure(c) {
  return c.short ? timeShortBursts(c.run, burst, bursts) : timeBurst(c.run, long, askToSettle);
}
const results = Object.fromEntries(cases.map((c) => [c.name, []]));
for (const c of cases) await measure(c);
for (let round = 0; round < rounds; round++) for (const c of cases) results[c.name].push(await measure(c));
parentPort.postMessage({ done: true, results, threw, floorDropped: floor.dropped });
