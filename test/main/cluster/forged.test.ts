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
