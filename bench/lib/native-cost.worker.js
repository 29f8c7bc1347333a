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

// Exemplar cases run fewer operations: each one is a block on the ring, and rounds must not fill it.
const cases = {
  "prom-client histogram.observe (stored child, 2 labels)": [1, () => {
    for (let i = 0; i < ops; i++) promChild.observe((i & 1023) / 1000);
  }],
  "prom-threads classic histogram.observe (stored child, 2 labels)": [1, () => {
    for (let i = 0; i < ops; i++) classic.observe((i & 1023) / 1000);
  }],
  "prom-threads native + classic observe (factor 1.1, stored child)": [1, () => {
    for (let i = 0; i < ops; i++) nativeBoth.observe((i & 1023) / 1000);
  }],
  "prom-threads native-only observe (factor 1.1, schema 3, stored child)": [1, () => {
    for (let i = 0; i < ops; i++) nativeOnly.observe((i & 1023) / 1000);
  }],
  "prom-threads native-only observe (factor 1.001, schema 8, stored child)": [1, () => {
    for (let i = 0; i < ops; i++) nativeFine.observe((i & 1023) / 1000);
  }],
  "prom-client histogram.observe with an exemplar (labels object)": [16, () => {
    for (let i = 0; i < ops / 16; i++) promExemplar.observe({ labels: series, value: (i & 1023) / 1000, exemplarLabels: trace });
  }],
  "prom-threads native histogram.observe with an exemplar (labels object)": [16, () => {
    for (let i = 0; i < ops / 16; i++) exemplarHistogram.observe({ labels: series, value: (i & 1023) / 1000, exemplarLabels: trace });
  }],
  "prom-threads counter.inc with an exemplar (labels object)": [16, () => {
    for (let i = 0; i < ops / 16; i++) exemplarCounter.inc({ labels: series, value: 1, exemplarLabels: trace });
  }],
};

const results = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (const [, run] of Object.values(cases)) run();
for (let round = 0; round < rounds; round++) {
  for (const [name, [divisor, run]] of Object.entries(cases)) {
    const start = process.hrtime.bigint();
    run();
    results[name].push(Number(process.hrtime.bigint() - start) / (ops / divisor));
  }
  // Let the hub drain between rounds, as it would in a real service.
  await new Promise((resolve) => setTimeout(resolve, 50));
}
parentPort.postMessage(results);
