// Runs in a worker thread: produces `rate` observations per second for `seconds`, paced in 1 ms slices.
import { parentPort, workerData } from "node:worker_threads";
import { Histogram } from "../../dist/worker/index.js";

const { rate, seconds } = workerData;
const histogram = new Histogram({ name: "load_seconds", help: "h", labelNames: ["worker"] });
const child = histogram.labels(String(workerData.index));
const perSlice = Math.round(rate / 1000);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const start = performance.now();
let produced = 0;
const total = rate * seconds;
while (produced < total) {
  const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
  if (produced >= due) {
    // Ahead of schedule: sleep about a millisecond instead of spinning, leaving the core to others.
    Atomics.wait(sleeper, 0, 0, 1);
    continue;
  }
  while (produced < due) {
    child.observe((produced & 1023) / 1000);
    produced++;
  }
  // Yield now and then, as a real worker's event loop would.
  if ((produced & 0xffff) < perSlice) await new Promise((r) => setImmediate(r));
}
const elapsed = (performance.now() - start) / 1000;
parentPort.postMessage({ produced, elapsed });
