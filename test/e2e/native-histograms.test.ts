/**
 * End to end: Debian's Prometheus 2.42, with native histograms and exemplar storage enabled, scrapes a hub
 * fed by a piscina pool in the protobuf format, and (as a second job, through the same library's handler
 * answering in the text format) its classic buckets. Prometheus's query API is the judge.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Piscina } from "piscina";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsHub, metricsHandler, startHttpServer, type MetricsServer } from "../../src/main/index.js";
import { growthFactor, schemaForFactor } from "../../src/shared/model/native-histogram.js";
import { query, scalar, startPrometheus, type Daemon } from "../helpers/daemons.js";
import { skipWithout } from "../helpers/exposition-checkers.js";
import { sleep } from "../helpers/http.js";

const TASKS = 24;
const PER_TASK = 500;
const BUCKETS = [0.01, 0.1, 1];
const SCHEMA = schemaForFactor(1.1);

/** A known, skewed distribution: log-uniform from about 1 ms to about 4 s, rounded to multiples of 2^-10 s. */
function valuesOf(task: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < PER_TASK; i++) {
    const u = ((i * 7919 + task * 104729) % PER_TASK) / PER_TASK;
    out.push(Math.max(1, Math.round(1024 * 0.001 * 4000 ** u)) / 1024);
  }
  return out;
}

function quantile(sorted: readonly number[], q: number): number {
  // The value of rank ceil(q * n), the one Prometheus's bucket search lands in.
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number;
}

describe.skipIf(skipWithout(["prometheus"], "the native histogram end-to-end test with a real Prometheus"))("a real Prometheus scraping native histograms and exemplars", () => {
  let prometheus: Daemon;
  let hub: MetricsHub;
  let server: MetricsServer;
  let classic: Server;
  let pool: Piscina;

  beforeAll(async () => {
    const registry = new Registry();
    hub = new MetricsHub({ registry });
    server = await startHttpServer({ hub, port: 0 });
    // The classic view of the same hub: Prometheus 2.42 ingests a histogram with native buckets as native
    // only, so a second job reads the text format, whose histograms are the classic buckets.
    const handler = metricsHandler({ hub });
    classic = createServer((req, res) => {
      req.headers.accept = "text/plain;version=0.0.4";
      handler(req, res);
    });
    await new Promise<void>((resolve) => classic.listen(0, "127.0.0.1", resolve));
    pool = new Piscina({ filename: new URL("../fixtures/native-task.mjs", import.meta.url).href, workerData: hub.workerData, maxThreads: 2 });
    hub.attach(pool);
    const classicPort = (classic.address() as AddressInfo).port;
    prometheus = await startPrometheus(
      () => `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: native
    static_configs:
      - targets: ["127.0.0.1:${server.port}"]
  - job_name: classic
    static_configs:
      - targets: ["127.0.0.1:${classicPort}"]
`,
      ["--enable-feature=native-histograms,exemplar-storage"],
    );
  });

  afterAll(async () => {
    await prometheus?.stop();
    await pool?.destroy();
    await server?.close();
    await new Promise((resolve) => classic?.close(resolve));
    await hub?.close();
  });

  it("stores exact counts and sums, quantiles within the schema's error, classic buckets and the workers' exemplars", async () => {
    try {
      await check();
    } catch (error) {
      // Prometheus's own view helps when this fails on a loaded machine.
      const targets = await fetch(`${prometheus.url}/api/v1/targets`).then((r) => r.text(), String);
      throw new Error(`${(error as Error).message}\ntargets: ${targets}\nprometheus log: ${prometheus.log()}`, { cause: error });
    }
  }, 120_000);

  async function check(): Promise<void> {
    // Discovery hands the targets over a few seconds after start: wait until both are scraped.
    // Bounded at about 45 s: a loaded machine can delay the hand-over well past its usual 5 s.
    for (let i = 0; i < 225; i++) {
      const up = await query(prometheus, "up == 1");
      if (up.length === 2) break;
      await sleep(200);
    }
    const all: number[] = [];
    const traces = new Set<string>();
    const runs = [];
    for (let t = 0; t < TASKS; t++) {
      const values = valuesOf(t);
      all.push(...values);
      // Every 50th observation carries a trace id.
      const taskTraces = values.map((_, i) => (i % 50 === 0 ? `trace-${t}-${i}` : undefined));
      for (const id of taskTraces) if (id !== undefined) traces.add(id);
      runs.push(pool.run({ route: "/api", values, traces: taskTraces }));
    }
    await Promise.all(runs);
    const count = all.length;
    const sum = all.reduce((a, b) => a + b, 0);
    const sorted = [...all].sort((a, b) => a - b);

    // Wait for scrapes of both jobs that started after the last task finished.
    const finished = Date.now() / 1000;
    for (let i = 0; i < 120; i++) {
      const stamps = await query(prometheus, "timestamp(up)");
      if (stamps.length === 2 && stamps.every((s) => Number(s.value[1]) > finished + 0.1)) break;
      await sleep(250);
    }

    const native = 'e2e_native_seconds{job="native",route="/api"}';
    expect(await scalar(prometheus, `histogram_count(${native})`)).toBe(count);
    expect(await scalar(prometheus, `histogram_sum(${native})`)).toBe(sum);
    const maxError = growthFactor(SCHEMA) - 1;
    for (const q of [0.5, 0.9, 0.99]) {
      const estimate = (await scalar(prometheus, `histogram_quantile(${q}, ${native})`)) as number;
      const truth = quantile(sorted, q);
      expect(Math.abs(estimate - truth) / truth, `q=${q}: ${estimate} vs ${truth}`).toBeLessThanOrEqual(maxError);
    }
    expect(await scalar(prometheus, `histogram_fraction(0, 0.1, ${native})`)).toBeGreaterThan(0);

    // The classic buckets of the same histogram, through the text format.
    const classicSeries = 'e2e_native_seconds_bucket{job="classic",route="/api"';
    for (const le of BUCKETS) {
      expect(await scalar(prometheus, `${classicSeries},le="${le}"}`), `le=${le}`).toBe(all.filter((v) => v <= le).length);
    }
    expect(await scalar(prometheus, `${classicSeries},le="+Inf"}`)).toBe(count);
    expect(await scalar(prometheus, 'e2e_native_seconds_sum{job="classic",route="/api"}')).toBe(sum);
    expect(await scalar(prometheus, 'histogram_quantile(0.5, e2e_native_seconds_bucket{job="classic",route="/api"})')).toBeGreaterThan(0);

    // Exemplars: Prometheus keeps one per series per scrape; every one it returns is a trace the workers attached.
    const now = Date.now() / 1000;
    const exemplars = async (expr: string): Promise<string[]> => {
      const url = `${prometheus.url}/api/v1/query_exemplars?query=${encodeURIComponent(expr)}&start=${now - 600}&end=${now + 60}`;
      const body = (await (await fetch(url, { signal: AbortSignal.timeout(5000) })).json()) as {
        status: string;
        data: Array<{ exemplars: Array<{ labels: { trace_id?: string }; value: string }> }>;
      };
      expect(body.status).toBe("success");
      return body.data.flatMap((series) => series.exemplars.map((e) => e.labels.trace_id ?? ""));
    };
    const histogramTraces = await exemplars(native);
    const counterTraces = await exemplars('e2e_native_requests_total{job="native"}');
    expect(histogramTraces.length).toBeGreaterThan(0);
    expect(counterTraces.length).toBeGreaterThan(0);
    for (const id of [...histogramTraces, ...counterTraces]) expect(traces.has(id), id).toBe(true);
    expect(await scalar(prometheus, 'e2e_native_requests_total{job="native"}')).toBe(count);
    expect(hub.stats().recordsDropped).toEqual(expect.objectContaining({ ring_full: 0, malformed: 0 }));
  }
});
