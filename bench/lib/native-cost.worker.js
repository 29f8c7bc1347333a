// Runs in a worker thread: ns per observation of native histograms and exemplars, side by side with the
// classic prom-threads observe() and prom-client's, in the same thread, alternating rounds.
import { parentPort, workerData } from "node:worker_threads";
import client from "prom-client";
import { Counter, Histogram } from "../../dist/worker/index.js";
import { labelsObjectShapes } from "./labels-object.js";
import { compileLoop } from "./loop.js";

const { ops, rounds } = workerData;
const registry = new client.Registry();
// prom-client accepts exemplars only on a registry in OpenMetrics mode.
const openMetricsRegistry = new client.Registry();
openMetricsRegistry.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE);
const labels = ["method", "status"];
const promChild = new client.Histogram({ name: "pc_seconds", help: "h", labelNames: labels, registers: [registry] }).labels("GET", "200");
const promExemplar = new client.Histogram({ name: "pc_ex_seconds", help: "h", labelNames: labels, registers: [openMetricsRegistry], enableExemplars: true });
const classic = new Histogram({ name: "pt_seconds", help: "h", labelNames: labels }).labels("GET", "200");
const nativeBoth = new Histogram({ name: "pt_both_seconds", help: "h", labelNames: labels, nativeHistogramBucketFactor: 1.1 }).labels("GET", "200");
const nativeOnly = new Histogram({ name: "pt_native_seconds", help: "h", labelNames: labels, buckets: [], nativeHistogramBucketFactor: 1.1 }).labels("GET", "200");
const nativeFine = new Histogram({ name: "pt_fine_seconds", help: "h", labelNames: labels, buckets: [], nativeHistogramBucketFactor: 1.001 }).labels("GET", "200");
const exemplarHistogram = new Histogram({ name: "pt_ex_seconds", help: "h", labelNames: labels, nativeHistogramBucketFactor: 1.1, enableExemplars: true });
const exemplarCounter = new Counter({ name: "pt_ex_total", help: "h", labelNames: labels, enableExemplars: true });
const series = { method: "GET", status: "200" };
// A W3C trace context's ids: a 32-hex trace id and a 16-hex span id.
const trace = { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736", span_id: "00f067aa0ba902b7" };

// Exemplar cases (and the labels-object ones below) run in two burst shapes, as the core cases: short bursts of 4096 calls with a pause for
// the hub between them (only the bursts are timed), and one burst of 10^6 calls per round.
const SHORT_BURST = 4096;
const SHORT_BURSTS = 8;
const LONG_BURST = ops >= 800_000 ? 1_000_000 : 200_000;
const cases = {
  "prom-client histogram.observe (stored child, 2 labels)": () => {
    for (let i = 0; i < ops; i++) promChild.observe((i & 1023) / 1000);
  },
  "prom-threads classic histogram.observe (stored child, 2 labels)": () => {
    for (let i = 0; i < ops; i++) classic.observe((i & 1023) / 1000);
  },
  "prom-threads native + classic observe (factor 1.1, stored child)": () => {
    for (let i = 0; i < ops; i++) nativeBoth.observe((i & 1023) / 1000);
  },
  "prom-threads native-only observe (factor 1.1, schema 3, stored child)": () => {
    for (let i = 0; i < ops; i++) nativeOnly.observe((i & 1023) / 1000);
  },
  "prom-threads native-only observe (factor 1.001, schema 8, stored child)": () => {
    for (let i = 0; i < ops; i++) nativeFine.observe((i & 1023) / 1000);
  },
};
const exemplarShapes = {
  "prom-client histogram.observe with an exemplar": (n) => {
    for (let i = 0; i < n; i++) promExemplar.observe({ labels: series, value: (i & 1023) / 1000, exemplarLabels: trace });
  },
  "prom-threads histogram.observe with an exemplar": (n) => {
    for (let i = 0; i < n; i++) exemplarHistogram.observe({ labels: series, value: (i & 1023) / 1000, exemplarLabels: trace });
  },
  "prom-threads counter.inc with an exemplar": (n) => {
    for (let i = 0; i < n; i++) exemplarCounter.inc({ labels: series, value: 1, exemplarLabels: trace });
  },
};
// observe(labels, value) with a fresh labels object, in the same two burst shapes (each loop compiled
// from its own source text, so the two libraries' call sites stay apart).
for (const [name, make, target] of labelsObjectShapes({ Histogram, client, registry, loop: (body) => compileLoop(body) })) {
  const run = make();
  exemplarShapes[name] = (n) => run(target, n);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const timeRun = (run, n) => {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / n;
};

const exemplarNames = Object.keys(exemplarShapes).flatMap((shape) => [`${shape}, short bursts`, `${shape}, 10^6 bursts`]);
const results = Object.fromEntries([...Object.keys(cases), ...exemplarNames].map((name) => [name, []]));
for (const run of Object.values(cases)) run();
for (const run of Object.values(exemplarShapes)) run(SHORT_BURST);
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(cases)) results[name].push(timeRun(run, ops));
  // Let the hub drain between rounds, as it would in a real service.
  await sleep(50);
}
for (let round = 0; round < rounds; round++) {
  for (const [shape, run] of Object.entries(exemplarShapes)) {
    let ns = 0;
    for (let b = 0; b < SHORT_BURSTS; b++) {
      ns += timeRun(() => run(SHORT_BURST), 1);
      await sleep(10);
    }
    results[`${shape}, short bursts`].push(ns / (SHORT_BURSTS * SHORT_BURST));
    results[`${shape}, 10^6 bursts`].push(timeRun(() => run(LONG_BURST), LONG_BURST));
    await sleep(100);
  }
}
parentPort.postMessage(results);
