/**
 * pushToGateway against Debian's real Pushgateway: push, push-add and delete, with grouping labels,
 * reading back what the gateway serves on its own /metrics.
 */
import { Worker } from "node:worker_threads";
import { Counter, Gauge, Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterAggregator, ErrorCodes, MetricsHub, pushToGateway } from "../../src/main/index.js";
import { command, fork, killAll } from "../helpers/cluster.js";
import { skipWithoutBinary, startPushgateway, type Daemon } from "../helpers/daemons.js";
import { freePort } from "../helpers/http.js";
import { decodeMetricFamilies, type DecodedFamily } from "../helpers/protobuf.js";
import { exited, nextMessage, startWorker } from "../helpers/workers.js";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parse a text exposition into samples (label values unescaped enough for these tests). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[name!] = value!;
    out.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return out;
}

describe.skipIf(skipWithoutBinary("prometheus-pushgateway", "prometheus-pushgateway", "the Pushgateway tests"))("pushToGateway with a real Pushgateway", () => {
  let gateway: Daemon;

  async function gatewaySamples(name: string, labels: Record<string, string> = {}): Promise<Sample[]> {
    const text = await (await fetch(`${gateway.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    return parse(text).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  beforeAll(async () => {
    gateway = await startPushgateway();
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it("pushes a hub's registry, drained first, under the job and grouping labels", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, drainIntervalMs: 3_600_000 });
    try {
      new Counter({ name: "gw_main_total", help: "Main.", registers: [registry] }).inc(3);
      // A worker thread records and exits without anyone draining: the push must drain.
      const worker = new Worker(
        `import { Counter, Histogram } from ${JSON.stringify(new URL("../../dist/worker/index.js", import.meta.url).href)};
         const jobs = new Counter({ name: "gw_jobs_total", help: "Jobs.", labelNames: ["kind"] });
         const seconds = new Histogram({ name: "gw_job_seconds", help: "Time.", buckets: [1, 2] });
         for (let i = 0; i < 500; i++) { jobs.inc({ kind: "a" }); seconds.observe(1.5); }`,
        { eval: true, workerData: hub.workerData },
      );
      hub.attach(worker);
      await exited(worker);
      const result = await pushToGateway(hub, { url: gateway.url, job: "nightly", groupings: { instance: "batch-1", shard: "eu/west" } });
      expect(result.status).toBe(200);
      const group = { job: "nightly", instance: "batch-1", shard: "eu/west" };
      expect((await gatewaySamples("gw_jobs_total", { ...group, kind: "a" })).map((s) => s.value)).toEqual([500]);
      expect((await gatewaySamples("gw_job_seconds_bucket", { ...group, le: "2" })).map((s) => s.value)).toEqual([500]);
      expect((await gatewaySamples("gw_job_seconds_sum", group)).map((s) => s.value)).toEqual([750]);
      expect((await gatewaySamples("gw_main_total", group)).map((s) => s.value)).toEqual([3]);
      expect((await gatewaySamples("prom_threads_records_drained_total", group)).map((s) => s.value)).toEqual([1000]);
      // The gateway stamps each group with the time of its last successful push.
      expect(await gatewaySamples("push_time_seconds", group)).toHaveLength(1);
    } finally {
      await hub.close();
    }
  });

  it("pushes UTF-8 worker metrics with their names escaped (underscores), as the registry holds them", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    try {
      const worker = new Worker(
        `import { Histogram } from ${JSON.stringify(new URL("../../dist/worker/index.js", import.meta.url).href)};
         const duration = new Histogram({ name: "gw.request.duration", help: "Time.", labelNames: ["http.route"], buckets: [1] });
         for (let i = 0; i < 40; i++) duration.observe({ "http.route": "/a" }, 0.5);`,
        { eval: true, workerData: hub.workerData },
      );
      hub.attach(worker);
      await exited(worker);
      expect((await pushToGateway(hub, { url: gateway.url, job: "utf8" })).status).toBe(200);
      expect((await gatewaySamples("gw_request_duration_count", { job: "utf8", http_route: "/a" })).map((s) => s.value)).toEqual([40]);
      expect((await gatewaySamples("gw_request_duration_sum", { job: "utf8", http_route: "/a" })).map((s) => s.value)).toEqual([20]);
    } finally {
      await hub.close();
    }
  });

  it("replaces the group on push, merges on pushAdd, and removes it on delete", async () => {
    const a = new Registry();
    const b = new Registry();
    new Gauge({ name: "gw_a", help: "A.", registers: [a] }).set(1);
    new Gauge({ name: "gw_b", help: "B.", registers: [b] }).set(2);
    const group = { url: gateway.url, job: "merge", groupings: { instance: "m" } };
    await pushToGateway(a, group);
    await pushToGateway(b, { ...group, method: "pushAdd" });
    expect((await gatewaySamples("gw_a", { job: "merge" })).map((s) => s.value)).toEqual([1]);
    expect((await gatewaySamples("gw_b", { job: "merge" })).map((s) => s.value)).toEqual([2]);
    // Another group of the same job is left alone by everything below.
    await pushToGateway(a, { ...group, groupings: { instance: "other" } });
    await pushToGateway(b, { ...group, method: "push" });
    expect(await gatewaySamples("gw_a", { job: "merge", instance: "m" })).toEqual([]);
    expect((await gatewaySamples("gw_b", { job: "merge", instance: "m" })).map((s) => s.value)).toEqual([2]);
    expect((await pushToGateway(b, { ...group, method: "delete" })).status).toBe(202);
    expect(await gatewaySamples("gw_b", { job: "merge", instance: "m" })).toEqual([]);
    expect((await gatewaySamples("gw_a", { job: "merge", instance: "other" })).map((s) => s.value)).toEqual([1]);
  });

  it("sends empty grouping values base64-encoded", async () => {
    const registry = new Registry();
    new Gauge({ name: "gw_empty", help: "E.", registers: [registry] }).set(5);
    await pushToGateway(registry, { url: gateway.url, job: "empty", groupings: { instance: "" } });
    expect((await gatewaySamples("gw_empty", { job: "empty", instance: "" })).map((s) => s.value)).toEqual([5]);
  });

  it("rejects with ERR_PROM_THREADS_GATEWAY_FAILED when the gateway refuses the push or cannot be reached", async () => {
    const counter = new Registry();
    new Counter({ name: "gw_clash", help: "Clash.", registers: [counter] }).inc();
    const gauge = new Registry();
    new Gauge({ name: "gw_clash", help: "Clash.", registers: [gauge] }).set(1);
    await pushToGateway(counter, { url: gateway.url, job: "clash", groupings: { instance: "1" } });
    // The same name as another type in another group: the gateway answers 400 and keeps the first.
    const refused = pushToGateway(gauge, { url: gateway.url, job: "clash", groupings: { instance: "2" } });
    await expect(refused).rejects.toMatchObject({ code: ErrorCodes.GATEWAY_FAILED, message: expect.stringMatching(/status 400/) });
    const closed = `http://127.0.0.1:${await freePort()}`;
    await expect(pushToGateway(counter, { url: closed, job: "nowhere" })).rejects.toMatchObject({ code: ErrorCodes.GATEWAY_FAILED, message: expect.stringMatching(/ECONNREFUSED/) });
  });

  it("rejects invalid options before sending anything", async () => {
    const registry = new Registry();
    const url = gateway.url;
    await expect(pushToGateway(registry, { url, job: "a/b" })).rejects.toThrow(/options.job/);
    await expect(pushToGateway(registry, { url: "ftp://x", job: "a" })).rejects.toThrow(/options.url/);
    await expect(pushToGateway(registry, { url, job: "a", method: "put" as "push" })).rejects.toThrow(/options.method/);
    await expect(pushToGateway(registry, { url, job: "a", groupings: { "bad-name": "x" } })).rejects.toThrow(/options.groupings.bad-name/);
    await expect(pushToGateway({} as Registry, { url, job: "a" })).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION });
    await expect(pushToGateway(registry, { url, job: "a", format: "json" as "text" })).rejects.toThrow(/options.format/);
  });

  it('with format: "protobuf", pushes exemplars, which the gateway serves over protobuf', async () => {
    const hub = new MetricsHub({ registry: new Registry() });
    const worker = startWorker("exemplar-steps.mjs", { workerData: hub.workerData });
    try {
      await nextMessage(worker);
      worker.postMessage({ op: "burst", n: 1000 });
      await nextMessage(worker);
      expect((await pushToGateway(hub, { url: gateway.url, job: "traced", format: "protobuf" })).status).toBe(200);
      const res = await fetch(`${gateway.url}/metrics`, { headers: { Accept: "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited" } });
      const families = decodeMetricFamilies(new Uint8Array(await res.arrayBuffer()));
      const ofJob = (name: string) => families.find((f) => f.name === name)?.metrics.find((m) => m.labels.job === "traced");
      expect(ofJob("ex_requests_total")?.counter?.value).toBe(1000);
      // One of the burst's last 256 calls: the worker writes a slot's exemplar at least once every 256.
      const kept = Number.parseInt(String(ofJob("ex_requests_total")?.counter?.exemplar?.labels.span_id), 16);
      expect(kept).toBeGreaterThanOrEqual(1000 - 256);
      expect(ofJob("ex_requests_total")?.counter?.exemplar?.labels).toEqual({ trace_id: `c${kept.toString(16).padStart(31, "0")}`, span_id: kept.toString(16).padStart(16, "0") });
      const buckets = ofJob("ex_latency_seconds")?.histogram?.buckets ?? [];
      expect(buckets.filter((b) => b.exemplar !== undefined).map((b) => [b.le, b.exemplar?.labels.trace_id, b.exemplar?.value])).toEqual([[1, "slow", 0.5]]);
      // The text format the gateway also serves carries the same counts.
      expect((await gatewaySamples("ex_requests_total", { job: "traced", route: "/a" })).map((s) => s.value)).toEqual([1000]);
    } finally {
      await worker.terminate();
      await hub.close();
    }
  });

  it('with format: "protobuf", pushes a ClusterAggregator\'s merged exemplars and native histograms from 3 processes', async () => {
    const aggregator = new ClusterAggregator();
    const hex = (i: number, width: number): string => i.toString(16).padStart(width, "0");
    const burst = 100_000;
    try {
      const procs = await Promise.all([0, 1, 2].map(() => fork({}, "cluster-traced-process.mjs")));
      await Promise.all(procs.map((proc, p) => command(proc, { test: "burst", n: burst, chunks: 20, prefix: `p${p}c`, slow: p === 1 }, 60_000)));
      const ended = Date.now();
      // Right after the work: the push collects from every process first.
      expect((await pushToGateway(aggregator, { url: gateway.url, job: "cluster-traced", format: "protobuf" })).status).toBe(200);
      const res = await fetch(`${gateway.url}/metrics`, { headers: { Accept: "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited" } });
      const families: DecodedFamily[] = decodeMetricFamilies(new Uint8Array(await res.arrayBuffer()));
      const ofJob = (name: string) => families.find((f) => f.name === name)?.metrics.find((m) => m.labels.job === "cluster-traced");
      const counter = ofJob("ct_requests_total")?.counter;
      expect(counter?.value).toBe(3 * burst);
      // The latest exemplar of the three processes: one of a burst's last 256 calls, from its last second.
      const kept = Number.parseInt(String(counter?.exemplar?.labels.span_id), 16);
      expect(kept).toBeGreaterThanOrEqual(burst - 256);
      expect([0, 1, 2].map((p) => `p${p}c${hex(kept, 29)}`)).toContain(counter?.exemplar?.labels.trace_id);
      expect(counter?.exemplar?.timestamp ?? 0).toBeGreaterThanOrEqual((ended - 1000) / 1000);
      const buckets = ofJob("ct_latency_seconds")?.histogram?.buckets ?? [];
      expect(buckets.filter((b) => b.exemplar !== undefined).map((b) => [b.le, b.exemplar?.labels.trace_id, b.exemplar?.value])).toEqual([[1, "slow", 0.5]]);
      // The native histogram, merged: schema 3 (factor 1.1); 0.005 in bucket -61, 0.5 in bucket -8.
      const native = ofJob("ct_latency_native_seconds")?.histogram;
      expect(native?.schema).toBe(3);
      expect(native?.count).toBe(3001);
      expect(native?.zeroCount).toBe(0);
      const counts = new Map<number, number>();
      let index = 0;
      let count = 0;
      let d = 0;
      for (const [offset, length] of native?.positiveSpans ?? []) {
        index += offset;
        for (let i = 0; i < length; i++, index++) {
          count += native?.positiveDeltas[d++] as number;
          if (count !== 0) counts.set(index, count);
        }
      }
      expect(counts).toEqual(
        new Map([
          [-61, 3000],
          [-8, 1],
        ]),
      );
      expect(native?.buckets.filter((b) => b.exemplar !== undefined).map((b) => b.exemplar?.labels.trace_id)).toEqual(["slow"]);
    } finally {
      await killAll();
      await aggregator.close();
    }
  }, 120_000);
});
