/**
 * Exemplars that a tracing user can trust: fair (one metric's exemplar rate takes nothing from another's),
 * fresh (a slot's exemplar is the first since the hub's previous read, or one of its last 256), exported
 * everywhere a prom-client registry goes.
 * Real worker threads, the hub's defaults, a scrape right after the work resolves.
 */
import { Registry, type OpenMetricsContentType } from "prom-client";
import type { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub, startHttpServer } from "../../src/main/index.js";
import { get } from "../helpers/http.js";
import { nextMessage, startWorker } from "../helpers/workers.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
  exemplar?: { labelSet: Record<string, string>; value: number; timestamp: number } | null;
}

async function family(registry: Registry, name: string): Promise<Sample[]> {
  const json = (await registry.getMetricsAsJSON()) as unknown as Array<{ name: string; values: Sample[] }>;
  return json.find((f) => f.name === name)?.values ?? [];
}

async function started(hub: MetricsHub): Promise<Worker> {
  const worker = startWorker("exemplar-steps.mjs", { workerData: hub.workerData });
  cleanup.push(() => worker.terminate());
  await nextMessage(worker);
  return worker;
}

async function step(worker: Worker, message: object): Promise<void> {
  worker.postMessage(message);
  await nextMessage(worker);
}

const hex = (i: number, width: number): string => i.toString(16).padStart(width, "0");

describe("exemplars are fair and fresh", () => {
  it("a hot counter's 10^5 exemplars take nothing from a histogram's one slow request, and one of the burst's last 256 is exported", async () => {
    const openMetrics = new Registry<OpenMetricsContentType>();
    openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const registry = openMetrics as unknown as Registry;
    const hub = new MetricsHub({ registry });
    cleanup.push(() => hub.close());
    const worker = await started(hub);
    const n = 100_000;
    await step(worker, { op: "burst", n });

    const counter = await family(registry, "ex_requests_total");
    expect(counter[0]?.value).toBe(n);
    // From the end of the burst, not its beginning: the worker writes a slot's exemplar at least once
    // every 256 exemplars of it, so the last one written is one of the last 256.
    const kept = Number.parseInt(counter[0]?.exemplar?.labelSet.span_id ?? "", 16);
    expect(kept).toBeGreaterThanOrEqual(n - 256);
    expect(counter[0]?.exemplar?.labelSet).toEqual({ trace_id: `c${hex(kept, 31)}`, span_id: hex(kept, 16) });
    const buckets = (await family(registry, "ex_latency_seconds")).filter((s) => s.metricName === "ex_latency_seconds_bucket");
    const withExemplar = buckets.filter((s) => s.exemplar).map((s) => [s.labels.le, s.exemplar?.labelSet.trace_id, s.exemplar?.value]);
    // The slow request on le="1" (0.1 < 0.5 <= 1); no exemplar on the fast buckets, which had none.
    expect(withExemplar).toEqual([[1, "slow", 0.5]]);

    // registry.metrics() of an OpenMetrics registry shows both (histogram exemplars included).
    const text = await registry.metrics();
    expect(text).toMatch(/ex_latency_seconds_bucket\{le="1",route="\/a"\} 1001 # \{trace_id="slow",span_id="0000000000000001"\} 0\.5 \d/);
    expect(text).toContain(`ex_requests_total{route="/a"} ${n} # {trace_id="c${hex(kept, 31)}",span_id="${hex(kept, 16)}"} 1 `);
  });

  it("each new exemplar replaces the one before it at the next scrape, whatever the scrape interval", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    cleanup.push(() => hub.close());
    const worker = await started(hub);
    for (const trace of ["a1", "a2", "a3"]) {
      await step(worker, { op: "inc", trace });
      expect((await family(registry, "ex_requests_total"))[0]?.exemplar?.labelSet).toEqual({ trace_id: trace });
    }
    // An exemplar whose labels do not fit a table entry travels through the ring; still the latest.
    await step(worker, { op: "long", trace: "long1" });
    expect((await family(registry, "ex_requests_total"))[0]?.exemplar?.labelSet).toEqual({ trace_id: "long1", note: "x".repeat(80) });
    await step(worker, { op: "inc", trace: "a4" });
    expect((await family(registry, "ex_requests_total"))[0]?.exemplar?.labelSet).toEqual({ trace_id: "a4" });
  });

  it("a removed series' exemplar does not follow its id to the next label set", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    cleanup.push(() => hub.close());
    const worker = await started(hub);
    await step(worker, { op: "inc", trace: "old", labels: { route: "/old" } });
    await step(worker, { op: "remove", labels: { route: "/old" } });
    // The new label set takes the released id; its first record has no exemplar.
    worker.postMessage({ op: "burst", n: 0, labels: { route: "/new" } });
    await nextMessage(worker);
    const counter = await family(registry, "ex_requests_total");
    const fresh = counter.find((s) => s.labels.route === "/new");
    expect(fresh).toBeUndefined();
    await step(worker, { op: "inc", trace: "new", labels: { route: "/new" } });
    const after = (await family(registry, "ex_requests_total")).find((s) => s.labels.route === "/new");
    expect(after?.exemplar?.labelSet).toEqual({ trace_id: "new" });
  });

  it("a thread that takes over a slot starts with an empty table; the hub keeps what the last owner left", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, maxWorkers: 1 });
    cleanup.push(() => hub.close());
    const first = await started(hub);
    await step(first, { op: "inc", trace: "first", labels: { route: "/1" } });
    await first.terminate();
    const second = await started(hub);
    await step(second, { op: "inc", trace: "second", labels: { route: "/2" } });
    const counter = await family(registry, "ex_requests_total");
    expect(counter.map((s) => [s.labels.route, s.value, s.exemplar?.labelSet.trace_id])).toEqual([
      ["/1", 1, "first"],
      ["/2", 1, "second"],
    ]);
  });
});

describe("exemplars and the registry's content type", () => {
  it("a Prometheus text registry: registry.metrics() has no exemplars (as prom-client prints none there); getMetricsAsJSON() and the server's OpenMetrics have them", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    cleanup.push(() => hub.close());
    const server = await startHttpServer({ hub, port: 0 });
    cleanup.push(() => server.close());
    const worker = await started(hub);
    await step(worker, { op: "burst", n: 3 });
    const text = await registry.metrics();
    expect(text).toContain('ex_requests_total{route="/a"} 3\n');
    expect(text).not.toContain("trace_id");
    // One of the three: the first, unless the hub read the table between two of them.
    expect([0, 1, 2].map((i) => `c${hex(i, 31)}`)).toContain((await family(registry, "ex_requests_total"))[0]?.exemplar?.labelSet.trace_id);
    const om = await get(`http://127.0.0.1:${server.port}/metrics`, { headers: { Accept: "application/openmetrics-text;version=1.0.0" } });
    expect(om.text).toMatch(/ex_latency_seconds_bucket\{le="1.0",route="\/a"\} 1001 # \{trace_id="slow",span_id="0000000000000001"\} 0\.5 \d/);
  });
});
