// Native histogram and exemplar benchmarks: worker-side ns per observation, side by side with
// the classic observe() and prom-client. Part of `npm run bench`; alone: `node bench/native.js [--quick]`.
import os from "node:os";
import { Worker } from "node:worker_threads";
import client from "prom-client";
import { MetricsHub } from "../dist/main/index.js";
import { renderOpenMetrics } from "../dist/main/serve/openmetrics.js";
import { renderProtobuf } from "../dist/main/serve/protobuf/render.js";
import { renderText } from "../dist/main/serve/text-format.js";
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

/**
 * Microseconds to render one scrape of the same registry in each format: 50 label sets of a classic
 * histogram (11 buckets) and of a counter, 5 of a summary, from `getMetricsAsJSON()`.
 */
export async function renderCost({ quick }) {
  const registry = new client.Registry();
  const registers = [registry];
  const h = new client.Histogram({ name: "r_seconds", help: "Render bench.", labelNames: ["route"], registers });
  const c = new client.Counter({ name: "r_total", help: "Render bench.", labelNames: ["route"], registers });
  const s = new client.Summary({ name: "r_bytes", help: "Render bench.", labelNames: ["route"], registers });
  for (let r = 0; r < 50; r++) {
    for (let i = 0; i < 20; i++) h.observe({ route: `/r${r}` }, i / 7);
    c.inc({ route: `/r${r}` }, r);
    if (r < 5) for (let i = 0; i < 20; i++) s.observe({ route: `/r${r}` }, i);
  }
  const families = await registry.getMetricsAsJSON();
  const renderers = { text: renderText, openmetrics: renderOpenMetrics, protobuf: renderProtobuf };
  const iterations = quick ? 200 : 1000;
  const rounds = quick ? 5 : 9;
  const results = Object.fromEntries(Object.keys(renderers).map((name) => [name, []]));
  const bytes = Object.fromEntries(Object.entries(renderers).map(([name, render]) => [name, Buffer.byteLength(render(families))]));
  for (let round = -1; round < rounds; round++) {
    for (const [name, render] of Object.entries(renderers)) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < iterations; i++) render(families);
      if (round >= 0) results[name].push(Number(process.hrtime.bigint() - start) / 1000 / iterations);
    }
  }
  return Object.fromEntries(Object.entries(results).map(([name, values]) => [name, { ...summarize(values), bytes: bytes[name] }]));
}

/** Print the render costs. */
export function printRender(render) {
  console.log("\nrendering one scrape (50 histogram + 50 counter + 5 summary series), microseconds (median, spread, bytes):");
  for (const [name, s] of Object.entries(render)) console.log(`  ${name.padEnd(12)} ${fmt(s.median).padStart(8)} us  ±${(s.spread * 100).toFixed(0)}%  ${s.bytes} bytes`);
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
  // The load average, before and after: on a shared machine the figures mean little without it.
  const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" ");
  console.log(`native histogram benchmarks${options.quick ? " (quick)" : ""} on ${info.cpu}, ${info.cores} cores, Node ${info.node}, load ${load()}`);
  const result = await nativeCost(options);
  console.log(`load after the worker's cases: ${load()}`);
  printNative(result);
  printRender(await renderCost(options));
  console.log(`records dropped: ${JSON.stringify(result.dropped)}`);
}
