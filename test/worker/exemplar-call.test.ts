/**
 * The exemplar call in a real worker thread: a call that throws creates no series and leaves the exported
 * exemplars as they were, whichever check fails (the one walk over the exemplar's labels keeps their names
 * and texts for the entry's commit, so nothing is written before every label passed), and the exemplar
 * lands on the bucket its value was recorded in.
 */
import { Registry } from "prom-client";
import type { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { nextMessage, startWorker } from "../helpers/workers.js";

interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
  exemplar?: { labelSet: Record<string, string>; value: number } | null;
}

let registry: Registry;
let hub: MetricsHub;
let worker: Worker;

beforeAll(async () => {
  registry = new Registry();
  hub = new MetricsHub({ registry });
  worker = startWorker("exemplar-call.mjs", { workerData: hub.workerData });
  await nextMessage(worker);
});
afterAll(async () => {
  await worker.terminate();
  await hub.close();
});

async function call(metric: "counter" | "histogram" | "summary", arg: unknown): Promise<{ done?: boolean; code?: string; message?: string }> {
  worker.postMessage({ metric, arg });
  return nextMessage(worker);
}

async function values(name: string): Promise<Value[]> {
  const json = (await registry.getMetricsAsJSON()) as unknown as Array<{ name: string; values: Value[] }>;
  return json.find((f) => f.name === name)?.values ?? [];
}

/** The `le="0.5"` bucket of route `route`. */
async function bucket(route: string): Promise<Value | undefined> {
  return (await values("exc_seconds")).find((v) => v.metricName === "exc_seconds_bucket" && v.labels.route === route && v.labels.le === 0.5);
}

const trace = (n: number): Record<string, string> => ({ trace_id: n.toString(16).padStart(32, "0"), span_id: n.toString(16).padStart(16, "0") });

describe("the exemplar call", () => {
  it("throws before the series exists when the exemplar's labels do not fit an entry and are invalid or too long", async () => {
    const refused = [
      // Too long for an entry from its first label, a bad name after it.
      { trace_id: "a".repeat(120), "bad-name": "x" },
      // 129 characters of valid labels.
      { trace_id: "a".repeat(121) },
      { trace_id: "a".repeat(60), span_id: "b".repeat(60), x: true },
    ];
    for (const metric of ["counter", "histogram", "summary"] as const) {
      for (const exemplarLabels of refused) {
        const answer = await call(metric, { value: 0.3, labels: { route: "refused" }, exemplarLabels });
        expect(answer.code).toBe("ERR_PROM_THREADS_INVALID_LABELS");
      }
    }
    // The metrics allow 1 and 2 series: had a refused call made one, these would fold into the overflow series.
    expect(await call("counter", { value: 1, labels: { route: "kept" }, exemplarLabels: trace(1) })).toEqual({ done: true });
    expect(await call("histogram", { value: 5, labels: { route: "a" }, exemplarLabels: trace(1) })).toEqual({ done: true });
    expect(await call("histogram", { value: 5, labels: { route: "bounds" }, exemplarLabels: trace(1) })).toEqual({ done: true });
    // A summary checks the call as the others do, though it exports no exemplar: shape, names, length.
    for (const arg of ["0.3", true, { value: 0.3, labels: { route: "refused" }, exemplarLabels: { "1bad-name": "x" } }]) {
      expect(await call("summary", arg), JSON.stringify(arg)).toMatchObject({ code: "ERR_PROM_THREADS_INVALID_LABELS" });
    }
    // And answers as a histogram does where the call is wrong in more than one way, or not a call at all.
    for (const arg of [null, { value: Number.NaN, labels: { route: "refused" }, exemplarLabels: { "bad-name": 1 } }]) {
      const histogram = await call("histogram", arg);
      expect(histogram.code, JSON.stringify(arg)).toBeDefined();
      expect((await call("summary", arg)).code, JSON.stringify(arg)).toBe(histogram.code);
    }
    expect(await call("summary", { value: 0.3, labels: { route: "kept" }, exemplarLabels: trace(1) })).toEqual({ done: true });
    expect(new Set((await values("exc_summary_seconds")).map((v) => v.labels.route))).toEqual(new Set(["kept"]));
    expect((await values("exc_total")).map((v) => v.labels.route)).toEqual(["kept"]);
    const routes = new Set((await values("exc_seconds")).map((v) => v.labels.route));
    expect([...routes].sort()).toEqual(["a", "bounds"]);
  });

  it("keeps the exported exemplar when a call with the same names and lengths fails on a later label", async () => {
    expect(await call("histogram", { value: 0.3, labels: { route: "a" }, exemplarLabels: trace(1) })).toEqual({ done: true });
    let got = await bucket("a");
    expect(got?.value).toBe(1);
    expect(got?.exemplar?.labelSet).toEqual(trace(1));
    // Same names and value lengths as the entry's, then a label that fails: nothing may change.
    for (const bad of [{ ...trace(2), "bad-name": "x" }, { ...trace(2), user: null }, { ...trace(2), user: {} }]) {
      expect((await call("histogram", { value: 0.3, labels: { route: "a" }, exemplarLabels: bad })).code).toBe("ERR_PROM_THREADS_INVALID_LABELS");
    }
    got = await bucket("a");
    expect(got?.value).toBe(1);
    expect(got?.exemplar?.labelSet).toEqual(trace(1));
    // After the failures, exemplars of the same shape, of the names in the other order, and of another shape are exported whole.
    expect(await call("histogram", { value: 0.4, labels: { route: "a" }, exemplarLabels: trace(3) })).toEqual({ done: true });
    got = await bucket("a");
    expect(got?.value).toBe(2);
    expect(got?.exemplar).toMatchObject({ labelSet: trace(3), value: 0.4 });
    const swapped = { span_id: "f".repeat(16), trace_id: "e".repeat(32) };
    expect(await call("histogram", { value: 0.2, labels: { route: "a" }, exemplarLabels: swapped })).toEqual({ done: true });
    expect((await bucket("a"))?.exemplar).toMatchObject({ labelSet: swapped, value: 0.2 });
    const other = { trace_id: 42, user: "ünï" };
    expect(await call("histogram", { value: 0.5, labels: { route: "a" }, exemplarLabels: other })).toEqual({ done: true });
    expect((await bucket("a"))?.exemplar).toMatchObject({ labelSet: { trace_id: "42", user: "ünï" }, value: 0.5 });
  });

  it("puts each exemplar on the bucket its value was counted in, at the bounds too", async () => {
    const cases: Array<[number, number | string]> = [
      [0.1, 0.1],
      [0.1000001, 0.5],
      [1, 1],
      [1.5, "+Inf"],
    ];
    for (const [i, [value]] of cases.entries()) {
      expect(await call("histogram", { value, labels: { route: "bounds" }, exemplarLabels: trace(100 + i) })).toEqual({ done: true });
    }
    const buckets = (await values("exc_seconds")).filter((v) => v.metricName === "exc_seconds_bucket" && v.labels.route === "bounds");
    for (const [i, [value, le]] of cases.entries()) {
      const b = buckets.find((v) => v.labels.le === le);
      expect(b?.exemplar).toMatchObject({ labelSet: trace(100 + i), value });
    }
  });

  it("throws for a misspelt key, which leaves one of the three missing; with all three given, another key is ignored", async () => {
    const before = (await values("exc_total")).find((v) => v.labels.route === "kept")?.value as number;
    for (const arg of [
      { value: 1, labels: { route: "kept" }, exemplarLabel: trace(7) },
      { value: 1, label: { route: "kept" }, exemplarLabels: trace(7) },
      { val: 1, labels: { route: "kept" }, exemplarLabels: trace(7) },
    ]) {
      const answer = await call("counter", arg);
      expect(answer.code).toBe("ERR_PROM_THREADS_INVALID_LABELS");
      expect(answer.message).toMatch(/unknown key "(exemplarLabel|label|val)"/);
    }
    expect((await values("exc_total")).find((v) => v.labels.route === "kept")?.value).toBe(before);
    // As prom-client does with any key it does not read.
    expect(await call("counter", { value: 2, labels: { route: "kept" }, exemplarLabels: trace(8), note: "x" })).toEqual({ done: true });
    const kept = (await values("exc_total")).find((v) => v.labels.route === "kept");
    expect(kept?.value).toBe(before + 2);
    expect(kept?.exemplar?.labelSet).toEqual(trace(8));
  });
});
