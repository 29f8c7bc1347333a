// The soak's firehose: a plain Worker that records as fast as it can until told to stop, so that main-
// thread stalls really fill its ring and its overflow (and records past the overflow bound are dropped,
// and counted). It is told to stop (control[0]) between calls, so its accounting is exact; it reports its
// counts by message when it stops (plain numbers: a long soak makes billions of calls, past any 32-bit word).
import { parentPort, workerData } from "node:worker_threads";
import { Counter, Histogram } from "../../dist/worker/index.js";

const control = new Int32Array(workerData.control);
const events = new Counter({ name: "soak_firehose_events_total", help: "Firehose events." }).labels();
const sizes = new Histogram({ name: "soak_firehose_bytes", help: "Firehose event sizes.", buckets: [64, 512, 4096] }).labels();
let started = 0;
let ok = 0;
let rejected = 0;
function call(fn) {
  started++;
  try {
    fn();
  } catch {
    rejected++;
    return;
  }
  ok++;
}
// Why Atomics.load: the driver raises the stop flag from the main thread.
for (let i = 0; Atomics.load(control, 0) === 0; i++) {
  call(() => events.inc());
  call(() => sizes.observe(i & 8191));
  if ((i & 4095) === 4095) await new Promise((resolve) => setImmediate(resolve));
}
parentPort.postMessage({ started, ok, rejected });
