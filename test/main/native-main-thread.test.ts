import { Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import type { NativeSnapshot } from "../../src/main/bridge/native-buckets.js";
import { Histogram, connect } from "../../src/worker/index.js";

// This file's thread connects to its hub: the worker API on the main thread, recording through the hub.
const registry = new Registry();
const hub = new MetricsHub({ registry });
connect(hub.workerData);
afterAll(() => hub.close());

describe("native histograms recorded on the main thread through the hub", () => {
  it("take the same options and land in the same registry", async () => {
    const h = new Histogram({ name: "main_native_seconds", help: "h", buckets: [], nativeHistogramBucketFactor: 2, nativeHistogramZeroThreshold: 0.5 });
    for (const v of [0.25, 0.5, 1, 1.5, 2, 3, 4, 1000, -3]) h.observe(v);
    const json = (await registry.getMetricsAsJSON()) as unknown as Array<{ name: string; values: Array<{ metricName?: string; value: number; native?: NativeSnapshot }> }>;
    const count = json.find((f) => f.name === "main_native_seconds")?.values.find((v) => v.metricName === "main_native_seconds_count");
    expect(count?.value).toBe(9);
    // Schema 0, zero threshold 0.5: 0.25 and 0.5 in the zero bucket; 1 -> 0; 1.5, 2 -> 1; 3, 4 -> 2; 1000 -> 10; -3 -> 2.
    expect(count?.native).toEqual({
      schema: 0,
      zeroThreshold: 0.5,
      zeroCount: 2,
      positive: { spans: [{ offset: 0, length: 3 }, { offset: 7, length: 1 }], deltas: [1, 1, 0, -1] },
      negative: { spans: [{ offset: 2, length: 1 }], deltas: [1] },
    });
    // The main thread holds a slot but outlives the hub: it is not a worker the hub fails to follow.
    expect(hub.stats().workersConnected).toBe(1);
    expect(hub.stats().workersUnfollowed).toBe(0);
  });
});

describe("exemplars of a thread have no budget", () => {
  it("keeps one of a burst's last 256 exemplars and records every observation", async () => {
    const { vi } = await import("vitest");
    const { Counter } = await import("../../src/worker/index.js");
    let now = 1_700_000_000_000;
    const clock = vi.spyOn(Date, "now").mockImplementation(() => now);
    try {
      const c = new Counter({ name: "main_budget_total", help: "h", enableExemplars: true });
      for (let i = 0; i < 1500; i++) c.inc({ value: 1, exemplarLabels: { trace_id: `t${i}` } });
      const read = async (): Promise<{ value: number; exemplar?: { labelSet: Record<string, string>; timestamp: number } }> => {
        const json = (await registry.getMetricsAsJSON()) as unknown as Array<{ name: string; values: Array<{ value: number; exemplar?: { labelSet: Record<string, string>; timestamp: number } }> }>;
        return json.find((f) => f.name === "main_budget_total")?.values[0] as never;
      };
      let sample = await read();
      expect(sample.value).toBe(1500);
      // Not the 1000th (no per-second budget) and not the first: the main thread's hub reads nothing
      // during the burst, so its table was written for t0 and every 256th after it, the last for t1280.
      expect(sample.exemplar?.labelSet).toEqual({ trace_id: "t1280" });
      now += 999;
      c.inc({ value: 1, exemplarLabels: { trace_id: "still-over" } });
      expect((await read()).exemplar?.labelSet).toEqual({ trace_id: "still-over" });
      now += 1;
      c.inc({ value: 2, exemplarLabels: { trace_id: "next-second" } });
      sample = await read();
      expect(sample.value).toBe(1503);
      expect(sample.exemplar?.labelSet).toEqual({ trace_id: "next-second" });
      expect(sample.exemplar?.timestamp).toBe(now / 1000);
    } finally {
      clock.mockRestore();
    }
  });
});

describe("client_golang's controls on the main thread", () => {
  it("widen the zero bucket of a main-thread native histogram before halving", async () => {
    const h = new Histogram({ name: "main_widen_seconds", help: "h", buckets: [], nativeHistogramBucketFactor: 2, nativeHistogramMaxBucketNumber: 2, nativeHistogramMaxZeroThreshold: 1 });
    // Schema 0: 0.5 -> -1, 1 -> 0, 4 -> 2: three buckets, over two. The bucket closest to zero, -1 (bound
    // 0.5, within the maximum of 1), joins the zero bucket, which brings the series back to two.
    for (const v of [0.5, 1, 4]) h.observe(v);
    const json = (await registry.getMetricsAsJSON()) as unknown as Array<{ name: string; values: Array<{ metricName?: string; native?: NativeSnapshot }> }>;
    const native = json.find((f) => f.name === "main_widen_seconds")?.values.find((v) => v.metricName === "main_widen_seconds_count")?.native;
    expect(native).toEqual({
      schema: 0,
      zeroThreshold: 0.5,
      zeroCount: 1,
      positive: { spans: [{ offset: 0, length: 3 }], deltas: [1, -1, 1] },
      negative: { spans: [], deltas: [] },
    });
  });
});
