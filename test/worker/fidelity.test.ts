/**
 * prom-client behaviour that the compatibility scripts (test/compat) cannot show with one worker and one
 * registry: get() in a worker, reset() across workers, `aggregator`, and the worker-side input checks
 * (option bounds, lone surrogates, broken handles, series id reuse).
 */
import { Registry } from "prom-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCodes, MetricsHub } from "../../src/main/index.js";
import { kLayoutVersion, kMagic, kMagicWord, kRingCapacityWord, kSlotCountWord, kVersionWord } from "../../src/shared/transport/layout.js";
import { kMaxAgeBuckets, kMaxBuckets, kMaxPercentiles } from "../../src/shared/model/limits.js";
import { samples } from "../helpers/exposition.js";
import { Scripted, type Reply } from "../helpers/scripted.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function setup(workers = 1, options: ConstructorParameters<typeof MetricsHub>[0] = {}) {
  const registry = new Registry();
  const hub = new MetricsHub({ registry, selfMetrics: false, ...options });
  cleanups.push(() => hub.close());
  const started: Scripted[] = [];
  for (let i = 0; i < workers; i++) {
    const w = await Scripted.start({ workerData: hub.workerData });
    cleanups.push(() => w.worker.terminate());
    started.push(w);
  }
  return { hub, registry, workers: started, read: async () => samples(await registry.metrics()) };
}

function expectCode(reply: Reply, code: string, mentions?: string): void {
  expect(reply.ok, JSON.stringify(reply)).toBe(false);
  expect(reply.code).toBe(code);
  if (mentions !== undefined) expect(reply.message).toContain(mentions);
}

describe("prom-client calls in a worker", () => {
  it("get() rejects with ERR_PROM_THREADS_UNSUPPORTED and says where the values are", async () => {
    const { workers } = await setup();
    for (const kind of ["counter", "gauge", "histogram", "summary"]) {
      const result = (await workers[0]!.ok("get", { kind, config: { name: `got_${kind}`, help: "h" } })) as { code: string; message: string };
      expect(result.code).toBe(ErrorCodes.UNSUPPORTED);
      expect(result.message).toContain(`getSingleMetric("got_${kind}")`);
    }
  });

  it("reset() in one worker resets the metric for every worker, when the hub drains that worker's ring", async () => {
    const { workers, read, hub } = await setup(2);
    const [a, b] = workers as [Scripted, Scripted];
    const config = { name: "shared_total", help: "h", labelNames: ["k"] };
    await a.ok("call", { kind: "counter", config, method: "inc", args: [{ k: "x" }, 5] });
    await b.ok("call", { kind: "counter", config, method: "inc", args: [{ k: "y" }, 7] });
    expect((await read()).get('shared_total{k="x"}')).toBe(5);
    await b.ok("call", { kind: "counter", config, method: "reset" });
    // Rings are drained one after the other: a record another thread makes before the hub reaches the
    // reset may be reset with it. Once a drain has passed, the reset is behind every later record.
    await hub.collect();
    await a.ok("call", { kind: "counter", config, method: "inc", args: [{ k: "x" }, 1] });
    const all = await read();
    expect(all.get('shared_total{k="x"}')).toBe(1);
    expect(all.has('shared_total{k="y"}')).toBe(false);
  });

  it("aggregator: \"max\" without aggregate combines worker threads by max, and getMetricsAsJSON shows it", async () => {
    const { workers, registry, read } = await setup(2);
    const config = { name: "peak", help: "h", aggregator: "max" };
    await workers[0]!.ok("set", { config, value: 3 });
    await workers[1]!.ok("set", { config, value: 5 });
    expect((await read()).get("peak")).toBe(5);
    const json = await registry.getMetricsAsJSON();
    expect(json.find((m) => m.name === "peak")?.aggregator).toBe("max");
  });

  it("ignores registers: worker metrics land in the hub's registry", async () => {
    const { workers, read } = await setup(1);
    await workers[0]!.ok("record", { kind: "counter", config: { name: "unregistered_total", help: "h", registers: [] }, count: 2 });
    expect((await read()).get("unregistered_total")).toBe(2);
  });

  it("aggregate still decides how threads combine when aggregator is also given", async () => {
    const { workers, registry, read } = await setup(2);
    const config = { name: "both", help: "h", aggregator: "first", aggregate: "sum" };
    await workers[0]!.ok("set", { config, value: 3 });
    await workers[1]!.ok("set", { config, value: 5 });
    expect((await read()).get("both")).toBe(8);
    expect((await registry.getMetricsAsJSON()).find((m) => m.name === "both")?.aggregator).toBe("first");
  });
});

describe("every metric option is validated in the worker, with bounds", () => {
  let w: Scripted;
  beforeAll(async () => {
    w = await Scripted.start({ workerData: {} });
  });
  afterAll(async () => {
    await w.worker.terminate();
  });

  it.each([
    ["ageBuckets 2^32", "summary", { maxAgeSeconds: 600, ageBuckets: 2 ** 32 }, "ageBuckets"],
    [`ageBuckets above ${kMaxAgeBuckets}`, "summary", { maxAgeSeconds: 600, ageBuckets: kMaxAgeBuckets + 1 }, "ageBuckets"],
    ["ageBuckets 0", "summary", { maxAgeSeconds: 600, ageBuckets: 0 }, "ageBuckets"],
    ["maxAgeSeconds Infinity", "summary", { maxAgeSeconds: Infinity, ageBuckets: 5 }, "maxAgeSeconds"],
    ["maxAgeSeconds negative", "summary", { maxAgeSeconds: -1, ageBuckets: 5 }, "maxAgeSeconds"],
    ["a window rotating every millisecond", "summary", { maxAgeSeconds: 0.005, ageBuckets: 5 }, "maxAgeSeconds / options.ageBuckets"],
    ["compressCount 1", "summary", { compressCount: 1 }, "compressCount"],
    ["compressCount 2^53", "summary", { compressCount: 2 ** 53 }, "compressCount"],
    [`more than ${kMaxPercentiles} percentiles`, "summary", { percentiles: Array.from({ length: kMaxPercentiles + 1 }, (_, i) => i / 100) }, "percentiles"],
    ["a percentile above 1", "summary", { percentiles: [0.5, 1.5] }, "percentiles"],
    ["pruneAgedBuckets not a boolean", "summary", { pruneAgedBuckets: "yes" }, "pruneAgedBuckets"],
    [`more than ${kMaxBuckets} buckets`, "histogram", { buckets: Array.from({ length: kMaxBuckets + 1 }, (_, i) => i + 1) }, "buckets"],
    ["an unknown aggregator", "gauge", { aggregator: "median" }, "aggregator"],
    ["enableExemplars not a boolean", "counter", { enableExemplars: 1 }, "enableExemplars"],
  ])("%s throws ERR_PROM_THREADS_INVALID_OPTION at the constructor", async (_what, kind, options, mentions) => {
    const reply = await w.run("construct", { kind, config: { name: `opt_${Math.random().toString(36).slice(2)}`, help: "h", ...options } });
    expectCode(reply, ErrorCodes.INVALID_OPTION, `options.${mentions}`);
  });

  it("accepts prom-client's own sliding-window settings", async () => {
    await w.ok("construct", { kind: "summary", config: { name: "window_ok", help: "h", maxAgeSeconds: 600, ageBuckets: 5, pruneAgedBuckets: true, compressCount: 1000 } });
    await w.ok("construct", { kind: "summary", config: { name: "window_short", help: "h", maxAgeSeconds: 0.5, ageBuckets: 5 } });
  });

  it("rejects label values with lone UTF-16 surrogates at the call, so two values cannot become one series", async () => {
    const config = { name: "surrogates_total", help: "h", labelNames: ["v"] };
    expectCode(await w.run("call", { kind: "counter", config, method: "inc", args: [{ v: "a\uD800" }] }), ErrorCodes.INVALID_LABELS, "lone UTF-16 surrogate");
    expectCode(await w.run("call", { kind: "counter", config, method: "labels", args: ["\uDC00b"] }), ErrorCodes.INVALID_LABELS, "surrogate");
    // A well-formed pair is an ordinary value.
    const pair = await w.run("call", { kind: "counter", config, method: "labels", args: ["\uD83D\uDE00"] });
    expect(pair.ok).toBe(true);
  });
});

describe("connect() validates the whole handle first", () => {
  /** A buffer with a valid header that claims more rings than it holds. */
  function oversizedHandle(slotCount: number, ringCapacity: number, bytes = 64 * 1024) {
    const buffer = new SharedArrayBuffer(bytes);
    const words = new Uint32Array(buffer);
    words[kMagicWord] = kMagic;
    words[kVersionWord] = kLayoutVersion;
    words[kSlotCountWord] = slotCount;
    words[kRingCapacityWord] = ringCapacity;
    return { kind: "prom-threads/hub", version: kLayoutVersion, buffer, overflowRecords: 1024, maxSeries: 2000 };
  }

  // Only the code is asserted: the messages name the part of the geometry that is wrong.
  it.each([
    ["rings larger than the buffer", oversizedHandle(4, 1 << 16)],
    ["a ring capacity that is not a power of two", oversizedHandle(1, 1500)],
    ["more slots than a hub has", oversizedHandle(100_000, 1024)],
    ["an overflow size that is not a count", { ...oversizedHandle(1, 1024), overflowRecords: -1 }],
  ])("refuses %s with ERR_PROM_THREADS_INVALID_HANDLE, and a later valid connect() works", async (_what, handle) => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, selfMetrics: false });
    cleanups.push(() => hub.close());
    const w = await Scripted.start({ workerData: {} });
    cleanups.push(() => w.worker.terminate());
    expectCode(await w.run("connect", { handle }), ErrorCodes.INVALID_HANDLE);
    expect(await w.ok("isConnected")).toBe(false);
    expect(await w.ok("connect", { handle: hub.handle })).toBe(true);
    await w.ok("record", { kind: "counter", config: { name: "after_bad_handle_total", help: "h" }, count: 3 });
    expect(samples(await registry.metrics()).get("after_bad_handle_total")).toBe(3);
  });
});

describe("remove() gives a label set's id back", () => {
  it("keeps one id for endless set/remove cycles, and the counts right", { timeout: 900_000 }, async () => {
    const { workers, read } = await setup(1);
    // 2^24 cycles (every worker-local id once over) take minutes: PROM_THREADS_LONG=1 runs them.
    const count = process.env.PROM_THREADS_LONG === "1" ? 2 ** 24 + 10 : 50_000;
    const highest = (await workers[0]!.ok("cycles", { config: { name: "cycling", help: "h", labelNames: ["k"] }, count })) as number;
    // One id for the cycling label set (the metric has no unlabelled series): nothing grows.
    expect(highest).toBe(0);
    const all = await read();
    expect([...all.keys()].filter((k) => k.startsWith("cycling{"))).toEqual([]);
  });

  it("a child kept after remove() never writes into the label set that reuses its id", async () => {
    const { workers, read, hub } = await setup(1, { selfMetrics: true });
    const before = hub.stats().recordsDropped.removed_series;
    await workers[0]!.ok("staleAfterReuse", { config: { name: "reused_total", help: "h", labelNames: ["k"] } });
    const all = await read();
    expect(all.get('reused_total{k="new"}')).toBe(10);
    expect(all.get('reused_total{k="old"}')).toBe(1);
    expect(hub.stats().recordsDropped.removed_series - before).toBe(1);
    expect(all.get('prom_threads_records_dropped_total{reason="malformed"}')).toBe(0);
  });
});
