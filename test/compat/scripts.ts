/**
 * The compatibility contract: prom-client 15's unit tests for Counter, Gauge, Histogram and Summary
 * (test/counterTest.js, gaugeTest.js, histogramTest.js, summaryTest.js), rewritten as scripts of calls.
 * compat.test.ts runs each script inside a worker against the hub's registry and in the main thread
 * against plain prom-client, and compares what both export. Our own scripts: the scenarios follow the
 * names of prom-client's tests, the code is ours.
 */

export type Kind = "counter" | "gauge" | "histogram" | "summary";

/** A call in the worker: `metrics[m]` (or its child `labels(...labels)`) `.call(...args)`, then `end(...)`. */
export interface CallStep {
  m: number;
  labels?: unknown[];
  call: string;
  args?: unknown[];
  end?: unknown[];
}

/** A step in the main thread: `registry.resetMetrics()`, or a pause. */
export type MainStep = { main: "resetMetrics" } | { sleep: number };

export type Step = CallStep | MainStep;

export interface Script {
  name: string;
  metrics: Array<{ kind: Kind; config: Record<string, unknown> }>;
  steps: Step[];
  /** Values depend on elapsed time (timers): compared rounded to 0.01. */
  timed?: boolean;
  /** The prom-client side needs an OpenMetrics registry (exemplars). */
  openMetrics?: boolean;
}

const counter = (config: Record<string, unknown> = {}) => ({ kind: "counter" as const, config: { name: "c_total", help: "test", ...config } });
const gauge = (config: Record<string, unknown> = {}) => ({ kind: "gauge" as const, config: { name: "g", help: "test", ...config } });
const histogram = (config: Record<string, unknown> = {}) => ({ kind: "histogram" as const, config: { name: "h_seconds", help: "test", ...config } });
const summary = (config: Record<string, unknown> = {}) => ({ kind: "summary" as const, config: { name: "s_seconds", help: "test", ...config } });
const call = (name: string, ...args: unknown[]): CallStep => ({ m: 0, call: name, args });
const on = (labels: unknown[], name: string, ...args: unknown[]): CallStep => ({ m: 0, labels, call: name, args });
const reset: MainStep = { main: "resetMetrics" };

const ME = ["method", "endpoint"];
const M = ["method"];

const counterScripts: Script[] = [
  { name: "counter: inc() adds 1, inc(0) adds nothing", metrics: [counter()], steps: [call("inc"), call("inc"), call("inc", 0)] },
  { name: "counter: inc(value)", metrics: [counter()], steps: [call("inc", 100)] },
  { name: "counter: a negative increment throws and records nothing", metrics: [counter()], steps: [call("inc", -100)] },
  { name: "counter: a string increment throws", metrics: [counter()], steps: [call("inc", "3ms")] },
  { name: "counter: inc(0) exports 0", metrics: [counter()], steps: [call("inc", 0)] },
  { name: "counter: an unlabelled counter is exported at 0 from construction", metrics: [counter()], steps: [] },
  { name: "counter: one series per label set", metrics: [counter({ labelNames: ME })], steps: [on(["GET", "/test"], "inc"), on(["POST", "/test"], "inc")] },
  { name: "counter: labels given as an object", metrics: [counter({ labelNames: ME })], steps: [on([{ method: "POST", endpoint: "/test" }], "inc")] },
  {
    name: "counter: labels given to inc()",
    metrics: [counter({ labelNames: ME })],
    steps: [call("inc", { method: "GET", endpoint: "/test" }), call("inc", { method: "POST", endpoint: "/test" })],
  },
  { name: "counter: a wrong number of label values throws", metrics: [counter({ labelNames: ME })], steps: [on(["GET"], "inc")] },
  { name: "counter: a child increments by a value", metrics: [counter({ labelNames: ME })], steps: [on(["GET", "/test"], "inc", 100)] },
  {
    name: "counter: remove() one label set",
    metrics: [counter({ labelNames: ME })],
    steps: [call("inc", { method: "GET", endpoint: "/test" }), call("inc", { method: "POST", endpoint: "/test" }), call("remove", "POST", "/test")],
  },
  {
    name: "counter: remove() every label set",
    metrics: [counter({ labelNames: ME })],
    steps: [call("inc", { method: "GET", endpoint: "/test" }), call("remove", { method: "GET", endpoint: "/test" })],
  },
  { name: "counter: remove() with a wrong number of values throws", metrics: [counter({ labelNames: ME })], steps: [call("remove", "GET")] },
  { name: "counter: reset() of an unlabelled counter", metrics: [counter()], steps: [call("inc", 12), call("reset"), call("inc", 10)] },
  {
    name: "counter: reset() removes labelled series",
    metrics: [counter({ labelNames: ["serial", "active"] })],
    steps: [call("inc", { serial: "12345", active: "yes" }, 12), call("reset"), call("inc", { serial: "12345", active: "no" }, 10)],
  },
  { name: "counter: registry.resetMetrics() counts what workers recorded before it", metrics: [counter()], steps: [call("inc", 5), reset, call("inc", 1)] },
  {
    name: "counter: registry.resetMetrics() removes labelled series",
    metrics: [counter({ labelNames: ["code"] })],
    steps: [call("inc", { code: "200" }, 5), reset, call("inc", { code: "500" })],
  },
  { name: "counter: inc(null) adds 1", metrics: [counter()], steps: [call("inc", null), on([], "inc", null)] },
  { name: "counter: labels() with nothing recorded exports nothing", metrics: [counter({ labelNames: ["code"] })], steps: [on(["200"], "inc", -1), { m: 0, call: "labels", args: ["200"] }] },
  { name: "counter: a throwing call with labels records nothing", metrics: [counter({ labelNames: ["code"] })], steps: [call("inc", { code: "500" }, -1)] },
  { name: "counter: number label values keep their type", metrics: [counter({ labelNames: ["code"] })], steps: [on([200], "inc"), call("inc", { code: 404 })] },
  { name: "counter: zero() exports a label set at 0", metrics: [counter({ labelNames: ["code"] })], steps: [call("zero", { code: "200" })] },
  { name: "counter: duplicate label names", metrics: [counter({ labelNames: ["a", "a"] })], steps: [] },
  { name: "counter: a collect callback", metrics: [counter({ collect() {} })], steps: [] },
  {
    name: "counter: exemplar call shape",
    openMetrics: true,
    metrics: [counter({ labelNames: ["code"], enableExemplars: true })],
    steps: [call("inc", { value: 2, labels: { code: "200" }, exemplarLabels: { traceId: "abc" } })],
  },
];

const gaugeScripts: Script[] = [
  { name: "gauge: set()", metrics: [gauge()], steps: [call("set", 10)] },
  { name: "gauge: inc() adds 1", metrics: [gauge()], steps: [call("set", 10), call("inc")] },
  { name: "gauge: inc(value)", metrics: [gauge()], steps: [call("set", 10), call("inc", 5)] },
  { name: "gauge: dec() subtracts 1", metrics: [gauge()], steps: [call("set", 10), call("dec")] },
  { name: "gauge: dec(value)", metrics: [gauge()], steps: [call("set", 10), call("dec", 5)] },
  { name: "gauge: set(0) sets 0", metrics: [gauge()], steps: [call("set", 10), call("set", 0)] },
  { name: "gauge: inc(0) adds 0", metrics: [gauge()], steps: [call("set", 10), call("inc", 0)] },
  { name: "gauge: startTimer() sets elapsed seconds", timed: true, metrics: [gauge()], steps: [{ m: 0, call: "startTimer", end: [] }] },
  { name: "gauge: a string value throws", metrics: [gauge()], steps: [call("set", "asd")] },
  { name: "gauge: an unlabelled gauge is exported at 0 from construction", metrics: [gauge()], steps: [] },
  { name: "gauge: a child inc()", metrics: [gauge({ labelNames: ["code"] })], steps: [on(["200"], "inc")] },
  { name: "gauge: a child dec()", metrics: [gauge({ labelNames: ["code"] })], steps: [on(["200"], "dec")] },
  { name: "gauge: a child set()", metrics: [gauge({ labelNames: ["code"] })], steps: [on(["200"], "set", 500)] },
  { name: "gauge: labels given to inc()", metrics: [gauge({ labelNames: ["code"] })], steps: [call("inc", { code: "200" }, 3), call("dec", { code: "200" })] },
  { name: "gauge: a child startTimer()", timed: true, metrics: [gauge({ labelNames: ["code"] })], steps: [{ m: 0, labels: ["200"], call: "startTimer", end: [] }] },
  { name: "gauge: startTimer() with labels at the end", timed: true, metrics: [gauge({ labelNames: ["code"] })], steps: [{ m: 0, call: "startTimer", end: [{ code: 200 }] }] },
  {
    name: "gauge: startTimer() with labels before and after",
    timed: true,
    metrics: [gauge({ labelNames: ["code", "success"] })],
    steps: [{ m: 0, call: "startTimer", args: [{ code: 200 }], end: [{ success: "SUCCESS" }] }],
  },
  {
    name: "gauge: a child timer's end labels override the child's",
    timed: true,
    metrics: [gauge({ labelNames: ["code"] })],
    steps: [{ m: 0, labels: ["200"], call: "startTimer", end: [{ code: "500" }] }],
  },
  { name: "gauge: labels given as an object", metrics: [gauge({ labelNames: ["code"] })], steps: [on([{ code: "200" }], "set", 5)] },
  {
    name: "gauge: remove() one label set",
    metrics: [gauge({ labelNames: ["code"] })],
    steps: [on(["200"], "set", 1), on(["400"], "set", 2), call("remove", "200")],
  },
  { name: "gauge: remove() by labels object", metrics: [gauge({ labelNames: ["code"] })], steps: [on(["200"], "set", 1), call("remove", { code: "200" })] },
  { name: "gauge: reset() of an unlabelled gauge", metrics: [gauge()], steps: [call("set", 12), call("reset"), call("inc", 10)] },
  {
    name: "gauge: reset() removes labelled series",
    metrics: [gauge({ labelNames: ["serial", "active"] })],
    steps: [call("set", { serial: "12345", active: "yes" }, 12), call("reset"), call("set", { serial: "12345", active: "no" }, 10)],
  },
  {
    name: "gauge: registry.resetMetrics() removes labelled series",
    metrics: [gauge({ labelNames: ["code"] })],
    steps: [call("set", { code: "200" }, 5), reset, call("set", { code: "500" }, 1)],
  },
  { name: "gauge: labels() with nothing recorded exports nothing", metrics: [gauge({ labelNames: ["code"] })], steps: [{ m: 0, call: "labels", args: ["200"] }] },
  { name: "gauge: a throwing call with labels records nothing", metrics: [gauge({ labelNames: ["code"] })], steps: [call("set", { code: "500" }, "x")] },
  { name: "gauge: aggregator", metrics: [gauge({ aggregator: "max" })], steps: [call("set", 3)] },
  { name: "gauge: inc(null) throws", metrics: [gauge()], steps: [call("inc", null)] },
  { name: "gauge: a collect callback", metrics: [gauge({ collect() {} })], steps: [] },
];

const histogramScripts: Script[] = [
  { name: "histogram: observe() counts", metrics: [histogram()], steps: [call("observe", 0.5)] },
  { name: "histogram: observe(0)", metrics: [histogram()], steps: [call("observe", 0)] },
  { name: "histogram: a value on a bound goes in that bucket", metrics: [histogram()], steps: [call("observe", 1)] },
  { name: "histogram: several observations", metrics: [histogram()], steps: [call("observe", 0.05), call("observe", 5)] },
  { name: "histogram: +Inf equals the count", metrics: [histogram()], steps: [call("observe", 10)] },
  { name: "histogram: custom buckets in order", metrics: [histogram({ buckets: [1, 5] })], steps: [call("observe", 1.5)] },
  { name: "histogram: one series per label set", metrics: [histogram({ labelNames: ["code"] })], steps: [call("observe", { code: "200" }, 1), call("observe", { code: "300" }, 1)] },
  { name: "histogram: startTimer()", timed: true, metrics: [histogram()], steps: [{ m: 0, call: "startTimer", end: [] }] },
  { name: "histogram: a string value throws", metrics: [histogram()], steps: [call("observe", "asd")] },
  { name: "histogram: custom labels", metrics: [histogram({ labelNames: ["code"] })], steps: [call("observe", { code: "200" }, 1)] },
  { name: "histogram: le as a label name throws", metrics: [histogram({ labelNames: ["le"] })], steps: [] },
  { name: "histogram: a value above every bound", metrics: [histogram({ buckets: [1, 2] })], steps: [call("observe", 100)] },
  { name: "histogram: reset() removes every series", metrics: [histogram()], steps: [call("observe", 1), call("reset")] },
  { name: "histogram: reset() then observe", metrics: [histogram()], steps: [call("observe", 1), call("reset"), call("observe", 2)] },
  { name: "histogram: an unlabelled histogram is exported at 0 from construction", metrics: [histogram()], steps: [] },
  { name: "histogram: a child observes", metrics: [histogram({ labelNames: M })], steps: [on(["GET"], "observe", 1)] },
  { name: "histogram: a wrong number of label values throws", metrics: [histogram({ labelNames: M })], steps: [on(["GET", "500"], "observe", 1)] },
  { name: "histogram: a child startTimer()", timed: true, metrics: [histogram({ labelNames: M })], steps: [{ m: 0, labels: ["GET"], call: "startTimer", end: [] }] },
  { name: "histogram: startTimer() with labels at the end", timed: true, metrics: [histogram({ labelNames: M })], steps: [{ m: 0, call: "startTimer", end: [{ method: "get" }] }] },
  {
    name: "histogram: startTimer() with labels before and after",
    timed: true,
    metrics: [histogram({ labelNames: ["method", "success"] })],
    steps: [{ m: 0, call: "startTimer", args: [{ method: "get" }], end: [{ success: "SUCCESS" }] }],
  },
  {
    name: "histogram: end labels override start labels",
    timed: true,
    metrics: [histogram({ labelNames: M })],
    steps: [{ m: 0, call: "startTimer", args: [{ method: "GET" }], end: [{ method: "POST" }] }],
  },
  {
    name: "histogram: a child timer's end labels override the child's",
    timed: true,
    metrics: [histogram({ labelNames: M })],
    steps: [{ m: 0, labels: ["200"], call: "startTimer", end: [{ method: "500" }] }],
  },
  { name: "histogram: labels given as an object", timed: true, metrics: [histogram({ labelNames: M })], steps: [{ m: 0, labels: [{ method: "GET" }], call: "startTimer", end: [] }] },
  { name: "histogram: zero() a label set", metrics: [histogram({ labelNames: M })], steps: [call("zero", { method: "POST" })] },
  { name: "histogram: zero() then observe", metrics: [histogram({ labelNames: M })], steps: [call("zero", { method: "POST" }), call("observe", { method: "POST" }, 1)] },
  { name: "histogram: remove() one label set", metrics: [histogram({ labelNames: M })], steps: [on(["POST"], "observe", 3), on(["GET"], "observe", 4), call("remove", "POST")] },
  { name: "histogram: remove() every label set", metrics: [histogram({ labelNames: M })], steps: [on(["POST"], "observe", 3), call("remove", "POST")] },
  { name: "histogram: remove() with a wrong number of values throws", metrics: [histogram({ labelNames: M })], steps: [call("remove", "POST", "x")] },
  { name: "histogram: labels() with nothing recorded exports nothing", metrics: [histogram({ labelNames: M })], steps: [{ m: 0, call: "labels", args: ["200"] }] },
  { name: "histogram: registry.resetMetrics() removes every series", metrics: [histogram()], steps: [call("observe", 1), reset] },
  {
    name: "histogram: exemplar call shape",
    openMetrics: true,
    metrics: [histogram({ labelNames: M, enableExemplars: true })],
    steps: [call("observe", { value: 0.3, labels: { method: "GET" }, exemplarLabels: { traceId: "abc" } })],
  },
];

const summaryScripts: Script[] = [
  { name: "summary: observe()", metrics: [summary()], steps: [call("observe", 100)] },
  { name: "summary: observe(0)", metrics: [summary()], steps: [call("observe", 0)] },
  { name: "summary: unknown labels throw", metrics: [summary()], steps: [call("observe", { foo: "bar" }, 1)] },
  {
    name: "summary: percentiles over many values",
    metrics: [summary()],
    steps: [100, 50, 129, 54, 63, 200, 12, 7, 1, 1000].map((v) => call("observe", v)),
  },
  {
    name: "summary: custom percentiles",
    metrics: [summary({ percentiles: [0.01, 0.1, 0.5] })],
    steps: [100, 50, 129, 54, 63].map((v) => call("observe", v)),
  },
  { name: "summary: reset()", metrics: [summary()], steps: [call("observe", 100), call("reset")] },
  { name: "summary: an unlabelled summary is exported at 0 from construction", metrics: [summary()], steps: [] },
  {
    name: "summary: one series per label set",
    metrics: [summary({ labelNames: ME })],
    steps: [on(["GET", "/test"], "observe", 50), on(["POST", "/test"], "observe", 100), on(["GET", "/test"], "observe", 150)],
  },
  { name: "summary: a wrong number of label values throws", metrics: [summary({ labelNames: ME })], steps: [on(["GET"], "observe", 1)] },
  { name: "summary: a child startTimer()", timed: true, metrics: [summary({ labelNames: M })], steps: [{ m: 0, labels: ["GET"], call: "startTimer", end: [] }] },
  { name: "summary: startTimer() with labels at the end", timed: true, metrics: [summary({ labelNames: M })], steps: [{ m: 0, call: "startTimer", end: [{ method: "GET" }] }] },
  {
    name: "summary: startTimer() with labels before and after",
    timed: true,
    metrics: [summary({ labelNames: ["method", "success"] })],
    steps: [{ m: 0, call: "startTimer", args: [{ method: "GET" }], end: [{ success: "SUCCESS" }] }],
  },
  {
    name: "summary: a child timer's end labels override the child's",
    timed: true,
    metrics: [summary({ labelNames: M })],
    steps: [{ m: 0, labels: ["200"], call: "startTimer", end: [{ method: "500" }] }],
  },
  { name: "summary: labels given as an object", metrics: [summary({ labelNames: M })], steps: [on([{ method: "GET" }], "observe", 3)] },
  { name: "summary: remove() one label set", metrics: [summary({ labelNames: M })], steps: [on(["GET"], "observe", 1), on(["POST"], "observe", 2), call("remove", "GET")] },
  { name: "summary: remove() with a wrong number of values throws", metrics: [summary({ labelNames: M })], steps: [call("remove", "GET", "x")] },
  { name: "summary: quantile as a label name throws", metrics: [summary({ labelNames: ["quantile"] })], steps: [] },
  { name: "summary: labels() with nothing recorded exports nothing", metrics: [summary({ labelNames: M })], steps: [{ m: 0, call: "labels", args: ["200"] }] },
  { name: "summary: registry.resetMetrics() keeps series at 0", metrics: [summary({ labelNames: M })], steps: [call("observe", { method: "GET" }, 4), reset] },
  {
    name: "summary: a sliding window without pruneAgedBuckets shows 0 after it passes",
    metrics: [summary({ maxAgeSeconds: 1, ageBuckets: 1, percentiles: [0.5] })],
    steps: [call("observe", 100), { sleep: 1300 }],
  },
  {
    name: "summary: pruneAgedBuckets drops a series whose window passed",
    metrics: [summary({ labelNames: M, maxAgeSeconds: 1, ageBuckets: 1, pruneAgedBuckets: true, percentiles: [0.5] })],
    steps: [call("observe", { method: "GET" }, 100), { sleep: 1300 }],
  },
  { name: "summary: without a window nothing slides", metrics: [summary({ percentiles: [0.5] })], steps: [call("observe", 100), { sleep: 300 }] },
];

/** Every script. */
export const SCRIPTS: Script[] = [...counterScripts, ...gaugeScripts, ...histogramScripts, ...summaryScripts];

/**
 * Where prom-threads differs from prom-client, by script name, each mapped to the first cell of its row in
 * the README's compatibility table. compat.test.ts checks that every one of these still differs (so the
 * list stays true), that the README has the row, and that every other script is identical.
 */
export const KNOWN_DIFFERENCES: Record<string, string> = {
  "counter: remove() one label set": "`remove()` on a counter or histogram",
  "counter: remove() every label set": "`remove()` on a counter or histogram",
  "histogram: remove() one label set": "`remove()` on a counter or histogram",
  "histogram: remove() every label set": "`remove()` on a counter or histogram",
  "summary: remove() one label set": "`remove()` on a summary",
  "counter: duplicate label names": "`labelNames` with a name twice",
  "counter: a collect callback": "`collect` option",
  "gauge: a collect callback": "`collect` option",
  "counter: zero() exports a label set at 0": "`Counter.zero()`",
  "counter: exemplar call shape": "exemplars (`enableExemplars: true`)",
  "histogram: exemplar call shape": "exemplars (`enableExemplars: true`)",
  "histogram: le as a label name throws": "`le` on a histogram, `quantile` on a summary",
  "summary: quantile as a label name throws": "`le` on a histogram, `quantile` on a summary",
};

/**
 * Known differences that show with one registry type only: a counter's and a histogram's exemplar calls
 * are identical to prom-client's with OpenMetrics registries (exemplar timestamps aside), histogram
 * exemplars in `registry.metrics()` included, and differ with text registries (prom-client refuses them).
 */
export const DIFFERS_IN_SOME_FORMATS = new Set<string>(["counter: exemplar call shape", "histogram: exemplar call shape"]);
