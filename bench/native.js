// Native histogram and exemplar benchmarks (issue 13): worker-side ns per observation, side by side with
// the classic observe() and prom-client. Part of `npm run bench`; alone: `node bench/native.js [--quick]`.
import { Worker } from "node:worker_threads";
import client from "prom-client";
import { MetricsHub } from "../dist/main/index.js";
import { fmt, flags, machine, summarize } from "./lib/stats.js";

/** ns/op of each native/exemplar case, measured in one worker thread. */
export async function nativeCost({ quick }) {
  const hub = new MetricsHub({ registry: new client.Registry(), ringBytes: 64 * 2 ** 20 });
  const raw = await new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./lib/native-cost.worker.js", import.meta.url), {
      workerData: { ...hub.workerData, ops: quick ? 160_000 : 800_000, rounds: quick ? 5 : 9 },
    });
    worker.once("message", (m) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once("error", reject);
  });
  const stats = hub.stats();
  await hub.close();
  return { cases: Object.fromEntries(Object.entries(raw).map(([name, values]) => [name, summarize(values)])), dropped: stats.recordsDropped };
}

/** Print the cases as a table: median ns/op, spread, ratio to prom-client's plain observe(). */
export function printNative({ cases }) {
  const base = cases["prom-client histogram.observe (stored child, 2 labels)"]?.median ?? NaN;
  console.log("\nnative histograms and exemplars, ns per call (median of rounds, spread, x prom-client observe):");
  for (const [name, s] of Object.entries(cases)) {
    console.log(`  ${name.padEnd(76)} ${fmt(s.median).padStart(8)} ns  ±${(s.spread * 100).toFixed(0)}%  x${(s.median / base).toFixed(2)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const options = flags();
  const info = machine();
  console.log(`native histogram benchmarks${options.quick ? " (quick)" : ""} on ${info.cpu}, ${info.cores} cores, Node ${info.node}`);
  const result = await nativeCost(options);
  printNative(result);
  console.log(`records dropped: ${JSON.stringify(result.dropped)}`);
}
