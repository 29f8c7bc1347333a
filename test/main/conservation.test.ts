import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { samples } from "../helpers/exposition.js";
import { Scripted } from "../helpers/scripted.js";
import { exited } from "../helpers/workers.js";

const counter = { name: "jobs_total", help: "Jobs done.", labelNames: ["kind"] };
const histogram = { name: "job_seconds", help: "Job time.", labelNames: ["kind"], buckets: [0.5, 1, 2] };
const summary = { name: "payload_bytes", help: "Payload size.", percentiles: [0.5, 0.9] };

let hubs: MetricsHub[] = [];
let workers: Scripted[] = [];
afterEach(async () => {
  await Promise.all(workers.map((w) => w.worker.terminate()));
  await Promise.all(hubs.map((h) => h.close()));
  hubs = [];
  workers = [];
});

async function setup(n: number, options: ConstructorParameters<typeof MetricsHub>[0] = {}) {
  const registry = new Registry();
  const hub = new MetricsHub({ registry, ...options });
  hubs.push(hub);
  const started = await Promise.all(Array.from({ length: n }, () => Scripted.start({ workerData: hub.workerData })));
  for (const s of started) hub.attach(s.worker);
  workers.push(...started);
  return { registry, hub, workers: started };
}

describe("count conservation", () => {
  it("shows exactly N x M observations from N workers, with exact sums", async () => {
    const N = 4;
    const M = 50_000;
    const { registry, workers } = await setup(N);
    const values = [0.25, 0.75, 1.5, 3];
    await Promise.all(
      workers.map(async (w, i) => {
        await w.ok("record", { kind: "counter", config: counter, labels: { kind: `k${i % 2}` }, count: M });
        await w.ok("record", { kind: "histogram", config: histogram, labels: { kind: "all" }, count: M, value: values });
        await w.ok("record", { kind: "summary", config: summary, count: 1000, value: [10, 20] });
      }),
    );
    const all = samples(await registry.metrics());
    expect(all.get('jobs_total{kind="k0"}')).toBe((N / 2) * M);
    expect(all.get('jobs_total{kind="k1"}')).toBe((N / 2) * M);
    expect(all.get('job_seconds_count{kind="all"}')).toBe(N * M);
    expect(all.get('job_seconds_bucket{le="0.5",kind="all"}')).toBe((N * M) / 4);
    expect(all.get('job_seconds_bucket{le="1",kind="all"}')).toBe((N * M) / 2);
    expect(all.get('job_seconds_bucket{le="2",kind="all"}')).toBe((3 * N * M) / 4);
    expect(all.get('job_seconds_bucket{le="+Inf",kind="all"}')).toBe(N * M);
    expect(all.get('job_seconds_sum{kind="all"}')).toBe(((0.25 + 0.75 + 1.5 + 3) / 4) * N * M);
    expect(all.get("payload_bytes_count")).toBe(N * 1000);
    expect(all.get("payload_bytes_sum")).toBe(N * 1000 * 15);
    expect(all.get("prom_threads_records_drained_total")).toBe(N * (2 * M + 1000));
    expect(all.get('prom_threads_records_dropped_total{reason="ring_full"}')).toBe(0);
  });

  it("keeps counts across ring index wrap-around (indices start near 2^32)", async () => {
    const { registry, workers } = await setup(2, { ringStartIndex: 2 ** 32 - 1000, ringBytes: 16384 });
    await Promise.all(workers.map((w) => w.ok("record", { kind: "counter", config: counter, labels: { kind: "w" }, count: 100_000 })));
    const all = samples(await registry.metrics());
    expect(all.get('jobs_total{kind="w"}')).toBe(200_000);
  });

  it("lists a metric declared just before the scrape, without waiting for the timer", async () => {
    const { registry, workers } = await setup(1, { drainIntervalMs: 3_600_000 });
    await workers[0]!.ok("record", { kind: "counter", config: { name: "fresh_total", help: "New." }, count: 3 });
    expect(samples(await registry.metrics()).get("fresh_total")).toBe(3);
  });

  it("sits next to main-thread prom-client metrics in the same registry", async () => {
    const { registry, workers } = await setup(1);
    const { Counter } = await import("prom-client");
    const mainCounter = new Counter({ name: "main_requests_total", help: "Main.", registers: [registry] });
    mainCounter.inc(7);
    await workers[0]!.ok("record", { kind: "counter", config: counter, labels: { kind: "x" }, count: 5 });
    const all = samples(await registry.metrics());
    expect(all.get("main_requests_total")).toBe(7);
    expect(all.get('jobs_total{kind="x"}')).toBe(5);
    const json = await registry.getMetricsAsJSON();
    expect(json.find((m) => m.name === "jobs_total")?.values).toEqual([{ labels: { kind: "x" }, value: 5 }]);
  });
});

describe("worker exits", () => {
  it("never lowers a counter when workers are terminated, and drops their gauge values", async () => {
    const { registry, hub, workers } = await setup(2);
    const gauge = { name: "busy", help: "Busy.", aggregate: "sum" };
    await workers[0]!.ok("record", { kind: "counter", config: counter, labels: { kind: "a" }, count: 1000 });
    await workers[1]!.ok("record", { kind: "counter", config: counter, labels: { kind: "a" }, count: 500 });
    await workers[0]!.ok("set", { config: gauge, value: 3 });
    await workers[1]!.ok("set", { config: gauge, value: 5 });
    let all = samples(await registry.metrics());
    expect(all.get('jobs_total{kind="a"}')).toBe(1500);
    expect(all.get("busy")).toBe(8);
    expect(all.get("prom_threads_workers_connected")).toBe(2);

    await workers[0]!.worker.terminate();
    await hub.collect();
    all = samples(await registry.metrics());
    expect(all.get('jobs_total{kind="a"}')).toBe(1500);
    expect(all.get("busy")).toBe(5);
    expect(all.get("prom_threads_workers_connected")).toBe(1);

    await workers[1]!.worker.terminate();
    all = samples(await registry.metrics());
    expect(all.get('jobs_total{kind="a"}')).toBe(1500);
    expect(all.has("busy")).toBe(false);
  });

  it("frees the slot and gauge of a worker that calls process.exit(), with nothing attached", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, maxWorkers: 1 });
    hubs.push(hub);
    const first = await Scripted.start({ workerData: hub.workerData });
    workers.push(first);
    await first.ok("record", { kind: "counter", config: counter, labels: { kind: "x" }, count: 10 });
    await first.ok("set", { config: { name: "level", help: "Level." }, value: 4 });
    expect(samples(await registry.metrics()).get("level")).toBe(4);
    await expect(first.run("exit", { code: 0 })).rejects.toThrow(/exited with code 0/);
    await exited(first.worker);
    await hub.collect();
    let all = samples(await registry.metrics());
    expect(all.has("level")).toBe(false);
    expect(all.get("prom_threads_workers_connected")).toBe(0);
    // The only slot is free again: a new worker records without a no_slot drop.
    const second = await Scripted.start({ workerData: hub.workerData });
    workers.push(second);
    await second.ok("record", { kind: "counter", config: counter, labels: { kind: "x" }, count: 5 });
    all = samples(await registry.metrics());
    expect(all.get('jobs_total{kind="x"}')).toBe(15);
    expect(all.get('prom_threads_records_dropped_total{reason="no_slot"}')).toBe(0);
  });

  it("combines gauges with max, min and last across live workers", async () => {
    const { registry, workers } = await setup(3);
    const config = (aggregate: string) => ({ name: `g_${aggregate}`, help: "G.", aggregate });
    for (const aggregate of ["max", "min", "last"]) {
      await workers[0]!.ok("set", { config: config(aggregate), value: 7 });
      await workers[1]!.ok("set", { config: config(aggregate), value: -2 });
      await workers[2]!.ok("set", { config: config(aggregate), value: 4 });
    }
    const all = samples(await registry.metrics());
    expect(all.get("g_max")).toBe(7);
    expect(all.get("g_min")).toBe(-2);
    expect(all.get("g_last")).toBe(4);
  });
});
