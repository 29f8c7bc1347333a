// Runs in a worker thread: connects to the hub (one observation claims a slot and grows its ring), says so,
// and stays connected until told to exit, so the hub's shared memory can be read with it connected.
import { parentPort } from "node:worker_threads";
import { Histogram } from "../../dist/worker/index.js";

new Histogram({ name: "memory_seconds", help: "h" }).observe(0.1);
parentPort.postMessage("connected");
parentPort.once("message", () => process.exit(0));
