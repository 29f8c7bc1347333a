// client_golang's controls of a native histogram over its bucket limit (reset, widen the zero bucket,
// halve the resolution, in that order) and its native exemplars, through real worker threads and a hub.
import { Registry } from "prom-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sparseSide, type NativeSnapshot } from "../../src/main/bridge/native-buckets.js";
import { MetricsHub } from "../../src/main/index.js";
import { renderProtobuf } from "../../src/main/serve/protobuf/render.js";
import type { FamilySnapshot } from "../../src/main/serve/snapshot.js";
import { decodeMetricFamilies } from "../helpers/protobuf.js";
import { nextMessage, startWorker } from "../helpers/workers.js";
import type { Worker } from "node:worker_threads";

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Sample {
  metricName?: string;
  value: number;
  labels: Record<string, string | number>;
  created?: number;
  exemplar?: { labelSet: Record<string, string>; value: number; timestamp: number } | null;
  native?: NativeSnapshot;
}

/** A hub, a registry and one worker with the histogram `options`; `step` records values and waits. */
async function setup(options: object): Promise<{ registry: Registry; step: (values: number[], extra?: { now?: number; trace?: string }) => Promise<void> }> {
  const registry = new Registry();
  const hub = new MetricsHub({ registry });
  cleanup.push(() => hub.close());
  const worker: Worker = startWorker("native-steps.mjs", { workerData: { ...hub.workerData, options } });
  cleanup.push(() => worker.terminate());
  await nextMessage(worker);
  return {
    registry,
    step: async (values, extra = {}) => {
      const done = nextMessage(worker);
      worker.postMessage({ values, ...extra });
      await done;
    },
  };
}

/** The series' `_count` sample and `+Inf` bucket, read with a scrape (which drains the worker). */
async function read(registry: Registry): Promise<{ count: Sample; inf: Sample; sum: Sample }> {
  const family = ((await registry.getMetricsAsJSON()) as unknown as Array<{ name: string; values: Sample[] }>).find((f) => f.name === "fx_limits_seconds");
  const values = family?.values ?? [];
  const find = (name: string): Sample => values.find((v) => v.metricName === name) as Sample;
  return { count: find("fx_limits_seconds_count"), inf: find("fx_limits_seconds_bucket"), sum: find("fx_limits_seconds_sum") };
}

/** The native part without its exemplars, for exact comparisons. */
function buckets(native: NativeSnapshot | undefined): Omit<NativeSnapshot, "exemplars"> {
  const { exemplars: _, ...rest } = native as NativeSnapshot;
  return rest;
}

describe("a native histogram over nativeHistogramMaxBucketNumber", () => {
  it("widens the zero bucket up to nativeHistogramMaxZeroThreshold first, then halves the resolution", async () => {
    const { registry, step } = await setup({ nativeHistogramBucketFactor: 2, nativeHistogramMaxBucketNumber: 3, nativeHistogramMaxZeroThreshold: 0.5 });
    // Schema 0 (bucket i holds (2^(i-1), 2^i]): 0.1 -> -3, 0.3 -> -1, 3 -> 2, 10 -> 4: four buckets, so the
    // bucket closest to zero (-3, bound 0.125) joins the zero bucket.
    await step([0.1, 0.3, 3, 10]);
    expect(buckets((await read(registry)).count.native)).toEqual({
      schema: 0,
      zeroThreshold: 0.125,
      zeroCount: 1,
      positive: sparseSide(new Map([[-1, 1], [2, 1], [4, 1]])),
      negative: { spans: [], deltas: [] },
    });
    // 100 -> 7: over again; bucket -1 (bound 0.5, at most the maximum) joins the zero bucket. 0.4 now
    // counts in the widened zero bucket (the worker's threshold is still 2^-128).
    await step([100, 0.4]);
    expect(buckets((await read(registry)).count.native)).toEqual({
      schema: 0,
      zeroThreshold: 0.5,
      zeroCount: 3,
      positive: sparseSide(new Map([[2, 1], [4, 1], [7, 1]])),
      negative: { spans: [], deltas: [] },
    });
    // 1000 -> 10: bucket 2 (bound 4) is past the maximum threshold, so the resolution halves: schema -1
    // gives 1, 2, 4, 5 (still four), schema -2 gives 1 (two observations), 2, 3.
    await step([1000]);
    const { count, sum } = await read(registry);
    expect(buckets(count.native)).toEqual({
      schema: -2,
      zeroThreshold: 0.5,
      zeroCount: 3,
      positive: { spans: [{ offset: 1, length: 3 }], deltas: [2, -1, 0] },
      negative: { spans: [], deltas: [] },
    });
    expect(count.value).toBe(7);
    expect(sum.value).toBeCloseTo(0.1 + 0.3 + 3 + 10 + 100 + 0.4 + 1000, 9);
  });

  it("without nativeHistogramMaxZeroThreshold halves at once, as before", async () => {
    const { registry, step } = await setup({ nativeHistogramBucketFactor: 2, nativeHistogramMaxBucketNumber: 3 });
    await step([0.1, 0.3, 3, 10]);
    // Schema -1: -3 -> -1, -1 -> 0, 2 -> 1, 4 -> 2 (still four); schema -2: 0 (two), 1 (two).
    expect(buckets((await read(registry)).count.native)).toEqual({
      schema: -2,
      zeroThreshold: 2 ** -128,
      zeroCount: 0,
      positive: { spans: [{ offset: 0, length: 2 }], deltas: [2, 0] },
      negative: { spans: [], deltas: [] },
    });
  });

  it("resets after nativeHistogramMinResetDuration instead of reducing, and undoes a reduction when it is due", async () => {
    let now = 1_800_000_000_000;
    const clock = vi.spyOn(Date, "now").mockImplementation(() => now);
    cleanup.push(() => clock.mockRestore());
    const { registry, step } = await setup({ nativeHistogramBucketFactor: 2, nativeHistogramMaxBucketNumber: 2, nativeHistogramMinResetDuration: 1000 });
    await step([1, 2]); // buckets 0 and 1
    let { count } = await read(registry);
    expect(count.created).toBe(now / 1000);
    const created = count.created;
    now += 500;
    // 4 -> bucket 2: over the limit 500 ms after creation: no reset yet; halved (schema -1: 0, 1, 1), and a
    // reset is scheduled 1000 ms after creation.
    await step([4]);
    ({ count } = await read(registry));
    expect(buckets(count.native)).toEqual({ schema: -1, zeroThreshold: 2 ** -128, zeroCount: 0, positive: { spans: [{ offset: 0, length: 2 }], deltas: [1, 1] }, negative: { spans: [], deltas: [] } });
    now += 499;
    await step([8]); // schema -1 bucket 2: over again; the reset is already scheduled: halved to schema -2 (0, 1, 1, 1)
    ({ count } = await read(registry));
    expect(count.value).toBe(4);
    expect(buckets(count.native)).toEqual({ schema: -2, zeroThreshold: 2 ** -128, zeroCount: 0, positive: { spans: [{ offset: 0, length: 2 }], deltas: [1, 2] }, negative: { spans: [], deltas: [] } });
    expect(count.created).toBe(created);
    now += 1; // the scheduled reset is due: everything back to empty at the declared schema
    ({ count } = await read(registry));
    expect(count.value).toBe(0);
    expect(count.created).toBe(now / 1000);
    expect(buckets(count.native)).toEqual({ schema: 0, zeroThreshold: 2 ** -128, zeroCount: 0, positive: { spans: [], deltas: [] }, negative: { spans: [], deltas: [] } });
    now += 1100;
    // Over the limit 1100 ms after the last reset: reset, keeping only the observation that went over.
    await step([1, 2, 4]);
    const after = await read(registry);
    expect(after.count.value).toBe(1);
    expect(after.sum.value).toBe(4);
    expect(after.count.created).toBe(now / 1000);
    expect(buckets(after.count.native)).toEqual({ schema: 0, zeroThreshold: 2 ** -128, zeroCount: 0, positive: { spans: [{ offset: 2, length: 1 }], deltas: [1] }, negative: { spans: [], deltas: [] } });
  });
});

describe("native exemplars", () => {
  const second = 1_800_000_000_000;
  const ids = (native: NativeSnapshot | undefined): string[] => (native?.exemplars ?? []).map((e) => `${e.labelSet.trace_id}@${e.value}`);

  it("keeps nativeHistogramMaxExemplars per series with client_golang's replacement policy, exported in protobuf", async () => {
    const { registry, step } = await setup({ nativeHistogramBucketFactor: 1.1, nativeHistogramMaxExemplars: 3, nativeHistogramExemplarTTL: 1000, enableExemplars: true });
    // One exemplar per step: the hub reads the latest per bucket (here the +Inf bucket) at each drain.
    await step([1], { now: second, trace: "a" });
    await read(registry);
    await step([2], { now: second + 100, trace: "b" });
    await read(registry);
    await step([4], { now: second + 200, trace: "c" });
    expect(ids((await read(registry)).count.native)).toEqual(["a-0@1", "b-0@2", "c-0@4"]);
    // Full, none expired: 4.1 would sit closer to 4 than any kept pair, so it replaces 4.
    await step([4.1], { now: second + 300, trace: "d" });
    expect(ids((await read(registry)).count.native)).toEqual(["a-0@1", "b-0@2", "d-0@4.1"]);
    // 100 makes no closer pair: the older of the closest pair (1 and 2) goes.
    await step([100], { now: second + 400, trace: "e" });
    expect(ids((await read(registry)).count.native)).toEqual(["b-0@2", "d-0@4.1", "e-0@100"]);
    // 1.2 s after b: the oldest has expired and is replaced first.
    await step([8], { now: second + 1200, trace: "f" });
    const { count, inf } = await read(registry);
    expect(ids(count.native)).toEqual(["d-0@4.1", "f-0@8", "e-0@100"]);
    expect(count.native?.exemplars?.map((e) => e.timestamp)).toEqual([(second + 300) / 1000, (second + 1200) / 1000, (second + 400) / 1000]);
    // The +Inf bucket keeps the series' latest, as before.
    expect(inf.exemplar?.labelSet).toEqual({ trace_id: "f-0" });
    // Protobuf: the native list in Histogram.exemplars, with timestamps (Prometheus needs them).
    const body = renderProtobuf((await registry.getMetricsAsJSON()) as unknown as FamilySnapshot[]);
    const metric = decodeMetricFamilies(body).find((f) => f.name === "fx_limits_seconds")?.metrics[0];
    expect(metric?.histogram?.exemplars).toEqual([
      { labels: { trace_id: "d-0" }, value: 4.1, timestamp: (second + 300) / 1000 },
      { labels: { trace_id: "f-0" }, value: 8, timestamp: (second + 1200) / 1000 },
      { labels: { trace_id: "e-0" }, value: 100, timestamp: (second + 400) / 1000 },
    ]);
    expect(metric?.histogram?.buckets.map((b) => [b.le, b.exemplar?.labels.trace_id])).toEqual([[Infinity, "f-0"]]);
  });

  it("nativeHistogramExemplarTTL 0 always replaces the oldest; nativeHistogramMaxExemplars 0 keeps none", async () => {
    const oldest = await setup({ nativeHistogramBucketFactor: 2, nativeHistogramMaxExemplars: 2, nativeHistogramExemplarTTL: 0, enableExemplars: true });
    await oldest.step([1], { now: second, trace: "a" });
    await read(oldest.registry);
    await oldest.step([100], { now: second + 1, trace: "b" });
    await read(oldest.registry);
    // 101 is closest to 100, but with a TTL of 0 the oldest (a) goes.
    await oldest.step([101], { now: second + 2, trace: "c" });
    expect(ids((await read(oldest.registry)).count.native)).toEqual(["b-0@100", "c-0@101"]);

    const none = await setup({ nativeHistogramBucketFactor: 2, nativeHistogramMaxExemplars: 0, enableExemplars: true });
    await none.step([1, 2], { now: second, trace: "a" });
    const { count, inf } = await read(none.registry);
    expect(count.native?.exemplars).toBeUndefined();
    expect(["a-0", "a-1"]).toContain(inf.exemplar?.labelSet.trace_id);
    const metric = decodeMetricFamilies(renderProtobuf((await none.registry.getMetricsAsJSON()) as unknown as FamilySnapshot[])).find((f) => f.name === "fx_limits_seconds")?.metrics[0];
    expect(metric?.histogram?.exemplars).toBeUndefined();
  });

  it("defaults to 10 per series", async () => {
    const { registry, step } = await setup({ nativeHistogramBucketFactor: 2, enableExemplars: true });
    for (let i = 0; i < 12; i++) {
      await step([2 ** i], { now: second + i, trace: `t${i}` });
      await read(registry);
    }
    expect((await read(registry)).count.native?.exemplars).toHaveLength(10);
  });
});
