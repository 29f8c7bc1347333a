// Type tests: checked by `tsc -p tsconfig.test.json` (part of `npm test` and `npm run lint`), never run.
import { Histogram as PromHistogram } from "prom-client";
import { countExceptions, time, trackInProgress, MetricsHub } from "../../src/main/index.js";
import { Piscina } from "piscina";
import { Counter, Gauge, Histogram, Summary, startThreadMetrics } from "../../src/worker/index.js";

const h = new Histogram({ name: "t_seconds", help: "h", labelNames: ["status"] as const });
const c = new Counter({ name: "t_total", help: "h" });
const g = new Gauge({ name: "t_g", help: "h" });
const p = new PromHistogram({ name: "p_seconds", help: "h", labelNames: ["status"] });

// A wrapped function keeps its exact type.
const wrapped: (a: number, b: string) => Promise<boolean> = time(h, async (a: number, b: string) => a > b.length);
const sync: (x: number) => number = time(p, (x: number) => x);
// A timed promise resolves to the promise's value.
const timed: Promise<number> = time(h, Promise.resolve(1));
// Outcome labels see the function's resolved result.
time(h, async () => 5, { labels: (result) => ({ status: result === 5 ? "ok" : "other" }) });
// Decorator form.
const decorator = time(h.labels("ok"));
countExceptions(c, () => 1, { filter: TypeError });
countExceptions(c, () => 1, { filter: (e) => e instanceof Error });
trackInProgress(g, async () => 1);

// @ts-expect-error a counter has no observe()
time(c, () => 1);
// @ts-expect-error a histogram has no dec()
trackInProgress(h, () => 1);
// @ts-expect-error labels not in labelNames
h.observe({ nope: "x" }, 1);
// @ts-expect-error a number is not a function, promise or options object
time(h, 5);
// @ts-expect-error the hub takes an options object
new MetricsHub(5);
// @ts-expect-error gauge aggregate must be one of the four
new Gauge({ name: "t_bad", help: "h", aggregate: "avg" });

// prom-client call shapes: inc(null), exemplar objects, prom-client's aggregator, end labels of a child timer.
c.inc(null);
const ex = new Counter({ name: "t_ex_total", help: "h", labelNames: ["code"] as const, enableExemplars: true });
ex.inc({ value: 2, labels: { code: "200" }, exemplarLabels: { traceId: "abc" } });
h.observe({ value: 0.2, labels: { status: "ok" }, exemplarLabels: { traceId: "abc" } });
new Gauge({ name: "t_agg", help: "h", aggregator: "max" });
h.labels("ok").startTimer()({ status: "fail" });
const got: Promise<never> = c.get();
c.reset();
// @ts-expect-error aggregator is one of prom-client's six
new Gauge({ name: "t_bad_agg", help: "h", aggregator: "median" });
// @ts-expect-error pruneAgedBuckets is a boolean
new Summary({ name: "t_s", help: "h", pruneAgedBuckets: "yes" });

// A piscina pool is attached as is, with or without pool options.
const hub = new MetricsHub();
const pool = new Piscina({ workerData: hub.workerData });
const detach: () => void = hub.attach(pool, { name: "images", wrapTasks: true, threadMetricsIntervalMs: 0 });
hub.attach(pool);
startThreadMetrics({ intervalMs: 1000, pool: "images" });
// @ts-expect-error wrapTasks is a boolean
hub.attach(pool, { wrapTasks: "yes" });
// @ts-expect-error the pool name is a string
hub.attach(pool, { name: 1 });

void detach;
void got;
void wrapped;
void sync;
void timed;
void decorator;

// Native histograms and exemplars take client_golang's option names and prom-client's call shapes.
const native = new Histogram({ name: "t_native", help: "h", labelNames: ["route"] as const, buckets: [], nativeHistogramBucketFactor: 1.1, enableExemplars: true });
native.observe({ value: 1, labels: { route: "/" }, exemplarLabels: { trace_id: "abc" } });
const exemplarCounter = new Counter({ name: "t_ex_total", help: "h", labelNames: ["route"] as const, enableExemplars: true });
exemplarCounter.inc({ value: 2, labels: { route: "/" }, exemplarLabels: { trace_id: "abc" } });
// @ts-expect-error the bucket factor is a number
new Histogram({ name: "t_bad_native", help: "h", nativeHistogramBucketFactor: "1.1" });
// @ts-expect-error exemplar calls need a value for observe()
native.observe({ labels: { route: "/" }, exemplarLabels: { trace_id: "abc" } });
// @ts-expect-error counters have no native histogram options
new Counter({ name: "t_bad_counter", help: "h", nativeHistogramBucketFactor: 1.1 });
