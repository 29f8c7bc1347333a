// OpenTelemetry benchmark (issue 23): ns per OTel `histogram.record()` in a worker thread through
// prom-threads' meterProvider, beside the same call on an OpenTelemetry SDK (@opentelemetry/sdk-metrics)
// started in that worker, and beside prom-threads' own histogram.observe() calls, in one thread, in
// alternating rounds. Alone: `node bench/otel.js [--quick]` (after `npm run build`). The SDK declares
// Node >= 22.15; the figures of each run name the Node that made them.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { compileLoop } from "./lib/loop.js";
import { fmt, flags, machine, summarize } from "./lib/stats.js";

/** The buckets of both histograms: prom-client's default bounds, the same for every case. */
const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The case every other is compared with. */
const BASELINE = "OTel histogram.record, 2 attributes: own OTel SDK in the worker";

/** ns/op of each case, measured in one worker thread connected to a hub. */
export async function otelCost({ quick }) {
  const { Registry } = await import("prom-client");
  const { MetricsHub } = await import("../dist/main/index.js");
  // A ring large enough for a round: the cost of a record call, not of waiting for the drain.
  const hub = new MetricsHub({ registry: new Registry(), ringBytes: 64 * 2 ** 20 });
  const raw = await new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { ...hub.workerData, ops: quick ? 50_000 : 200_000, rounds: quick ? 5 : 9 } });
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

/** Print the cases: median ns/op, spread, ratio to the call on the worker's own OTel SDK. */
export function printOtel({ cases }) {
  const base = cases[BASELINE]?.median ?? NaN;
  console.log("\nOpenTelemetry in a worker thread, ns per call (median of rounds, spread, fastest round, x the worker's own OTel SDK):");
  for (const [name, s] of Object.entries(cases)) {
    console.log(`  ${name.padEnd(78)} ${fmt(s.median).padStart(8)} ns  ±${(s.spread * 100).toFixed(0)}%  min ${fmt(s.min).padStart(7)} ns  x${(s.median / base).toFixed(2)}`);
  }
}

async function measureInWorker() {
  const { ops, rounds } = workerData;
  const { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } = await import("@opentelemetry/sdk-metrics");
  const { meterProvider, Histogram } = await import("../dist/worker/index.js");
  // The SDK needs a reader to keep what is recorded; this one exports nothing until shutdown.
  const exporter = { export: (_metrics, done) => done({ code: 0 }), forceFlush: async () => {}, shutdown: async () => {}, selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE };
  const sdk = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })] });
  const advice = { explicitBucketBoundaries: BOUNDS };
  const ours = meterProvider.getMeter("bench").createHistogram("bench.ours.duration", { unit: "s", advice });
  const theirs = sdk.getMeter("bench").createHistogram("bench.sdk.duration", { unit: "s", advice });
  // Instruments of their own for the calls without attributes: an instrument's labels are fixed by its
  // first record, and the ones above record with 2 attributes.
  const oursBare = meterProvider.getMeter("bench").createHistogram("bench.ours.bare.duration", { unit: "s", advice });
  const theirsBare = sdk.getMeter("bench").createHistogram("bench.sdk.bare.duration", { unit: "s", advice });
  const labelled = new Histogram({ name: "bench_observe_seconds", help: "h", labelNames: ["http_method", "http_status_code"], buckets: BOUNDS });
  const child = labelled.labels("GET", "200");
  const attributes = { "http.method": "GET", "http.status_code": "200" };
  const labels = { http_method: "GET", http_status_code: "200" };
  const cases = {
    "OTel histogram.record, 2 attributes: prom-threads meterProvider": [compileLoop("m.h.record((i & 1023) / 1000, m.a)"), { h: ours, a: attributes }],
    [BASELINE]: [compileLoop("m.h.record((i & 1023) / 1000, m.a)"), { h: theirs, a: attributes }],
    "OTel histogram.record, no attributes: prom-threads meterProvider": [compileLoop("m.h.record((i & 1023) / 1000)"), { h: oursBare }],
    "OTel histogram.record, no attributes: own OTel SDK in the worker": [compileLoop("m.h.record((i & 1023) / 1000)"), { h: theirsBare }],
    "prom-threads histogram.observe, labels object, 2 labels": [compileLoop("m.h.observe(m.l, (i & 1023) / 1000)"), { h: labelled, l: labels }],
    "prom-threads histogram.observe, stored child, 2 labels": [compileLoop("m.c.observe((i & 1023) / 1000)"), { c: child }],
  };
  const results = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (const [loop, m] of Object.values(cases)) loop(m, ops); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (const [name, [loop, m]] of Object.entries(cases)) {
      const start = process.hrtime.bigint();
      loop(m, ops);
      results[name].push(Number(process.hrtime.bigint() - start) / ops);
    }
    // Let the hub drain between rounds, as it would in a real service.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await sdk.shutdown();
  parentPort.postMessage(results);
}

if (!isMainThread) {
  await measureInWorker();
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const options = flags();
  const info = machine();
  console.log(`OpenTelemetry benchmarks${options.quick ? " (quick)" : ""} on ${info.cpu}, ${info.cores} cores, Node ${info.node}`);
  const result = await otelCost(options);
  printOtel(result);
  console.log(`records dropped: ${JSON.stringify(result.dropped)}`);
}
