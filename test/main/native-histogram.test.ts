import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { NativeBuckets, sparseSide, type NativeSnapshot } from "../../src/main/bridge/native-buckets.js";
import { MetricsHub } from "../../src/main/index.js";
import { nativeField, nativeIndexOfAux, nativeIndexer, schemaForFactor } from "../../src/shared/model/native-histogram.js";
import { isZeroBucketAux } from "../helpers/native-aux.js";
import { nextMessage, startWorker } from "../helpers/workers.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Json {
  name: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string; exemplar?: { labelSet: Record<string, string>; value: number; timestamp: number }; native?: NativeSnapshot }>;
}

/** Values of a known spread: negatives, zeros, tiny and large magnitudes, bounds of schema 3. */
function workload(worker: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = i + worker * n;
    if (k % 97 === 0) out.push(0);
    else if (k % 89 === 0) out.push(-(k % 13) - 0.5);
    else if (k % 83 === 0) out.push(2 ** ((k % 16) / 8));
    else out.push(1e-5 * 1.01 ** (k % 2000));
  }
  return out;
}

async function run(hub: MetricsHub, jobs: object[]): Promise<Array<{ done: number; traces: Array<{ trace_id: string; value: number }> }>> {
  return Promise.all(
    jobs.map(async (job) => {
      const w = startWorker("native.mjs", { workerData: { ...hub.workerData, job } });
      cleanup.push(() => w.terminate());
      return nextMessage<{ done: number; traces: Array<{ trace_id: string; value: number }> }>(w);
    }),
  );
}

describe("native histograms from worker threads", () => {
  it("merges every worker's native buckets exactly, next to the classic buckets, count and sum", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    cleanup.push(() => hub.close());
    const buckets = [0.01, 0.1, 1];
    const perWorker = [0, 1, 2].map((w) => workload(w, 3000));
    await run(hub, perWorker.map((values, worker) => ({ values, worker, buckets, traceEvery: 500 })));
    const families = (await registry.getMetricsAsJSON()) as unknown as Json[];
    const family = families.find((f) => f.name === "fx_native_seconds") as Json;
    const all = perWorker.flat();
    const count = family.values.find((v) => v.metricName === "fx_native_seconds_count");
    const sum = family.values.find((v) => v.metricName === "fx_native_seconds_sum");
    expect(count?.value).toBe(all.length);
    // The hub adds in drain order; compare the sum up to reordering of float additions.
    expect(sum?.value).toBeCloseTo(all.reduce((a, b) => a + b, 0), 6);
    // Classic buckets, recounted here.
    const le = family.values.filter((v) => v.metricName === "fx_native_seconds_bucket").map((v) => v.value);
    expect(le).toEqual([...buckets, Infinity].map((b) => all.filter((v) => v <= b).length));
    // Native buckets: the same as recording everything in one histogram here.
    const expected = new NativeBuckets(schemaForFactor(1.1), 2 ** -128, 160);
    const index = nativeIndexer(schemaForFactor(1.1));
    for (const v of all) {
      const field = nativeField(v, 2 ** -128, index);
      if (isZeroBucketAux(field)) expected.addZero();
      else expected.add(nativeIndexOfAux(field), v < 0, schemaForFactor(1.1));
    }
    const native = count?.native as NativeSnapshot;
    expect(native.schema).toBe(expected.schema);
    expect(native.zeroCount).toBe(all.filter((v) => v === 0).length);
    expect(native.positive).toEqual(sparseSide(expected.positive));
    expect(native.negative).toEqual(sparseSide(expected.negative));
    expect(expected.schema).toBeLessThan(3); // 29 binary orders at schema 3 need 230 buckets, over 160: resolution was halved
  });

  it("keeps an exemplar per classic bucket and per counter series, with the worker's trace ids", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    cleanup.push(() => hub.close());
    const values = [0.005, 0.05, 0.5, 5, 0.006];
    const [result] = await run(hub, [{ values, worker: 7, buckets: [0.01, 0.1, 1], traceEvery: 1 }]);
    const families = (await registry.getMetricsAsJSON()) as unknown as Json[];
    const family = families.find((f) => f.name === "fx_native_seconds") as Json;
    const exemplars = family.values.filter((v) => v.metricName === "fx_native_seconds_bucket").map((v) => v.exemplar?.labelSet.trace_id);
    // Bucket 0.01 had w7-0 and w7-4: the first of them, or the second if the hub read the table between.
    expect(exemplars.slice(1)).toEqual(["w7-1", "w7-2", "w7-3"]);
    expect(["w7-0", "w7-4"]).toContain(exemplars[0]);
    const counter = families.find((f) => f.name === "fx_native_requests_total") as Json;
    expect(counter.values[0]?.value).toBe(5);
    expect(["w7-0", "w7-1", "w7-2", "w7-3", "w7-4"]).toContain(counter.values[0]?.exemplar?.labelSet.trace_id);
    expect(result?.traces.length).toBe(5);
    const ts = counter.values[0]?.exemplar?.timestamp as number;
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(60);
  });

  it("native-only (buckets: []) exposes one +Inf bucket holding the series' exemplar", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    cleanup.push(() => hub.close());
    await run(hub, [{ values: [1, 2, 3, -4, 0], worker: 1, buckets: [], traceEvery: 2 }]);
    const family = ((await registry.getMetricsAsJSON()) as unknown as Json[]).find((f) => f.name === "fx_native_seconds") as Json;
    const bucketSamples = family.values.filter((v) => v.metricName === "fx_native_seconds_bucket");
    expect(bucketSamples.map((v) => [v.labels.le, v.value])).toEqual([["+Inf", 5]]);
    // w1-0, w1-2 and w1-4 share the one slot: the first, or a later one if the hub read the table between.
    expect(["w1-0", "w1-2", "w1-4"]).toContain(bucketSamples[0]?.exemplar?.labelSet.trace_id);
    const native = family.values.find((v) => v.metricName === "fx_native_seconds_count")?.native as NativeSnapshot;
    expect(native.zeroCount).toBe(1);
    // Schema 3: 1 -> bucket 0, 2 -> 8, 3 -> ceil(8 log2 3) = 13; -4 -> 16 on the negative side.
    expect(native.positive).toEqual({ spans: [{ offset: 0, length: 1 }, { offset: 7, length: 1 }, { offset: 4, length: 1 }], deltas: [1, 0, 0] });
    expect(native.negative).toEqual({ spans: [{ offset: 16, length: 1 }], deltas: [1] });
  });
});
