/**
 * Forged pushes from a real cluster worker process (written straight onto its IPC channel): whatever a
 * process sends, every scrape of the primary stays a valid exposition (promtool and the Python strict
 * parser judge it, in both formats), a family holds at most maxSeries label sets, a NaN sum cannot poison
 * a total, and every refusal is counted and reported.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterAggregator, ErrorCodes, startHttpServer, type MetricsServer, type PromThreadsError } from "../../../src/main/index.js";
import { command, fork, killAll, type Proc } from "../../helpers/cluster.js";
import { assertValidExposition, skipWithout } from "../../helpers/exposition-checkers.js";
import { samples } from "../../helpers/exposition.js";
import { get, PROMETHEUS_ACCEPT } from "../../helpers/http.js";

const skip = skipWithout(["promtool", "python"], "checking the primary's exposition after forged pushes");

let aggregator: ClusterAggregator;
let server: MetricsServer;
let proc: Proc;
const errors: PromThreadsError[] = [];
let seq = 0;

beforeAll(async () => {
  if (skip) return;
  aggregator = new ClusterAggregator({ scrapeWaitMs: 50 });
  aggregator.on("error", (error) => errors.push(error));
  server = await startHttpServer({ registry: aggregator.registry, port: 0 });
  proc = await fork({ PROC: "forger" });
});

afterAll(async () => {
  if (skip) return;
  await killAll();
  await server.close();
  await aggregator.close();
});

/** Write one push with these families onto the process's channel, as if its publisher had sent it. */
async function forge(families: unknown[]): Promise<void> {
  const message = { type: "prom-threads:cluster", v: 1, kind: "push", session: "forged", seq: ++seq, full: false, ack: true, families };
  await command(proc, { test: "raw", message });
}

/** The same with a version-2 push, whose series may end with an extra (exemplars, created time, native buckets). */
async function forge2(families: unknown[]): Promise<void> {
  const message = { type: "prom-threads:cluster", v: 2, kind: "push", session: "forged", seq: ++seq, full: false, ack: true, families };
  await command(proc, { test: "raw", message });
}

/** Scrape the primary over HTTP in both formats and have both judges check each. */
async function scrapeValid(): Promise<Map<string, number>> {
  const text = await get(server.url);
  expect(text.status).toBe(200);
  await assertValidExposition(text.text, "text");
  const openMetrics = await get(server.url, { headers: { accept: PROMETHEUS_ACCEPT } });
  expect(openMetrics.headers["content-type"]).toContain("openmetrics");
  await assertValidExposition(openMetrics.text, "openmetrics");
  return samples(text.text);
}

const counter = (n: string, labels: Record<string, unknown> = {}, value: unknown = 1): unknown => ({ n, h: "Forged.", t: "counter", a: "sum", s: [[labels, value]] });

// Each case is one forged family that must be refused or neutralised without breaking the exposition.
const FORGED: [string, unknown][] = [
  ["a name with a space", counter("bad name")],
  ["a name with a newline that injects a line", counter("x_total 1\ninjected_total")],
  ["an empty name", counter("")],
  ["a name starting with __", counter("__reserved_total")],
  ["a name starting with a digit", counter("1abc")],
  ["a name of 2000 characters", counter("n".repeat(2000))],
  ["a label name with a dash", counter("f_dash_total", { "bad-label": "x" })],
  ["a label name starting with __", counter("f_res_total", { __name__: "x" })],
  ["an empty label name", counter("f_empty_total", { "": "x" })],
  ["a label value that is a number", counter("f_num_total", { k: 1 })],
  ["a label value with a lone surrogate", counter("f_sur_total", { k: "a\uD800" })],
  ["a label value of 2000 bytes", counter("f_long_total", { k: "v".repeat(2000) })],
  ["40 labels", counter("f_many_total", Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`l${i}`, "x"])))],
  ["le on a histogram", { n: "f_le_seconds", h: "H.", t: "histogram", a: "sum", b: [1], s: [[{ le: "5" }, 1, 1, 1]] }],
  ["quantile on a summary", { n: "f_q_seconds", h: "S.", t: "summary", a: "sum", b: [0.5], s: [[{ quantile: "0.9" }, 1, 1, 1]] }],
  ["histogram buckets out of order", { n: "f_order_seconds", h: "H.", t: "histogram", a: "sum", b: [2, 1], s: [] }],
  ["histogram buckets with NaN", { n: "f_nanb_seconds", h: "H.", t: "histogram", a: "sum", b: ["NaN"], s: [] }],
  ["a summary quantile of 1.5", { n: "f_q15_seconds", h: "S.", t: "summary", a: "sum", b: [1.5], s: [] }],
  ["an unknown type", { n: "f_untyped", h: "U.", t: "untyped", a: "sum", s: [[{}, 1]] }],
  ["help that is not a string", { n: "f_help_total", h: 5, t: "counter", a: "sum", s: [[{}, 1]] }],
  ["help of 2000 bytes", { n: "f_helplong_total", h: "h".repeat(2000), t: "counter", a: "sum", s: [[{}, 1]] }],
  ["a counter of NaN", counter("f_nan_total", {}, "NaN")],
  ["a counter of -Inf", counter("f_ninf_total", {}, "-Inf")],
  ["a counter of a string", counter("f_str_total", {}, "12")],
  ["a series that is not a list", { n: "f_row_total", h: "R.", t: "counter", a: "sum", s: [{ k: "v" }] }],
  ["a family that is not an object", "f_string"],
];

const counter2 = (n: string, extra: unknown, value: unknown = 1): unknown => ({ n, h: "Forged.", t: "counter", a: "sum", s: [[{}, value, extra]] });
const native = (n: string, h: unknown, declared = true, count = 3): unknown => ({ n, h: "Forged.", t: "histogram", a: "sum", b: [], ...(declared ? { nh: 1 } : {}), s: [[{}, 1, count, { h }]] });
const exemplar = (labels: unknown, value: unknown = 1, timestamp: unknown = 1_700_000_000, slot: unknown = 0): unknown => ({ x: [[slot, labels, value, timestamp]] });
const goodNative = { s: 0, z: 0, zc: 1, p: [1, 2], n: [] };

// Each case is one forged series of a version-2 push (or a version-1 push with a version-2 series).
const FORGED_EXTRAS: [string, unknown, 1 | 2][] = [
  ["an exemplar label name with a dash", counter2("fx_dash_total", exemplar({ "trace-id": "a" })), 2],
  ["exemplar labels that are a list", counter2("fx_list_total", exemplar(["a"])), 2],
  ["an exemplar label value that is a number", counter2("fx_num_total", exemplar({ trace_id: 5 })), 2],
  ["exemplar labels of 129 characters", counter2("fx_long_total", exemplar({ trace_id: "t".repeat(121) })), 2],
  ["an exemplar label value with a lone surrogate", counter2("fx_sur_total", exemplar({ trace_id: "a\uD800" })), 2],
  ["an exemplar slot out of range", counter2("fx_slot_total", exemplar({ trace_id: "a" }, 1, 1_700_000_000, 1)), 2],
  ["an exemplar value that is a string", counter2("fx_val_total", exemplar({ trace_id: "a" }, "1")), 2],
  ["an exemplar timestamp of -1", counter2("fx_ts_total", exemplar({ trace_id: "a" }, 1, -1)), 2],
  ["an exemplar that is not a list", counter2("fx_shape_total", { x: [{ trace_id: "a" }] }), 2],
  ["a created time that is a string", counter2("fx_created_total", { c: "yesterday" }), 2],
  ["an extra on a gauge", { n: "fx_gauge", h: "G.", t: "gauge", a: "sum", s: [[{}, 1, { c: 1 }]] }, 2],
  ["an extra in a version-1 push", counter2("fx_v1_total", exemplar({ trace_id: "a" })), 1],
  ["native buckets on a histogram not declared native", native("fx_classic_seconds", goodNative, false), 2],
  ["a native flag on a counter", { n: "fx_flag_total", h: "C.", t: "counter", a: "sum", nh: 1, s: [[{}, 1]] }, 2],
  ["a native schema of 9", native("fx_schema_seconds", { ...goodNative, s: 9 }), 2],
  ["a native zero threshold of NaN", native("fx_zt_seconds", { ...goodNative, z: "NaN" }), 2],
  ["a native bucket count of 1.5", native("fx_frac_seconds", { ...goodNative, p: [1, 1.5] }), 2],
  ["a negative native zero count", native("fx_negzero_seconds", { ...goodNative, zc: -1 }), 2],
  ["native bucket indexes out of order", native("fx_order_seconds", { ...goodNative, p: [2, 1, 1, 1] }), 2],
  ["a native bucket index past 2^20", native("fx_far_seconds", { ...goodNative, p: [2 ** 21, 1] }), 2],
  ["a native side of odd length", native("fx_odd_seconds", { ...goodNative, p: [1] }), 2],
  ["more native observations than the series' count", native("fx_more_seconds", goodNative, true, 2), 2],
  ["a native exemplar without a timestamp", native("fx_nex_seconds", { ...goodNative, x: [[{ trace_id: "a" }, 1]] }), 2],
];

describe.skipIf(skip)("forged pushes to the cluster primary", () => {
  it.each(FORGED)("refuses %s, and the primary's exposition stays valid", async (_why, family) => {
    const before = aggregator.stats();
    const errorsBefore = errors.length;
    await forge([family, counter("f_good_total", { case: _why.replace(/[^a-z]/gi, "_") })]);
    const after = aggregator.stats();
    const refused = after.rejectedFamilies + after.rejectedSeries + after.malformedMessages - (before.rejectedFamilies + before.rejectedSeries + before.malformedMessages);
    expect(refused).toBe(1);
    expect(errors.length).toBe(errorsBefore + 1);
    expect([ErrorCodes.CLUSTER_REJECTED, ErrorCodes.MALFORMED_CLUSTER_MESSAGE]).toContain(errors.at(-1)?.code);
    const all = await scrapeValid();
    // The good family in the same push got through.
    expect(all.get(`f_good_total{case="${_why.replace(/[^a-z]/gi, "_")}"}`)).toBe(1);
    expect([...all.keys()].some((key) => key.includes("injected"))).toBe(false);
  });

  it.each(FORGED_EXTRAS)("refuses %s, and the primary's exposition stays valid", async (why, family, version) => {
    const before = aggregator.stats();
    const errorsBefore = errors.length;
    const good = why.replace(/[^a-z]/gi, "_");
    await (version === 1 ? forge : forge2)([family, counter("f_good_total", { case: good })]);
    const after = aggregator.stats();
    const refused = after.rejectedFamilies + after.rejectedSeries + after.malformedMessages - (before.rejectedFamilies + before.rejectedSeries + before.malformedMessages);
    expect(refused).toBe(1);
    expect(errors.length).toBe(errorsBefore + 1);
    expect([ErrorCodes.CLUSTER_REJECTED, ErrorCodes.MALFORMED_CLUSTER_MESSAGE]).toContain(errors.at(-1)?.code);
    const all = await scrapeValid();
    expect(all.get(`f_good_total{case="${good}"}`)).toBe(1);
  });

  it("drops only the malformed extra of a series: its count still counts, without the exemplar", async () => {
    await forge2([counter2("fx_kept_total", exemplar({ "trace-id": "a" }), 5)]);
    const all = await scrapeValid();
    expect(all.get("fx_kept_total")).toBe(5);
    const openMetrics = (await get(server.url, { headers: { accept: PROMETHEUS_ACCEPT } })).text;
    expect(openMetrics).toMatch(/^fx_kept_total 5$/m);
  });

  it("accepts a version-2 push with exemplars and native buckets, and serves a valid exposition with the exemplar", async () => {
    await forge2([
      counter2("fx_ok_total", { ...(exemplar({ trace_id: "ok" }, 2) as object), c: 1_700_000_000 }, 2),
      { n: "fx_ok_seconds", h: "H.", t: "histogram", a: "sum", b: [1], nh: 1, s: [[{}, 1.5, 1, 3, { x: [[1, { trace_id: "slow" }, 1.5, 1_700_000_001]], h: goodNative }]] },
    ]);
    const all = await scrapeValid();
    expect(all.get("fx_ok_total")).toBe(2);
    expect(all.get('fx_ok_seconds_bucket{le="+Inf"}')).toBe(3);
    const openMetrics = (await get(server.url, { headers: { accept: PROMETHEUS_ACCEPT } })).text;
    expect(openMetrics).toContain('fx_ok_total 2 # {trace_id="ok"} 2 1700000000');
    expect(openMetrics).toContain('fx_ok_seconds_bucket{le="+Inf"} 3 # {trace_id="slow"} 1.5 1700000001');
  });

  it("accepts label values and help with quotes, backslashes and newlines, escaped in the exposition", async () => {
    await forge([{ n: "f_escape_total", h: 'Help with "quotes", \\ and\nnewline.', t: "counter", a: "sum", s: [[{ k: 'a"b\\c\nd' }, 3]] }]);
    const all = await scrapeValid();
    expect(all.get('f_escape_total{k="a\\"b\\\\c\\nd"}')).toBe(3);
  });

  it("caps a push of 20,000 series: maxSeries series, maxSeries more folded into the overflow series, the rest refused and counted", async () => {
    const before = aggregator.stats();
    const rows = Array.from({ length: 20_000 }, (_, i) => [{ id: String(i) }, 1]);
    await forge([{ n: "f_wide_total", h: "Wide.", t: "counter", a: "sum", s: rows }]);
    const all = await scrapeValid();
    const series = [...all.keys()].filter((key) => key.startsWith("f_wide_total{"));
    expect(series).toHaveLength(2001);
    // Folding needs each folded series' last value per process, so a process may fold maxSeries of them.
    expect(all.get('f_wide_total{id="__overflow__"}')).toBe(2000);
    const after = aggregator.stats();
    expect(after.foldedSeries - before.foldedSeries).toBe(2000);
    expect(after.rejectedSeries - before.rejectedSeries).toBe(16_000);
    expect(errors.at(-1)?.message).toContain("16000 items");
    expect(errors.filter((e) => e.code === ErrorCodes.SERIES_LIMIT && e.message.includes("f_wide_total"))).toHaveLength(1);
  });

  it("refuses a histogram sum of NaN and keeps the total it had", async () => {
    const histogram = (sum: unknown, counts: number[]) => ({ n: "f_hist_seconds", h: "H.", t: "histogram", a: "sum", b: [1], s: [[{}, sum, ...counts]] });
    await forge([histogram(1.5, [1, 2])]);
    await forge([histogram("NaN", [2, 3])]);
    await forge([histogram(Number.POSITIVE_INFINITY, [2, 3])]);
    const all = await scrapeValid();
    expect(all.get("f_hist_seconds_sum")).toBe(1.5);
    expect(all.get("f_hist_seconds_count")).toBe(2);
    await forge([histogram(4, [2, 3])]);
    expect((await scrapeValid()).get("f_hist_seconds_sum")).toBe(4);
  });
});
