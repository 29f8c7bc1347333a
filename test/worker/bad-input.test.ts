import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { ErrorCodes } from "../../src/shared/api/errors.js";
import { samples } from "../helpers/exposition.js";
import { Scripted, type Reply } from "../helpers/scripted.js";

let hub: MetricsHub;
let registry: Registry;
let worker: Scripted;

beforeAll(async () => {
  registry = new Registry();
  hub = new MetricsHub({ registry });
  worker = await Scripted.start({ workerData: hub.workerData });
  hub.attach(worker.worker);
});
afterAll(async () => {
  await worker.worker.terminate();
  await hub.close();
});

function expectError(reply: Reply, code: string, mentions: string): void {
  expect(reply.ok).toBe(false);
  expect(reply.code).toBe(code);
  expect(reply.message).toContain(mentions);
}

describe("bad input in a worker throws at the call, with a stable code and the metric's name", () => {
  it.each([
    ["an empty metric name", "counter", { name: "", help: "h" }, ErrorCodes.INVALID_NAME, '""'],
    ["a metric name with a lone surrogate", "gauge", { name: "lives\uD800", help: "h" }, ErrorCodes.INVALID_NAME, "lives"],
    ["a reserved metric name", "counter", { name: "__secret", help: "h" }, ErrorCodes.INVALID_NAME, "__secret"],
    ["an invalid label name", "counter", { name: "c1", help: "h", labelNames: [""] }, ErrorCodes.INVALID_NAME, "c1"],
    ["a reserved label name", "counter", { name: "c2", help: "h", labelNames: ["__x"] }, ErrorCodes.INVALID_NAME, "c2"],
    ["le on a histogram", "histogram", { name: "h1", help: "h", labelNames: ["le"] }, ErrorCodes.INVALID_NAME, "h1"],
    ["quantile on a summary", "summary", { name: "s1", help: "h", labelNames: ["quantile"] }, ErrorCodes.INVALID_NAME, "s1"],
    ["a missing help", "counter", { name: "c3" }, ErrorCodes.INVALID_OPTION, "c3"],
    ["unsorted buckets", "histogram", { name: "h2", help: "h", buckets: [1, 0.5] }, ErrorCodes.INVALID_OPTION, "h2"],
    ["an unknown gauge aggregate", "gauge", { name: "g1", help: "h", aggregate: "avg" }, ErrorCodes.INVALID_OPTION, "g1"],
    ["a collect callback", "gauge", { name: "g2", help: "h", collect: true }, ErrorCodes.UNSUPPORTED, "g2"],
  ])("rejects %s", async (_what, kind, config, code, mentions) => {
    expectError(await worker.run("construct", { kind, config }), code, mentions);
  });

  const counter = { name: "bad_calls_total", help: "h", labelNames: ["method"] };
  const histogram = { name: "bad_seconds", help: "h" };
  const summary = { name: "bad_summary", help: "h" };
  const gauge = { name: "bad_gauge", help: "h" };

  it.each([
    ["an unknown label", "counter", counter, "inc", [{ path: "/" }], ErrorCodes.INVALID_LABELS, "path"],
    ["a missing label", "counter", counter, "inc", [{}], ErrorCodes.INVALID_LABELS, "method"],
    ["a missing label set", "counter", counter, "inc", [], ErrorCodes.INVALID_LABELS, "bad_calls_total"],
    ["a wrong label count", "counter", counter, "labels", ["GET", "extra"], ErrorCodes.INVALID_LABELS, "expected 1"],
    ["a label value of the wrong type", "counter", counter, "labels", [{ method: null }], ErrorCodes.INVALID_LABELS, "method"],
    ["an overlong label value", "counter", counter, "labels", ["x".repeat(1025)], ErrorCodes.INVALID_LABELS, "1024 bytes"],
    ["a negative counter increment", "counter", counter, "inc", [{ method: "GET" }, -1], ErrorCodes.INVALID_VALUE, "bad_calls_total"],
    ["a NaN counter increment", "counter", counter, "inc", [{ method: "GET" }, Number.NaN], ErrorCodes.INVALID_VALUE, "NaN"],
    ["an infinite counter increment", "counter", counter, "inc", [{ method: "GET" }, Infinity], ErrorCodes.INVALID_VALUE, "Infinity"],
    ["a NaN histogram observation", "histogram", histogram, "observe", [Number.NaN], ErrorCodes.INVALID_VALUE, "bad_seconds"],
    ["an infinite histogram observation", "histogram", histogram, "observe", [-Infinity], ErrorCodes.INVALID_VALUE, "bad_seconds"],
    ["a NaN summary observation", "summary", summary, "observe", [Number.NaN], ErrorCodes.INVALID_VALUE, "bad_summary"],
    ["a NaN gauge value", "gauge", gauge, "set", [Number.NaN], ErrorCodes.INVALID_VALUE, "bad_gauge"],
  ])("rejects %s", async (_what, kind, config, method, args, code, mentions) => {
    expectError(await worker.run("call", { kind, config, method, args }), code, mentions);
  });

  it("rejects on a stored child too, and records nothing for the rejected calls", async () => {
    expectError(await worker.run("call", { kind: "counter", config: counter, method: "inc", args: [-5], child: ["POST"] }), ErrorCodes.INVALID_VALUE, "bad_calls_total");
    await worker.ok("call", { kind: "counter", config: counter, method: "inc", args: [2], child: ["POST"] });
    const all = samples(await registry.metrics());
    expect(all.get('bad_calls_total{method="POST"}')).toBe(2);
    // Calls that throw record nothing: no series at 0 either (prom-client exports none).
    expect(all.has('bad_calls_total{method="GET"}')).toBe(false);
    expect(all.get('prom_threads_records_dropped_total{reason="malformed"}')).toBe(0);
  });

  it("escapes label values of any content in the exposition", async () => {
    const config = { name: "escaped_total", help: 'Help with "quotes" and \\ backslash\nand newline.', labelNames: ["v"] };
    const hostile = ['quo"te', "back\\slash", "new\nline", "ünïcödé ✓ 😀", ""];
    for (const v of hostile) await worker.ok("record", { kind: "counter", config, labels: { v }, count: 1 });
    const text = await registry.metrics();
    expect(text).toContain('escaped_total{v="quo\\"te"} 1');
    expect(text).toContain('escaped_total{v="back\\\\slash"} 1');
    expect(text).toContain('escaped_total{v="new\\nline"} 1');
    expect(text).toContain('escaped_total{v="ünïcödé ✓ 😀"} 1');
    expect(text).toContain('escaped_total{v=""} 1');
    expect(text).toContain("# HELP escaped_total Help with \"quotes\" and \\\\ backslash\\nand newline.");
  });
});
