/**
 * End to end with Prometheus 3.5 (Debian sid's build, fetched by .ci/run) beside Prometheus 2.42 (Debian
 * bookworm's): UTF-8 names stored as declared by 3 and escaped for 2, escaped responses that both releases'
 * promtool accept, and created timestamps that Prometheus 3 turns into a stored zero at the series' start.
 * Each Prometheus judges through its own query API.
 */
import { Piscina } from "piscina";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsHub, startHttpServer, type MetricsServer } from "../../src/main/index.js";
import { PROMETHEUS_2, PROMETHEUS_3, query, scalar, skipWithoutPrometheus, startPrometheus, type Daemon, type PrometheusRelease } from "../helpers/daemons.js";
import { promtoolCheck } from "../helpers/exposition-checkers.js";
import { sleep } from "../helpers/http.js";

const TASK = new URL("../fixtures/utf8-names-task.mjs", import.meta.url).href;
// 7 observations cycling through 0.125, 0.5, 2, 8 (as in the fixture).
const COUNT = 7;
const SUM = 0.125 + 0.5 + 2 + 8 + 0.125 + 0.5 + 2;

function scrapeConfig(port: number): string {
  return `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: app
    static_configs:
      - targets: ["127.0.0.1:${port}"]
`;
}

/** Poll `expr` until it yields `expected` (or 20 s pass); returns the last value seen. */
async function waitFor(prometheus: Daemon, expr: string, expected: number): Promise<number | undefined> {
  let value: number | undefined;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    value = await scalar(prometheus, expr);
    if (value === expected) return value;
    await sleep(250);
  }
  return value;
}

interface App {
  hub: MetricsHub;
  server: MetricsServer;
  pool: Piscina;
  close(): Promise<void>;
}

async function startApp(): Promise<App> {
  const hub = new MetricsHub({ registry: new Registry() });
  const server = await startHttpServer({ hub, port: 0 });
  const pool = new Piscina({ filename: TASK, workerData: hub.workerData, minThreads: 0, maxThreads: 2 });
  hub.attach(pool);
  return {
    hub,
    server,
    pool,
    close: async () => {
      await pool.destroy();
      await server.close();
      await hub.close();
    },
  };
}

const RELEASES: Array<[PrometheusRelease, string, string]> = [
  // Prometheus 3 asks with escaping=allow-utf-8 and stores the names as declared.
  [PROMETHEUS_3, `{"http.server.request.duration_count","http.route"="/a"}`, `{"http.server.request.duration_sum","http.route"="/a"}`],
  // Prometheus 2 names no escaping: it gets (and stores) the names escaped with underscores.
  [PROMETHEUS_2, `http_server_request_duration_count{http_route="/a"}`, `http_server_request_duration_sum{http_route="/a"}`],
];

describe.each(RELEASES)("UTF-8 names scraped by Prometheus %#", (release, countExpr, sumExpr) => {
  const skip = skipWithoutPrometheus(release, `the UTF-8 name tests with Prometheus ${release.major}`);
  let app: App;
  let prometheus: Daemon;

  beforeAll(async () => {
    if (skip) return;
    app = await startApp();
    await app.pool.run({ route: "/a", count: COUNT });
    prometheus = await startPrometheus(() => scrapeConfig(app.server.port), [], release.prometheus);
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await app?.close();
  });

  it.skipIf(skip)(`Prometheus ${release.major} stores the histogram's count and sum under its names, exact`, async () => {
    expect(await waitFor(prometheus, countExpr, COUNT), prometheus.log()).toBe(COUNT);
    expect(await scalar(prometheus, sumExpr)).toBe(SUM);
    expect(await scalar(prometheus, `up{job="app"}`)).toBe(1);
  }, 30_000);

  it.skipIf(skip)(`promtool ${release.major} accepts every response with escaped names`, async () => {
    const accepts = [
      undefined,
      "text/plain;version=0.0.4",
      "text/plain;version=1.0.0;escaping=underscores",
      "text/plain;version=1.0.0;escaping=dots",
      "text/plain;version=1.0.0;escaping=values",
      "text/plain;version=0.0.4;escaping=underscores",
    ];
    for (const accept of accepts) {
      const response = await fetch(app.server.url, { headers: accept === undefined ? {} : { Accept: accept } });
      const body = await response.text();
      expect(body, `Accept: ${accept}`).toMatch(/duration_count/);
      expect((await promtoolCheck(body, release.promtool)).error, `Accept: ${accept}\n${body}`).toBeUndefined();
    }
  }, 30_000);
});

describe.skipIf(skipWithoutPrometheus(PROMETHEUS_3, "the text 1.0.0 and protobuf tests with Prometheus 3"))(
  "Prometheus 3 scraping UTF-8 names through each protocol it offers",
  () => {
    let app: App;
    let prometheus: Daemon;

    beforeAll(async () => {
      app = await startApp();
      await app.pool.run({ route: "/a", count: COUNT });
      const job = (name: string, protocol: string): string => `  - job_name: ${name}
    scrape_protocols: [${protocol}]
    static_configs:
      - targets: ["127.0.0.1:${app.server.port}"]
`;
      prometheus = await startPrometheus(
        () => `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
${job("text1", "PrometheusText1.0.0")}${job("text0", "PrometheusText0.0.4")}${job("om", "OpenMetricsText1.0.0")}${job("proto", "PrometheusProto")}`,
        [],
        PROMETHEUS_3.prometheus,
      );
    }, 60_000);

    afterAll(async () => {
      await prometheus?.stop();
      await app?.close();
    });

    it("stores the declared names from text 1.0.0 and OpenMetrics (allow-utf-8), escaped ones from text 0.0.4 and protobuf", async () => {
      for (const job of ["text1", "om"]) {
        expect(await waitFor(prometheus, `{"http.server.request.duration_count","http.route"="/a",job="${job}"}`, COUNT), `${job}\n${prometheus.log()}`).toBe(COUNT);
        expect(await scalar(prometheus, `{"http.server.request.duration_sum","http.route"="/a",job="${job}"}`), job).toBe(SUM);
      }
      for (const job of ["text0", "proto"]) {
        expect(await waitFor(prometheus, `http_server_request_duration_count{http_route="/a",job="${job}"}`, COUNT), job).toBe(COUNT);
        expect(await scalar(prometheus, `http_server_request_duration_sum{http_route="/a",job="${job}"}`), job).toBe(SUM);
      }
      expect((await query(prometheus, "up == 1")).length).toBe(4);
    }, 40_000);
  },
);

describe.skipIf(skipWithoutPrometheus(PROMETHEUS_3, "the created-timestamp test with Prometheus 3"))(
  "Prometheus 3 with created-timestamp-zero-ingestion",
  () => {
    let app: App;
    let prometheus: Daemon;
    let before = 0;
    let after = 0;

    beforeAll(async () => {
      app = await startApp();
      before = Date.now();
      await app.pool.run({ kind: "x", count: 5 });
      // The hub may first see the series at its next drain: after the task resolved, within one interval.
      app.hub.drainSync();
      after = Date.now();
      // The counter was created seconds before Prometheus first scrapes it.
      await sleep(3000);
      prometheus = await startPrometheus(() => scrapeConfig(app.server.port), ["--enable-feature=created-timestamp-zero-ingestion"], PROMETHEUS_3.prometheus);
    }, 60_000);

    afterAll(async () => {
      await prometheus?.stop();
      await app?.close();
    });

    it("stores a zero at the counter's created time, and increase() over the first minute equals what the worker recorded", async () => {
      expect(await waitFor(prometheus, `otel_jobs_total{kind="x"}`, 5), prometheus.log()).toBe(5);
      const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent('otel_jobs_total{kind="x"}[1m]')}`);
      const body = (await response.json()) as { data: { result: Array<{ values: Array<[number, string]> }> } };
      const samples = body.data.result[0]?.values ?? [];
      expect(samples.length).toBeGreaterThanOrEqual(2);
      const [zeroAt, zero] = samples[0]!;
      const [firstScrapeAt, first] = samples[1]!;
      expect(zero).toBe("0");
      expect(first).toBe("5");
      // The zero sits at the created time (between the task's start and its drain), seconds before the first scrape.
      expect(zeroAt * 1000).toBeGreaterThanOrEqual(before - 1);
      expect(zeroAt * 1000).toBeLessThanOrEqual(after + 1);
      expect(firstScrapeAt * 1000).toBeGreaterThan(after + 2000);
      // Evaluated at the last stored sample, so no extrapolation past the data.
      const last = samples.at(-1)![0];
      expect(await scalar(prometheus, `increase(otel_jobs_total{kind="x"}[1m] @ ${last})`)).toBe(5);
    }, 30_000);
  },
);

describe.skipIf(skipWithoutPrometheus(PROMETHEUS_3, "the native histogram test with Prometheus 3"))(
  "Prometheus 3 scraping native histograms, exemplars and classic buckets beside them",
  () => {
    const BUCKETS = [0.01, 0.1, 1];
    let prometheus: Daemon;
    let hub: MetricsHub;
    let server: MetricsServer;
    let pool: Piscina;

    beforeAll(async () => {
      hub = new MetricsHub({ registry: new Registry() });
      server = await startHttpServer({ hub, port: 0 });
      pool = new Piscina({ filename: new URL("../fixtures/native-task.mjs", import.meta.url).href, workerData: hub.workerData, maxThreads: 2 });
      hub.attach(pool);
      // Prometheus 3.5: native histograms behind the feature flag (up to 3.8; from 3.9 the scrape option
      // scrape_native_histograms), classic buckets kept beside them by always_scrape_classic_histograms.
      prometheus = await startPrometheus(
        () => `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: app
    always_scrape_classic_histograms: true
    static_configs:
      - targets: ["127.0.0.1:${server.port}"]
`,
        ["--enable-feature=native-histograms,exemplar-storage"],
        PROMETHEUS_3.prometheus,
      );
    }, 60_000);

    afterAll(async () => {
      await prometheus?.stop();
      await pool?.destroy();
      await server?.close();
      await hub?.close();
    });

    it("stores the native histogram, its classic buckets and the workers' exemplars, exact", async () => {
      const all: number[] = [];
      const traces = new Set<string>();
      const runs = [];
      for (let t = 0; t < 4; t++) {
        // Multiples of 2^-10 s from about 1 ms to about 4 s: every sum is exact in any order.
        const values = Array.from({ length: 500 }, (_, i) => Math.max(1, Math.round(1024 * 0.001 * 4000 ** (((i * 7919 + t * 104729) % 500) / 500))) / 1024);
        const taskTraces = values.map((_, i) => (i % 50 === 0 ? `trace-${t}-${i}` : undefined));
        for (const id of taskTraces) if (id !== undefined) traces.add(id);
        all.push(...values);
        runs.push(pool.run({ route: "/api", values, traces: taskTraces }));
      }
      await Promise.all(runs);
      const sum = all.reduce((a, b) => a + b, 0);
      const native = 'e2e_native_seconds{route="/api"}';
      expect(await waitFor(prometheus, `histogram_count(${native})`, all.length), prometheus.log()).toBe(all.length);
      expect(await scalar(prometheus, `histogram_sum(${native})`)).toBe(sum);
      // The classic buckets of the same scrape, stored beside the native histogram (Prometheus 3 writes
      // `le` in its canonical float form: "1.0").
      for (const le of BUCKETS) {
        expect(await waitFor(prometheus, `e2e_native_seconds_bucket{route="/api",le="${Number.isInteger(le) ? le.toFixed(1) : le}"}`, all.filter((v) => v <= le).length), `le=${le}`).toBe(all.filter((v) => v <= le).length);
      }
      expect(await scalar(prometheus, 'e2e_native_seconds_bucket{route="/api",le="+Inf"}')).toBe(all.length);
      expect(await scalar(prometheus, 'e2e_native_seconds_count{route="/api"}')).toBe(all.length);
      expect(await scalar(prometheus, 'e2e_native_seconds_sum{route="/api"}')).toBe(sum);
      expect((await query(prometheus, "up == 1")).length).toBe(1);
      const now = Date.now() / 1000;
      const url = `${prometheus.url}/api/v1/query_exemplars?query=${encodeURIComponent(native)}&start=${now - 600}&end=${now + 60}`;
      const body = (await (await fetch(url)).json()) as { data: Array<{ exemplars: Array<{ labels: { trace_id?: string } }> }> };
      const seen = body.data.flatMap((series) => series.exemplars.map((e) => e.labels.trace_id ?? ""));
      expect(seen.length).toBeGreaterThan(0);
      for (const id of seen) expect(traces.has(id), id).toBe(true);
    }, 60_000);
  },
);
