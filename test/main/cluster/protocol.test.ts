/**
 * The cluster protocol in isolation: registry snapshots and their differences, and the aggregator's
 * rules (sequence, resets, late messages, forgetting) driven by a stand-in for node:cluster, so the
 * orderings real processes produce only sometimes are tested every time.
 */
import { execFile } from "node:child_process";
import type { Cluster } from "node:cluster";
import { EventEmitter } from "node:events";
import { promisify } from "node:util";
import { Counter, Gauge, Histogram, Registry, Summary, type OpenMetricsContentType } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { diffSnapshots, readRegistry, snapshotOf, type PushMessage, type WireFamily } from "../../../src/main/cluster/protocol.js";
import { ClusterAggregator, ErrorCodes, type PromThreadsError } from "../../../src/main/index.js";
import { samples } from "../../helpers/exposition.js";

class FakeWorker {
  readonly sent: unknown[] = [];
  readonly process: { pid: number };
  dead = false;
  connected = true;
  constructor(readonly id: number) {
    this.process = { pid: 1000 + id };
  }
  isDead(): boolean {
    return this.dead;
  }
  isConnected(): boolean {
    return this.connected;
  }
  send(message: unknown, callback?: () => void): boolean {
    this.sent.push(message);
    callback?.();
    return true;
  }
}

class FakeCluster extends EventEmitter {
  readonly isPrimary = true;
  readonly workers: Record<string, FakeWorker> = {};
  add(id: number): FakeWorker {
    const worker = new FakeWorker(id);
    this.workers[id] = worker;
    return worker;
  }
  push(worker: FakeWorker, body: Partial<PushMessage>): void {
    this.emit("message", worker, { type: "prom-threads:cluster", v: 1, kind: "push", session: "s", full: false, families: [], ...body });
  }
  exit(worker: FakeWorker): void {
    worker.dead = true;
    this.emit("exit", worker);
  }
  disconnect(worker: FakeWorker): void {
    worker.connected = false;
    this.emit("disconnect", worker);
  }
}

const counter = (value: number, labels: Record<string, string> = {}): WireFamily => ({ n: "jobs_total", h: "Jobs.", t: "counter", a: "sum", s: [[labels, value]] });
const gauge = (value: number | null): WireFamily => ({ n: "level", h: "Level.", t: "gauge", a: "sum", s: [[{}, value]] });

let aggregators: ClusterAggregator[] = [];
afterEach(async () => {
  await Promise.all(aggregators.map((a) => a.close()));
  aggregators = [];
});

function setup(options: Record<string, unknown> = {}) {
  const cluster = new FakeCluster();
  const aggregator = new ClusterAggregator({ cluster: cluster as unknown as Cluster, scrapeWaitMs: 0, ...options });
  const errors: PromThreadsError[] = [];
  aggregator.on("error", (e) => errors.push(e));
  aggregators.push(aggregator);
  return { cluster, aggregator, errors, scrape: async () => samples(await aggregator.registry.metrics()) };
}

describe("snapshots and their differences", () => {
  it("reads counters, gauges, histograms and summaries out of a prom-client registry", async () => {
    const registry = new Registry();
    new Counter({ name: "c_total", help: "C.", labelNames: ["k"], registers: [registry] }).inc({ k: "a" }, 2);
    new Gauge({ name: "g", help: "G.", registers: [registry], aggregator: "max" }).set(Number.NaN);
    const h = new Histogram({ name: "h", help: "H.", buckets: [1, 5], labelNames: ["k"], registers: [registry] });
    h.observe({ k: "x" }, 0.5);
    h.observe({ k: "x" }, 3);
    h.observe({ k: "x" }, 9);
    new Summary({ name: "s", help: "S.", percentiles: [0.5], registers: [registry] }).observe(4);
    const snapshot = snapshotOf([await readRegistry(registry)]);
    const families = diffSnapshots(new Map(), snapshot);
    expect(families).toEqual([
      { n: "c_total", h: "C.", t: "counter", a: "sum", s: [[{ k: "a" }, 2]] },
      { n: "g", h: "G.", t: "gauge", a: "max", s: [[{}, "NaN"]] },
      { n: "h", h: "H.", t: "histogram", a: "sum", b: [1, 5], s: [[{ k: "x" }, 12.5, 1, 2, 3]] },
      { n: "s", h: "S.", t: "summary", a: "sum", b: [0.5], s: [[{}, 4, 1, 4]] },
    ]);
    // Nothing changed: nothing to send.
    expect(diffSnapshots(snapshot, snapshotOf([await readRegistry(registry)]))).toEqual([]);
  });

  it("sends changed series only, and a null for a gauge series that is gone", async () => {
    const registry = new Registry();
    const c = new Counter({ name: "c_total", help: "C.", labelNames: ["k"], registers: [registry] });
    const g = new Gauge({ name: "g", help: "G.", labelNames: ["k"], registers: [registry] });
    c.inc({ k: "a" });
    c.inc({ k: "b" });
    g.set({ k: "a" }, 1);
    g.set({ k: "b" }, Number.POSITIVE_INFINITY);
    const before = snapshotOf([await readRegistry(registry)]);
    c.inc({ k: "b" });
    g.remove({ k: "a" });
    const after = snapshotOf([await readRegistry(registry)]);
    expect(diffSnapshots(before, after)).toEqual([
      { n: "c_total", h: "C.", t: "counter", a: "sum", s: [[{ k: "b" }, 2]] },
      { n: "g", h: "G.", t: "gauge", a: "sum", s: [[{ k: "a" }, null]] },
    ]);
    expect(before.get("g")?.series.get("1:k1:b")).toEqual([{ k: "b" }, "+Inf"]);
  });
  it("declares histogram buckets and summary quantiles from the configuration, before any observation", async () => {
    const registry = new Registry();
    new Histogram({ name: "h", help: "H.", labelNames: ["route"], buckets: [0.1, 1], registers: [registry] });
    new Summary({ name: "s", help: "S.", labelNames: ["route"], percentiles: [0.5, 0.99], registers: [registry] });
    expect(diffSnapshots(new Map(), snapshotOf([await readRegistry(registry)]))).toEqual([
      { n: "h", h: "H.", t: "histogram", a: "sum", b: [0.1, 1], s: [] },
      { n: "s", h: "S.", t: "summary", a: "sum", b: [0.5, 0.99], s: [] },
    ]);
  });
});

describe("ClusterAggregator rules", () => {
  it("counts what a process counted before its counter was reset (a total that goes down)", async () => {
    const { cluster, scrape } = setup();
    const w = cluster.add(1);
    cluster.push(w, { seq: 1, full: true, families: [counter(10)] });
    cluster.push(w, { seq: 2, families: [counter(3)] }); // the process's registry restarted
    cluster.push(w, { seq: 3, families: [counter(5)] });
    expect((await scrape()).get("jobs_total")).toBe(15);
  });

  it("applies counters from messages read after the exit event, but not gauges", async () => {
    const { cluster, scrape, aggregator } = setup();
    const w = cluster.add(1);
    cluster.push(w, { seq: 1, full: true, families: [counter(10), gauge(4)] });
    cluster.exit(w);
    expect((await scrape()).get("level")).toBeUndefined();
    cluster.push(w, { seq: 2, families: [counter(12), gauge(9)] }); // still in the channel when it died
    let all = await scrape();
    expect(all.get("jobs_total")).toBe(12);
    expect(all.get("level")).toBeUndefined();
    cluster.disconnect(w);
    expect(aggregator.stats().processes).toEqual([]); // forgotten: exited and channel read to its end
    const again = cluster.add(2); // its replacement starts from zero
    cluster.push(again, { seq: 1, full: true, families: [counter(1)] });
    all = await scrape();
    expect(all.get("jobs_total")).toBe(13);
  });

  it("drops gauge series a full push does not list, and series pushed as null", async () => {
    const { cluster, scrape } = setup();
    const w = cluster.add(1);
    const v = cluster.add(2);
    cluster.push(w, { seq: 1, full: true, families: [gauge(4), { n: "other", h: "O.", t: "gauge", a: "sum", s: [[{}, 1]] }] });
    cluster.push(v, { seq: 1, full: true, families: [gauge(6)] });
    expect((await scrape()).get("level")).toBe(10);
    cluster.push(w, { seq: 2, families: [gauge(null)] });
    expect((await scrape()).get("level")).toBe(6);
    cluster.push(v, { session: "new", seq: 1, full: true, families: [] }); // a new publisher with no gauges
    const all = await scrape();
    expect(all.get("level")).toBeUndefined();
    expect(all.get("other")).toBe(1);
  });

  it("asks a process it has no baseline for to resync, once per session", async () => {
    const { cluster } = setup();
    const w = cluster.add(1);
    cluster.push(w, { seq: 5, families: [counter(1)] });
    cluster.push(w, { seq: 6, families: [counter(2)] });
    expect(w.sent.filter((m) => (m as { kind: string }).kind === "resync")).toEqual([{ type: "prom-threads:cluster", v: 1, kind: "resync", session: "s" }]);
  });

  it("acknowledges a repeated push without applying it again", async () => {
    const { cluster, aggregator } = setup();
    const w = cluster.add(1);
    cluster.push(w, { seq: 1, full: true, ack: true, families: [counter(1)] });
    cluster.push(w, { seq: 1, full: true, ack: true, families: [counter(1)] });
    expect(w.sent.filter((m) => (m as { kind: string }).kind === "ack")).toHaveLength(2);
    expect(aggregator.stats()).toEqual(expect.objectContaining({ pushesApplied: 1, pushesIgnored: 1 }));
  });

  it("rejects malformed series and families, and keeps the good ones, with one error per kind and push", async () => {
    const { cluster, aggregator, scrape, errors } = setup();
    const w = cluster.add(1);
    cluster.push(w, {
      seq: 1,
      full: true,
      families: [
        counter(-1, { k: "negative" }),
        counter(2, { k: "fine" }),
        { n: "h", h: "H.", t: "histogram", a: "sum", b: [1], s: [[{}, 1, 3, 2]] }, // cumulative counts going down
        { n: "x", h: "X.", t: "untyped" as "counter", a: "sum", s: [] },
        { n: "bad", h: "B.", t: "counter", a: "sum", s: [[{ k: 1 as unknown as string }, 1]] },
      ],
    });
    expect((await scrape()).get('jobs_total{k="fine"}')).toBe(2);
    expect(errors.map((e) => e.code)).toEqual([ErrorCodes.MALFORMED_CLUSTER_MESSAGE, ErrorCodes.CLUSTER_REJECTED]);
    expect(errors[0]?.message).toContain("2 malformed items");
    expect(errors[1]?.message).toContain("2 items");
    expect(aggregator.stats()).toEqual(expect.objectContaining({ malformedMessages: 2, rejectedFamilies: 1, rejectedSeries: 1 }));
  });

  it("keeps a published total exactly as it was when a process leaves (fractional sums)", async () => {
    const { cluster, scrape } = setup();
    const histogram = (sum: number): WireFamily => ({ n: "job_seconds", h: "J.", t: "histogram", a: "sum", b: [1], s: [[{}, sum, 1, 1]] });
    const workers = [1, 2, 3].map((id) => cluster.add(id));
    [0.7, 0.1, 0.2].forEach((sum, i) => {
      cluster.push(workers[i]!, { seq: 1, full: true, families: [histogram(sum)] });
    });
    const before = (await scrape()).get("job_seconds_sum");
    // Leaving in this order once turned 1 into 0.9999999999999999 (retired and live totals added anew).
    for (const w of [workers[2]!, workers[0]!]) {
      cluster.exit(w);
      cluster.disconnect(w);
      expect((await scrape()).get("job_seconds_sum")).toBe(before);
    }
  });

  it("folds gauge label sets past maxSeries into the overflow series, combined by the aggregator, and gives room back", async () => {
    const { cluster, aggregator, scrape, errors } = setup({ maxSeries: 2 });
    const g = (rows: [Record<string, string>, number | null][]): WireFamily => ({ n: "temp", h: "T.", t: "gauge", a: "max", s: rows });
    const [a, b] = [cluster.add(1), cluster.add(2)];
    cluster.push(a, { seq: 1, full: true, families: [g([[{ k: "1" }, 1], [{ k: "2" }, 2], [{ k: "3" }, 30]])] });
    cluster.push(b, { seq: 1, full: true, families: [g([[{ k: "4" }, 40], [{ k: "1" }, 5]])] });
    let all = await scrape();
    expect([...all.keys()].filter((key) => key.startsWith("temp")).sort()).toEqual(['temp{k="1"}', 'temp{k="2"}', 'temp{k="__overflow__"}']);
    expect(all.get('temp{k="__overflow__"}')).toBe(40);
    expect(all.get('temp{k="1"}')).toBe(5);
    expect(aggregator.stats().foldedSeries).toBe(2);
    expect(errors.map((e) => e.code)).toEqual([ErrorCodes.SERIES_LIMIT]);
    cluster.exit(b);
    all = await scrape();
    expect(all.get('temp{k="__overflow__"}')).toBe(30);
    // Series "2" and "3" go; their room goes back: a new label set gets a series of its own.
    cluster.push(a, { seq: 2, families: [g([[{ k: "2" }, null], [{ k: "3" }, null], [{ k: "5" }, 7]])] });
    all = await scrape();
    expect(all.get('temp{k="5"}')).toBe(7);
    expect(all.has('temp{k="__overflow__"}')).toBe(false);
  });

  it("restarts totals at 0 on registry.resetMetrics() and keeps counting", async () => {
    const { cluster, aggregator, scrape } = setup();
    const w = cluster.add(1);
    cluster.push(w, { seq: 1, full: true, families: [counter(10)] });
    await scrape();
    aggregator.registry.resetMetrics();
    cluster.push(w, { seq: 2, families: [counter(14)] });
    expect((await scrape()).get("jobs_total")).toBe(4);
  });

  it("leaves out metrics whose aggregator is omit, and refuses a name taken in its registry", async () => {
    const registry = new Registry();
    new Counter({ name: "jobs_total", help: "Mine.", registers: [registry] });
    const { cluster, scrape, errors } = setup({ registry });
    const w = cluster.add(1);
    cluster.push(w, { seq: 1, full: true, families: [counter(3), { n: "started", h: "S.", t: "gauge", a: "omit", s: [[{}, 1]] }] });
    const all = await scrape();
    expect(all.get("jobs_total")).toBe(0);
    expect(all.has("started")).toBe(false);
    expect(errors.map((e) => e.code)).toEqual([ErrorCodes.DECLARATION_CONFLICT]);
  });

  it("validates its options", () => {
    const registry = new Registry();
    const cluster = new FakeCluster() as unknown as Cluster;
    expect(() => new ClusterAggregator({ cluster, registry, localRegistries: [registry] })).toThrow(/options.localRegistries/);
    expect(() => new ClusterAggregator({ cluster, processLabel: "quantile" })).toThrow(/options.processLabel/);
    expect(() => new ClusterAggregator({ cluster, scrapeWaitMs: -1 })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION }));
    const worker = Object.assign(new FakeCluster(), { isPrimary: false }) as unknown as Cluster;
    expect(() => new ClusterAggregator({ cluster: worker })).toThrow(expect.objectContaining({ code: ErrorCodes.CLUSTER_ROLE }));
  });

  it("stops listening and removes its metrics on close", async () => {
    const { cluster, aggregator } = setup();
    const w = cluster.add(1);
    cluster.push(w, { seq: 1, full: true, families: [counter(3)] });
    await aggregator.close();
    expect(cluster.listenerCount("message")).toBe(0);
    expect(await aggregator.registry.metrics()).toBe("\n");
  });
});

describe("loading", () => {
  it("does not load node:cluster until a cluster API needs it (Passenger breaks on the mere import)", async () => {
    const dist = new URL("../../../dist/main/index.js", import.meta.url).href;
    const script = `await import(${JSON.stringify(dist)}); console.log(process.moduleLoadList.some((m) => m.endsWith(" cluster")));`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { timeout: 20_000 });
    expect(stdout.trim()).toBe("false");
  });
});

/** A prom-client registry in OpenMetrics mode, typed as a plain one. */
function openMetricsRegistry(): Registry {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry as unknown as Registry;
}

describe("exemplars, created times and native buckets (push version 2)", () => {
  const push2 = (cluster: FakeCluster, worker: FakeWorker, seq: number, families: unknown[]): void => {
    cluster.emit("message", worker, { type: "prom-threads:cluster", v: 2, kind: "push", session: `s${worker.id}`, seq, full: seq === 1, families });
  };
  const counter2 = (value: number, extra: object): unknown => ({ n: "jobs_total", h: "Jobs.", t: "counter", a: "sum", s: [[{}, value, extra]] });
  const json = async (aggregator: ClusterAggregator) => {
    const metric = aggregator.registry.getSingleMetric("jobs_total") as unknown as { get(): Promise<{ values: Array<{ exemplar?: { labelSet: object; timestamp: number }; created?: number }> }> };
    return (await metric.get()).values[0];
  };

  it("reads prom-client's own exemplars, and an OpenMetrics registry of the primary prints them", async () => {
    const source = openMetricsRegistry();
    new Counter({ name: "pc_total", help: "C.", registers: [source], enableExemplars: true }).inc({ value: 2, labels: {}, exemplarLabels: { trace_id: "abc" } });
    new Histogram({ name: "ph_seconds", help: "H.", buckets: [1], registers: [source], enableExemplars: true }).observe({ value: 0.5, labels: {}, exemplarLabels: { trace_id: "slow" } });
    const families = diffSnapshots(new Map(), snapshotOf([await readRegistry(source)]));
    expect(families.map((f) => f.s[0]?.at(-1))).toEqual([
      { x: [[0, { trace_id: "abc" }, 2, expect.any(Number)]] },
      { x: [[0, { trace_id: "slow" }, 0.5, expect.any(Number)]] },
    ]);
    const { cluster, aggregator } = setup({ registry: openMetricsRegistry() });
    push2(cluster, cluster.add(1), 1, families);
    const text = await aggregator.registry.metrics();
    expect(text).toMatch(/^pc_total 2 # \{trace_id="abc"\} 2 \d+(\.\d+)?$/m);
    expect(text).toMatch(/^ph_seconds_bucket\{le="1"\} 1 # \{trace_id="slow"\} 0.5 \d+(\.\d+)?$/m);
  });

  it("keeps the newest exemplar whatever order the processes push in, and the earliest created time, never before a reset", async () => {
    const { cluster, aggregator } = setup();
    const [a, b] = [cluster.add(1), cluster.add(2)];
    push2(cluster, a, 1, [counter2(1, { x: [[0, { trace_id: "new" }, 1, 200]], c: 50 })]);
    push2(cluster, b, 1, [counter2(1, { x: [[0, { trace_id: "old" }, 1, 100]], c: 40 })]);
    expect(await json(aggregator)).toEqual(expect.objectContaining({ value: 2, exemplar: { labelSet: { trace_id: "new" }, value: 1, timestamp: 200 }, created: 40 }));
    push2(cluster, b, 2, [counter2(2, { x: [[0, { trace_id: "newer" }, 1, 300]], c: 40 })]);
    expect((await json(aggregator))?.exemplar?.labelSet).toEqual({ trace_id: "newer" });
    const before = Date.now() / 1000;
    aggregator.registry.resetMetrics();
    expect((await json(aggregator))?.exemplar).toBeUndefined();
    push2(cluster, a, 2, [counter2(3, { x: [[0, { trace_id: "after" }, 1, 400]], c: 50 })]);
    const after = await json(aggregator);
    expect(after).toEqual(expect.objectContaining({ value: 2, exemplar: { labelSet: { trace_id: "after" }, value: 1, timestamp: 400 } }));
    expect(after?.created).toBeGreaterThanOrEqual(before);
  });

  it("adds only what native buckets grew by, and a process's whole native part after it reset", async () => {
    const { cluster, aggregator } = setup();
    const w = cluster.add(1);
    const histogram = (count: number, h: object): unknown => ({ n: "sizes", h: "S.", t: "histogram", a: "sum", b: [], nh: 1, s: [[{}, count, count, { h }]] });
    push2(cluster, w, 1, [histogram(3, { s: 2, z: 0, zc: 1, p: [3, 1, 4, 1], n: [] })]);
    // The process halved its resolution to schema 1 and recorded 4 more.
    push2(cluster, w, 2, [histogram(7, { s: 1, z: 0, zc: 2, p: [2, 4, 3, 1], n: [] })]);
    const native = async () => {
      const metric = aggregator.registry.getSingleMetric("sizes") as unknown as { get(): Promise<{ values: Array<{ metricName?: string; native?: { schema: number; zeroCount: number; positive: object } }> }> };
      return (await metric.get()).values.find((v) => v.metricName === "sizes_count")?.native;
    };
    expect(await native()).toEqual({ schema: 1, zeroThreshold: 0, zeroCount: 2, positive: { spans: [{ offset: 2, length: 2 }], deltas: [4, -3] }, negative: { spans: [], deltas: [] } });
    // A reset in the process (counts went down): its whole new part is added.
    push2(cluster, w, 3, [histogram(1, { s: 1, z: 0, zc: 0, p: [2, 1], n: [] })]);
    expect(await native()).toEqual(expect.objectContaining({ zeroCount: 2, positive: { spans: [{ offset: 2, length: 2 }], deltas: [5, -4] } }));
  });

  it("keeps the newest native exemplars over every process, as many as the longest list a process sent, by value", async () => {
    const { cluster, aggregator } = setup();
    const [a, b] = [cluster.add(1), cluster.add(2)];
    const histogram = (count: number, x: unknown[]): unknown => ({ n: "sizes", h: "S.", t: "histogram", a: "sum", b: [], nh: 1, s: [[{}, count, count, { h: { s: 0, z: 0, zc: count, p: [], n: [], x } }]] });
    const ex = (trace: string, value: number, timestamp: number) => [{ trace_id: trace }, value, timestamp];
    push2(cluster, a, 1, [histogram(3, [ex("a1", 5, 10), ex("a2", 1, 20), ex("a3", 3, 30)])]);
    push2(cluster, b, 1, [histogram(2, [ex("b1", 4, 25), ex("b2", 2, 35)])]);
    const list = async () => {
      const metric = aggregator.registry.getSingleMetric("sizes") as unknown as { get(): Promise<{ values: Array<{ metricName?: string; native?: { exemplars?: Array<{ labelSet: { trace_id: string } }> } }> }> };
      return (await metric.get()).values.find((v) => v.metricName === "sizes_count")?.native?.exemplars?.map((e) => e.labelSet.trace_id);
    };
    // The three newest (a3 at 30, b1 at 25 and b2 at 35), by value.
    expect(await list()).toEqual(["b2", "a3", "b1"]);
    // a's next list repeats a3 and adds a4: still three, the newest.
    push2(cluster, a, 2, [histogram(4, [ex("a2", 1, 20), ex("a3", 3, 30), ex("a4", 9, 40)])]);
    expect(await list()).toEqual(["b2", "a3", "a4"]);
    aggregator.registry.resetMetrics();
    expect(await list()).toBeUndefined();
  });

  it("counts native buckets once when one push's native part was malformed and dropped", async () => {
    const { cluster, aggregator, errors } = setup();
    const w = cluster.add(1);
    const histogram = (count: number, h: object): unknown => ({ n: "sizes", h: "S.", t: "histogram", a: "sum", b: [], nh: 1, s: [[{}, count, count, { h }]] });
    push2(cluster, w, 1, [histogram(2, { s: 0, z: 0, zc: 0, p: [1, 2], n: [] })]);
    push2(cluster, w, 2, [histogram(3, { s: 9, z: 0, zc: 0, p: [1, 3], n: [] })]);
    push2(cluster, w, 3, [histogram(5, { s: 0, z: 0, zc: 0, p: [1, 5], n: [] })]);
    const metric = aggregator.registry.getSingleMetric("sizes") as unknown as { get(): Promise<{ values: Array<{ metricName?: string; value: number; native?: object }> }> };
    const count = (await metric.get()).values.find((v) => v.metricName === "sizes_count");
    expect(count?.value).toBe(5);
    expect(count?.native).toEqual(expect.objectContaining({ schema: 0, zeroCount: 0, positive: { spans: [{ offset: 1, length: 1 }], deltas: [5] } }));
    expect(aggregator.stats().malformedMessages).toBe(1);
    expect(errors.map((e) => e.code)).toEqual([ErrorCodes.MALFORMED_CLUSTER_MESSAGE]);
  });
});
