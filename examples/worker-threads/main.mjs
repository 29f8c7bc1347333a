// Plain worker_threads: two workers record metrics; the main thread prints what they recorded.
// Run: node examples/worker-threads/main.mjs
import { Worker } from "node:worker_threads";
import { once } from "node:events";
import { register } from "prom-client";
import { MetricsHub } from "prom-threads";

const hub = new MetricsHub();
const workers = [0, 1].map(
  (index) => new Worker(new URL("./worker.mjs", import.meta.url), { workerData: { ...hub.workerData, index, items: 1000 } }),
);
for (const worker of workers) hub.attach(worker); // an exit frees the worker's slot at once
await Promise.all(workers.map((worker) => once(worker, "exit")));

console.log(await register.metrics()); // example_items_total{worker="0"} 1000, {worker="1"} 1000, ...
await hub.close();
