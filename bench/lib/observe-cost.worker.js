// Runs in a worker thread: measures ns per observation for prom-threads and prom-client side by side, in
// the same thread, alternating rounds so both see the same machine conditions.
import { parentPort, workerData } from "node:worker_threads";
import client from "prom-client";
import { Counter, Histogram, time } from "../../dist/worker/index.js";

const { ops, rounds } = workerData;
const registry = new client.Registry();
const promHistogram = new client.Histogram({ name: "pc_seconds", help: "h", labelNames: ["method", "status"], registers: [registry] });
const promCounter = new client.Counter({ name: "pc_total", help: "h", labelNames: ["method", "status"], registers: [registry] });
const ptHistogram = new Histogram({ name: "pt_seconds", help: "h", labelNames: ["method", "status"] });
const ptCounter = new Counter({ name: "pt_total", help: "h", labelNames: ["method", "status"] });

const promChild = promHistogram.labels("GET", "200");
const promCounterChild = promCounter.labels("GET", "200");
const ptChild = ptHistogram.labels("GET", "200");
const ptCounterChild = ptCounter.labels("GET", "200");
const ptTimed = time(ptChild, () => undefined);
const promTimed = time(promChild, () => undefined);

const cases = {
  "prom-client histogram.observe (stored child, 2 labels)": () => {
    for (let i = 0; i < ops; i++) promChild.observe((i & 1023) / 1000);
  },
  "prom-threads histogram.observe (stored child, 2 labels)": () => {
    for (let i = 0; i < ops; i++) ptChild.observe((i & 1023) / 1000);
  },
  "prom-client counter.inc (stored child, 2 labels)": () => {
    for (let i = 0; i < ops; i++) promCounterChild.inc();
  },
  "prom-threads counter.inc (stored child, 2 labels)": () => {
    for (let i = 0; i < ops; i++) ptCounterChild.inc();
  },
  "prom-client time() around a no-op": () => {
    for (let i = 0; i < ops / 4; i++) promTimed();
  },
  "prom-threads time() around a no-op": () => {
    for (let i = 0; i < ops / 4; i++) ptTimed();
  },
};
const opsOf = (name) => (name.includes("time()") ? ops / 4 : ops);

const results = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
// Warm-up: let the JIT settle on every case.
for (const run of Object.values(cases)) run();
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(cases)) {
    const start = process.hrtime.bigint();
    run();
    results[name].push(Number(process.hrtime.bigint() - start) / opsOf(name));
  }
  // Let the hub drain between rounds, as it would in a real service.
  await new Promise((resolve) => setTimeout(resolve, 20));
}
parentPort.postMessage(results);
