/**
 * A worker that writes what the public API never would: the main process survives any record,
 * any declaration and any forged index; what it cannot understand is counted as malformed and reported a
 * bounded number of times; a flood of garbage gets the slot quarantined; memory stays bounded.
 */
import { Counter, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub, type PromThreadsError } from "../../src/main/index.js";
import { ErrorCodes } from "../../src/shared/api/errors.js";
import { kOpAdd, kOpDeclareMetric, kOpDeclareSeries, kOpObserve, kOpSeriesOverflow, kOpSet } from "../../src/shared/transport/protocol.js";
import { samples } from "../helpers/exposition.js";
import { exited, nextMessage, startWorker } from "../helpers/workers.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function setup(options: Record<string, unknown> = {}) {
  const registry = new Registry();
  const hub = new MetricsHub({ registry, ...options });
  cleanup.push(() => hub.close());
  const errors: PromThreadsError[] = [];
  hub.on("error", (error) => errors.push(error));
  const worker = startWorker("hostile.mjs", { workerData: hub.workerData });
  cleanup.push(() => worker.terminate());
  expect(await nextMessage(worker)).toEqual({ ready: true });
  const run = async (action: string, args: Record<string, unknown> = {}): Promise<void> => {
    const reply = nextMessage<{ ok: boolean; message?: string }>(worker);
    worker.postMessage({ action, ...args });
    const answer = await reply;
    if (!answer.ok) throw new Error(answer.message);
  };
  return { registry, hub, errors, worker, run };
}

const counterDeclaration = (name: string, labelNames: string[] = []) => JSON.stringify({ type: "counter", name, help: "h", labelNames });

describe("a worker that writes malformed declarations and records", () => {
  it("never takes the process down, and every later scrape works", async () => {
    const { registry, hub, errors, run } = await setup();
    await run("declare", { op: kOpDeclareMetric, id: 0, json: counterDeclaration("evil_total", ["a"]) });
    // Label values that are not strings (seriesKey used to throw out of the drain), wrong counts, junk.
    await run("declare", { op: kOpDeclareSeries, id: 0, json: JSON.stringify({ metric: 0, values: [{ toString: 1 }] }) });
    await run("declare", { op: kOpDeclareSeries, id: 1, json: JSON.stringify({ metric: 0, values: [1] }) });
    await run("declare", { op: kOpDeclareSeries, id: 2, json: JSON.stringify({ metric: 0, values: ["x", "y"] }) });
    await run("declare", { op: kOpDeclareSeries, id: 3, json: "null" });
    await run("declare", { op: kOpDeclareSeries, id: 4, json: "{not json" });
    // Series-overflow counts of 1e308 (they used to make every later scrape answer 500).
    await run("declare", { op: kOpSeriesOverflow, id: 0, json: "1e308" });
    await run("declare", { op: kOpSeriesOverflow, id: 0, json: "1e308" });
    // A summary prom-client refuses (ageBuckets 2^32 used to throw a RangeError out of the drain timer).
    await run("declare", {
      op: kOpDeclareMetric,
      id: 1,
      json: JSON.stringify({ type: "summary", name: "evil_summary", help: "h", labelNames: [], percentiles: [0.5], maxAgeSeconds: 600, ageBuckets: 2 ** 32 }),
    });
    await run("declare", { op: kOpDeclareSeries, id: 5, json: JSON.stringify({ metric: 1, values: [] }) });
    await run("record", { op: kOpObserve, id: 5, value: 1 });
    // A good series, then records that do not fit it: wrong op, NaN, Infinity, a negative increment.
    await run("declare", { op: kOpDeclareSeries, id: 6, json: JSON.stringify({ metric: 0, values: ["good"] }) });
    await run("record", { op: kOpAdd, id: 6, value: 2 });
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, -1]) await run("record", { op: kOpAdd, id: 6, value });
    await run("record", { op: kOpSet, id: 6, value: 5 });
    await run("record", { op: kOpAdd, id: 77, value: 1 });
    for (let i = 0; i < 3; i++) {
      const text = await registry.metrics();
      expect(text).toContain('evil_total{a="good"} 2');
      expect(text).not.toContain("e+308");
    }
    const all = samples(await registry.metrics());
    // Five bad observation records (NaN, Infinity, -1, a set on a counter, an undeclared id) and the
    // summary observation when its label set could not be made.
    expect(all.get('prom_threads_records_dropped_total{reason="malformed"}')).toBeGreaterThanOrEqual(5);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.code === ErrorCodes.MALFORMED_RECORD)).toBe(true);
    expect(hub.stats().recordsDrained).toBe(1);
  });

  it("a forged write index far ahead is corruption: skipped at once, never counted, reported once", async () => {
    const { registry, hub, errors, run } = await setup();
    await run("declare", { op: kOpDeclareMetric, id: 0, json: counterDeclaration("forged_total") });
    await run("declare", { op: kOpDeclareSeries, id: 0, json: JSON.stringify({ metric: 0, values: [] }) });
    await run("record", { op: kOpAdd, id: 0, value: 1, count: 10 });
    await hub.collect();
    await run("forgeWriteIndex", { ahead: 2 ** 27 });
    const started = performance.now();
    await hub.collect();
    // Reading 2^27 garbage records took 1.7 s and counted 134 million increments before.
    expect(performance.now() - started).toBeLessThan(500);
    const all = samples(await registry.metrics());
    expect(all.get("forged_total")).toBe(10);
    expect(all.get('prom_threads_records_dropped_total{reason="malformed"}')).toBe(1);
    expect(errors.map((e) => e.code)).toEqual([ErrorCodes.MALFORMED_RECORD]);
    expect(errors[0]?.message).toContain("write index");
  });

  it("a ring full of garbage costs one report per slot per second, then gets the slot quarantined", { timeout: 60_000 }, async () => {
    const { registry, hub, errors, run } = await setup();
    // 50 floods of 4,000 records, drained between floods: 200,000 malformed records in all.
    for (let i = 0; i < 50; i++) {
      await run("garbage", { count: 4_000 });
      await hub.collect();
    }
    const all = samples(await registry.metrics());
    // Every garbage record is counted as dropped: malformed, or removed_series for the few whose random id
    // happens to be the one reserved for children kept after remove().
    const malformedCount = all.get('prom_threads_records_dropped_total{reason="malformed"}') ?? 0;
    expect(malformedCount + (all.get('prom_threads_records_dropped_total{reason="removed_series"}') ?? 0)).toBe(200_000);
    expect(malformedCount).toBeGreaterThan(199_000);
    const malformed = errors.filter((e) => e.code === ErrorCodes.MALFORMED_RECORD);
    // It used to be one Error and one event per record (259,000 events in 20 s).
    expect(malformed.length).toBeLessThanOrEqual(10);
    expect(errors.filter((e) => e.code === ErrorCodes.SLOT_QUARANTINED)).toHaveLength(1);
    expect(hub.stats().recordsDrained).toBe(0);
  });

  it("a re-declared gauge series leaves no orphan after its worker exits", async () => {
    const { registry, worker, run } = await setup();
    await run("declare", { op: kOpDeclareMetric, id: 0, json: JSON.stringify({ type: "gauge", name: "orphan_level", help: "h", labelNames: ["a"] }) });
    await run("declare", { op: kOpDeclareSeries, id: 0, json: JSON.stringify({ metric: 0, values: ["x"] }) });
    await run("record", { op: kOpSet, id: 0, value: 5 });
    await run("declare", { op: kOpDeclareSeries, id: 0, json: JSON.stringify({ metric: 0, values: ["y"] }) });
    await run("record", { op: kOpSet, id: 0, value: 7 });
    let all = samples(await registry.metrics());
    expect(all.has('orphan_level{a="x"}')).toBe(false);
    expect(all.get('orphan_level{a="y"}')).toBe(7);
    await worker.terminate();
    await exited(worker);
    all = samples(await registry.metrics());
    expect([...all.keys()].some((k) => k.startsWith("orphan_level"))).toBe(false);
  });
});

describe("bounded by documented limits", () => {
  it("refuses metric names past maxMetrics, reported once, and keeps the hub's memory bounded", async () => {
    const { hub, errors, run } = await setup({ maxMetrics: 100 });
    for (let i = 0; i < 300; i++) await run("declare", { op: kOpDeclareMetric, id: i, json: counterDeclaration(`many_${i}_total`) });
    await hub.collect();
    expect(hub.stats().metrics).toBe(100);
    expect(errors.filter((e) => e.code === ErrorCodes.METRIC_LIMIT).length).toBeGreaterThanOrEqual(1);
    expect(errors.filter((e) => e.code === ErrorCodes.METRIC_LIMIT).length).toBeLessThanOrEqual(20);
  });

  it("counts only accepted names against maxMetrics: a name other code registered takes no place", async () => {
    const registry = new Registry();
    new Counter({ name: "taken_total", help: "Registered on the main thread.", registers: [registry] }).inc(5);
    const { hub, errors, run } = await setup({ registry, maxMetrics: 1 });
    await run("declare", { op: kOpDeclareMetric, id: 0, json: counterDeclaration("taken_total") });
    await run("declare", { op: kOpDeclareMetric, id: 1, json: counterDeclaration("free_total") });
    await run("declare", { op: kOpDeclareSeries, id: 0, json: JSON.stringify({ metric: 1, values: [] }) });
    await run("record", { op: kOpAdd, id: 0, value: 2, count: 1 });
    const all = samples(await registry.metrics());
    expect(all.get("taken_total")).toBe(5);
    expect(all.get("free_total")).toBe(2);
    expect(hub.stats().metrics).toBe(1);
    expect(errors.map((e) => e.code)).toEqual([ErrorCodes.DECLARATION_CONFLICT]);
    // The one place is taken now: the next new name is refused.
    await run("declare", { op: kOpDeclareMetric, id: 2, json: counterDeclaration("late_total") });
    await hub.collect();
    expect(errors.map((e) => e.code)).toEqual([ErrorCodes.DECLARATION_CONFLICT, ErrorCodes.METRIC_LIMIT]);
  });

  it("folds conflict reports: a bounded self-metric label set and rate-limited events", async () => {
    const { registry, errors, run } = await setup();
    let id = 0;
    for (let i = 0; i < 400; i++) {
      await run("declare", { op: kOpDeclareMetric, id: id++, json: counterDeclaration(`clash_${i}_total`) });
      await run("declare", { op: kOpDeclareMetric, id: id++, json: counterDeclaration(`clash_${i}_total`, ["other"]) });
    }
    const all = samples(await registry.metrics());
    const series = [...all.keys()].filter((k) => k.startsWith("prom_threads_declaration_conflicts_total{"));
    expect(series.length).toBeLessThanOrEqual(101);
    let total = 0;
    for (const key of series) total += all.get(key) ?? 0;
    expect(total).toBe(400);
    expect(all.get('prom_threads_declaration_conflicts_total{metric="__overflow__"}')).toBe(300);
    // 400 conflicts within seconds: at most 20 events per 10 s window reached the listener.
    expect(errors.filter((e) => e.code === ErrorCodes.DECLARATION_CONFLICT).length).toBeLessThanOrEqual(40);
  });
});
