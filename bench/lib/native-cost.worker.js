// Runs in a worker thread: ns per observation of native histograms and exemplars, side by side with the
// classic prom-threads observe() and prom-client's, in the same thread, alternating rounds.
import { parentPort, workerData } from "node:worker_threads";
import client from "prom-client";
import { Counter, Histogram } from "../../dist/worker/index.js";

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
const trace = { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736" };

// Each thread sends at most 1000 exemplars per second: exemplar cases run 1000 calls per round, in a
// fresh one-second budget, so every call measured sends its exemplar. One more case measures calls past
// the budget (the observation is recorded without its exemplar).
const EXEMPLAR_OPS = 1000;
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
const exemplarCases = {
  "prom-client histogram.observe with an exemplar (labels object)": () => {
    for (let i = 0; i < EXEMPLAR_OPS; i++) promExemplar.observe({ labels: series, value: (i & 1023) / 1000, exemplarLabels: trace });
  },
  "prom-threads native histogram.observe with an exemplar (labels object)": () => {
    for (let i = 0; i < EXEMPLAR_OPS; i++) exemplarHistogram.observe({ labels: series, value: (i & 1023) / 1000, exemplarLabels: trace });
  },
  "prom-threads counter.inc with an exemplar (labels object)": () => {
    for (let i = 0; i < EXEMPLAR_OPS; i++) exemplarCounter.inc({ labels: series, value: 1, exemplarLabels: trace });
  },
  "prom-threads native histogram.observe with exemplar labels, past the per-second budget": () => {
    for (let i = 0; i < EXEMPLAR_OPS; i++) exemplarHistogram.observe({ labels: series, value: (i & 1023) / 1000, exemplarLabels: trace });
  },
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const timeRun = (run, n) => {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / n;
};

const results = Object.fromEntries([...Object.keys(cases), ...Object.keys(exemplarCases)].map((name) => [name, []]));
for (const run of Object.values(cases)) run();
for (const run of Object.values(exemplarCases)) run();
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(cases)) results[name].push(timeRun(run, ops));
  // Let the hub drain between rounds, as it would in a real service.
  await sleep(50);
}
const names = Object.keys(exemplarCases);
for (let round = 0; round < rounds; round++) {
  for (const name of names) {
    const pastBudget = name.includes("past the per-second budget");
    // A fresh budget (the window is one second of Date.now()) for the cases that send, none left for the other.
    if (!pastBudget) await sleep(1010);
    results[name].push(timeRun(exemplarCases[name], EXEMPLAR_OPS));
  }
}
parentPort.postMessage(results);
