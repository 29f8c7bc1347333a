import { Counter, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub, type PromThreadsError } from "../../src/main/index.js";
import { ErrorCodes } from "../../src/shared/api/errors.js";
import { samples } from "../helpers/exposition.js";
import { Scripted } from "../helpers/scripted.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function makeHub(options: ConstructorParameters<typeof MetricsHub>[0] = {}) {
  const registry = new Registry();
  const hub = new MetricsHub({ registry, ...options });
  cleanup.push(() => hub.close());
  return { registry, hub };
}

async function worker(options: Parameters<typeof Scripted.start>[0] = {}) {
  const w = await Scripted.start(options);
  cleanup.push(() => w.worker.terminate());
  return w;
}

describe("connecting", () => {
  it("throws a clear error that names the fix when a worker records without a hub", async () => {
    const w = await worker({ workerData: { unrelated: true } });
    const reply = await w.run("record", { kind: "counter", config: { name: "lonely_total", help: "h" } });
    expect(reply.ok).toBe(false);
    expect(reply.code).toBe(ErrorCodes.NOT_CONNECTED);
    expect(reply.message).toContain("hub.workerData");
    expect(reply.message).toContain("connect(");
  });

  it("connects with connect(handle) sent by postMessage; earlier declarations follow", async () => {
    const { registry, hub } = makeHub();
    const w = await worker();
    await w.ok("construct", { kind: "counter", config: { name: "late_total", help: "h" } });
    expect(await w.ok("isConnected")).toBe(false);
    expect(await w.ok("connect", { handle: hub.handle })).toBe(true);
    await w.ok("record", { kind: "counter", config: { name: "late_total", help: "h" }, count: 4 });
    expect(samples(await registry.metrics()).get("late_total")).toBe(4);
  });

  it("reports a thread as connected once workerData carries the hub, before anything is recorded", async () => {
    const { hub } = makeHub();
    const w = await worker({ workerData: hub.workerData });
    expect(await w.ok("isConnected")).toBe(true);
  });

  it("refuses something that is not a handle", async () => {
    const w = await worker();
    const reply = await w.run("connect", { handle: { buffer: 1 } });
    expect(reply.code).toBe(ErrorCodes.INVALID_HANDLE);
  });

  it("counts the records of a worker that found no free slot, and says so", async () => {
    const { registry, hub } = makeHub({ maxWorkers: 1 });
    const errors: PromThreadsError[] = [];
    hub.on("error", (e) => errors.push(e));
    const a = await worker({ workerData: hub.workerData });
    const b = await worker({ workerData: hub.workerData });
    await a.ok("record", { kind: "counter", config: { name: "slots_total", help: "h" }, count: 3 });
    await b.ok("record", { kind: "counter", config: { name: "slots_total", help: "h" }, count: 7 });
    const all = samples(await registry.metrics());
    expect(all.get("slots_total")).toBe(3);
    expect(all.get('prom_threads_records_dropped_total{reason="no_slot"}')).toBe(7);
    expect(errors.map((e) => e.code)).toContain(ErrorCodes.NO_FREE_SLOT);
  });
});

describe("declarations", () => {
  it("keeps the first of two conflicting declarations, reports the conflict, and counts the other's records as dropped", async () => {
    const { registry, hub } = makeHub();
    const errors: PromThreadsError[] = [];
    hub.on("error", (e) => errors.push(e));
    const a = await worker({ workerData: hub.workerData });
    const b = await worker({ workerData: hub.workerData });
    await a.ok("record", { kind: "counter", config: { name: "shared_total", help: "Shared." }, count: 5 });
    await b.ok("record", { kind: "gauge", config: { name: "shared_total", help: "Shared." }, count: 2 });
    await b.ok("record", { kind: "counter", config: { name: "shared_total", help: "Other help." }, count: 3 });
    await b.ok("record", { kind: "counter", config: { name: "fine_total", help: "Fine." }, count: 1 });
    const all = samples(await registry.metrics());
    expect(all.get("shared_total")).toBe(5);
    expect(all.get("fine_total")).toBe(1);
    expect(all.get('prom_threads_declaration_conflicts_total{metric="shared_total"}')).toBe(2);
    expect(all.get('prom_threads_records_dropped_total{reason="declaration_conflict"}')).toBe(5);
    expect(errors.filter((e) => e.code === ErrorCodes.DECLARATION_CONFLICT)).toHaveLength(2);
    expect(errors[0]?.message).toContain("shared_total");
    expect(errors[0]?.message).toContain("type");
    expect(errors[1]?.message).toContain("help");
  });

  it("reports a worker metric whose name a main-thread metric already has, and keeps serving", async () => {
    const { registry, hub } = makeHub();
    new Counter({ name: "taken_total", help: "Main.", registers: [registry] }).inc(9);
    const errors: PromThreadsError[] = [];
    hub.on("error", (e) => errors.push(e));
    const w = await worker({ workerData: hub.workerData });
    await w.ok("record", { kind: "counter", config: { name: "taken_total", help: "Worker." }, count: 2 });
    const all = samples(await registry.metrics());
    expect(all.get("taken_total")).toBe(9);
    expect(all.get('prom_threads_records_dropped_total{reason="declaration_conflict"}')).toBe(2);
    expect(errors[0]?.code).toBe(ErrorCodes.DECLARATION_CONFLICT);
  });

  it("warns instead of crashing when nobody listens for errors", async () => {
    const { registry, hub } = makeHub();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    cleanup.push(async () => process.off("warning", onWarning));
    const a = await worker({ workerData: hub.workerData });
    await a.ok("record", { kind: "counter", config: { name: "w_total", help: "A." }, count: 1 });
    await a.ok("record", { kind: "gauge", config: { name: "w_total", help: "A." }, count: 1 });
    await registry.metrics();
    await new Promise((r) => setImmediate(r));
    expect(warnings.some((w) => (w as Error & { code?: string }).code === ErrorCodes.DECLARATION_CONFLICT)).toBe(true);
    expect(hub.closed).toBe(false);
  });
});

describe("series removal", () => {
  it("removes a worker's gauge contribution, keeps counter totals, and counts records on a removed child", async () => {
    const { registry, hub } = makeHub();
    hub.on("error", () => {});
    const w = await worker({ workerData: hub.workerData });
    const gauge = { name: "conns", help: "h", labelNames: ["peer"] };
    await w.ok("set", { config: gauge, labels: { peer: "a" }, value: 2 });
    await w.ok("set", { config: gauge, labels: { peer: "b" }, value: 3 });
    await w.ok("remove", { kind: "gauge", config: gauge, labels: { peer: "a" } });
    const counter = { name: "rm_total", help: "h", labelNames: ["k"] };
    await w.ok("record", { kind: "counter", config: counter, labels: { k: "x" }, count: 4 });
    await w.ok("remove", { kind: "counter", config: counter, labels: { k: "x" } });
    await w.ok("record", { kind: "counter", config: counter, labels: { k: "x" }, count: 1 });
    const all = samples(await registry.metrics());
    expect(all.has('conns{peer="a"}')).toBe(false);
    expect(all.get('conns{peer="b"}')).toBe(3);
    expect(all.get('rm_total{k="x"}')).toBe(5);
  });

  it("counts records on a child whose label set was removed as dropped, not as another series", async () => {
    const { registry, hub } = makeHub();
    const w = await worker({ workerData: hub.workerData });
    await w.ok("staleChild", { config: { name: "stale_total", help: "h", labelNames: ["k"] }, labels: { k: "a" }, count: 6 });
    const all = samples(await registry.metrics());
    expect(all.get('stale_total{k="a"}')).toBe(1);
    expect(all.get('prom_threads_records_dropped_total{reason="removed_series"}')).toBe(6);
  });
});


describe("timers", () => {
  it("observe elapsed seconds with labels from both calls, on metrics and children", async () => {
    const { registry, hub } = makeHub();
    const w = await worker({ workerData: hub.workerData });
    const seconds = (await w.ok("timers")) as number[];
    expect(seconds.every((s) => s >= 0 && s < 1)).toBe(true);
    const all = samples(await registry.metrics());
    expect(all.get('timer_seconds_count{route="/",status="ok"}')).toBe(1);
    expect(all.get('timer_seconds_sum{route="/",status="ok"}')).toBe(seconds[0]);
    expect(all.get('timer_seconds_count{route="/",status="child"}')).toBe(1);
    expect(all.get('timer_summary_seconds_count{route="/s"}')).toBe(1);
    expect(all.get('timer_summary_seconds_count{route="/c"}')).toBe(1);
    expect(all.get('timer_gauge_seconds{route="/g"}')).toBe(seconds[4]);
    expect(all.get('timer_gauge_seconds{route="/gc"}')).toBe(seconds[5]);
  });
});

describe("summaries", () => {
  it("computes quantiles over every worker's observations", async () => {
    const { registry, hub } = makeHub();
    const a = await worker({ workerData: hub.workerData });
    const b = await worker({ workerData: hub.workerData });
    const config = { name: "latency", help: "h", percentiles: [0.5, 0.99], labelNames: ["route"] };
    await a.ok("record", { kind: "summary", config, labels: { route: "/" }, count: 100, value: 1 });
    await b.ok("record", { kind: "summary", config, labels: { route: "/" }, count: 100, value: 3 });
    const all = samples(await registry.metrics());
    expect(all.get('latency_count{route="/"}')).toBe(200);
    expect(all.get('latency_sum{route="/"}')).toBe(400);
    expect(all.get('latency{quantile="0.99",route="/"}')).toBe(3);
  });
});

describe("lifecycle and options", () => {
  it("drains one last time on close, then removes its metrics and rejects further use", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, drainIntervalMs: 3_600_000 });
    const w = await worker({ workerData: hub.workerData });
    await w.ok("record", { kind: "counter", config: { name: "closing_total", help: "h" }, count: 3 });
    await hub.close();
    expect(hub.stats().recordsDrained).toBe(3);
    expect(registry.getSingleMetric("closing_total")).toBeUndefined();
    expect(registry.getSingleMetric("prom_threads_records_drained_total")).toBeUndefined();
    await expect(hub.collect()).rejects.toMatchObject({ code: ErrorCodes.HUB_CLOSED });
    // The registry works on its own again, and a new hub may use it.
    const again = new MetricsHub({ registry });
    await again.close();
  });

  it.each([
    [{ ringBytes: 3000 }, "options.ringBytes"],
    [{ ringBytes: 1024 }, "options.ringBytes"],
    [{ maxWorkers: 0 }, "options.maxWorkers"],
    [{ overflowRecords: -1 }, "options.overflowRecords"],
    [{ spillRecords: -1 }, "options.spillRecords"],
    [{ overflowRecords: 10, spillRecords: 10 }, "options.overflowRecords"],
    [{ ringBytes: 2 ** 28, spillRecords: 2 ** 28 }, "options.spillRecords"],
    [{ drainIntervalMs: 1.5 }, "options.drainIntervalMs"],
    [{ selfMetrics: "yes" }, "options.selfMetrics"],
    [{ registry: {} }, "options.registry"],
  ])("rejects invalid options %j", (options, mentions) => {
    expect(() => new MetricsHub(options as never)).toThrow(mentions);
    try {
      new MetricsHub(options as never);
    } catch (error) {
      expect((error as PromThreadsError).code).toBe(ErrorCodes.INVALID_OPTION);
    }
  });

  it("accepts spillRecords as the deprecated name of overflowRecords, with one warning", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const registry = new Registry();
      const hub = new MetricsHub({ registry, ringBytes: 16384, spillRecords: 100 });
      const handle = hub.handle;
      expect(handle.overflowRecords).toBe(100);
      await hub.close();
      const again = new MetricsHub({ registry, ringBytes: 16384, spillRecords: 200 });
      expect(again.handle.overflowRecords).toBe(200);
      await again.close();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    const deprecations = warnings.filter((w) => (w as NodeJS.ErrnoException).code === "PROM_THREADS_DEP_SPILL_RECORDS");
    expect(deprecations.length).toBeLessThanOrEqual(1);
  });

  it("grows shared memory with the workers that connect, not with maxWorkers", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, maxWorkers: 4096 });
    const idle = hub.stats().sharedMemoryBytes;
    // The control buffer only: 4096 slots of 192 bytes of header, no ring yet.
    expect(idle).toBeLessThan(1 << 20);
    const worker = await Scripted.start({ workerData: hub.workerData });
    await worker.ok("record", { kind: "counter", config: { name: "grow_total", help: "h" }, count: 3 });
    await hub.collect();
    expect(hub.stats().sharedMemoryBytes).toBe(idle + (1 << 20));
    await worker.worker.terminate();
    await hub.close();
  });

  it("refuses a second hub's self-metrics on one registry", () => {
    const { registry } = makeHub();
    expect(() => new MetricsHub({ registry })).toThrow(/one hub per registry/);
    const quiet = new MetricsHub({ registry, selfMetrics: false });
    cleanup.push(() => quiet.close());
  });

  it("rejects attach() of something that is not a Worker or a pool", () => {
    const { hub } = makeHub();
    expect(() => hub.attach({} as never)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_TARGET }));
  });

  it("uses prom-client's default registry when none is given", async () => {
    const { register } = await import("prom-client");
    const hub = new MetricsHub();
    cleanup.push(() => hub.close());
    expect(hub.registry).toBe(register);
    expect(register.getSingleMetric("prom_threads_records_drained_total")).toBeDefined();
  });
});
