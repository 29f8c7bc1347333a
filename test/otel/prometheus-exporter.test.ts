/**
 * The producer in OpenTelemetry's Prometheus exporter (a MetricReader that serves /metrics), scraped by
 * the real Prometheus (Debian's 2.42): what Prometheus stores is exact against a real piscina pool.
 */
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { Piscina } from "piscina";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { HubMetricProducer } from "../../src/otel/index.js";
import { query, scalar, skipWithoutBinary, startPrometheus, type Daemon } from "../helpers/daemons.js";
import { freePort, sleep } from "../helpers/http.js";
import { fixture } from "../helpers/workers.js";
import { bucketCounts, otelJobs, sum, truthOf } from "./ground-truth.js";
import { skipOtel } from "./support.js";

const skip = skipOtel() || skipWithoutBinary("prometheus", "prometheus", "the OpenTelemetry Prometheus exporter test");

describe.skipIf(skip)("HubMetricProducer in OpenTelemetry's Prometheus exporter, scraped by Prometheus", () => {
  let prometheus: Daemon;
  let hub: MetricsHub;
  let pool: Piscina;
  let provider: MeterProvider;

  beforeAll(async () => {
    hub = new MetricsHub({ registry: new Registry() });
    pool = new Piscina({ filename: fixture("otel-task.mjs").href, workerData: hub.workerData });
    hub.attach(pool);
    const port = await freePort();
    const exporter = new PrometheusExporter({ host: "127.0.0.1", port, metricProducers: [new HubMetricProducer({ hub })] });
    provider = new MeterProvider({ readers: [exporter] });
    prometheus = await startPrometheus(
      () => `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: otel
    static_configs:
      - targets: ["127.0.0.1:${port}"]
`,
    );
  });

  afterAll(async () => {
    await prometheus?.stop();
    await provider?.shutdown();
    await pool?.destroy();
    await hub?.close();
  });

  it("stores exact counters, gauges, histogram buckets and summary counts and sums", async () => {
    const jobs = otelJobs(40);
    const truth = truthOf(jobs);
    await Promise.all(jobs.map((job) => pool.run(job)));
    const expectedEven = truth.incs.get("even")!;
    // Wait (bounded, about 45 s on a loaded machine) until a scrape after the work is stored.
    for (let i = 0; i < 225; i++) {
      if ((await scalar(prometheus, 'otel_jobs_total{kind="even"}')) === expectedEven) break;
      await sleep(200);
    }
    try {
      for (const [kind, incs] of truth.incs) {
        expect(await scalar(prometheus, `otel_jobs_total{kind="${kind}"}`), kind).toBe(incs);
      }
      // The exporter adds the instrumentation scope as labels.
      const [series] = await query(prometheus, 'otel_jobs_total{kind="odd"}');
      expect(series?.metric).toMatchObject({ otel_scope_name: "prom-threads", job: "otel" });
      expect(await scalar(prometheus, 'otel_pool_size{pool="main"}')).toBe(42);
      for (const [kind, values] of truth.values) {
        const counts = bucketCounts(values, [0.25, 1, 4]);
        const cumulative = counts.map((_, i) => counts.slice(0, i + 1).reduce((a, b) => a + b, 0));
        const stored = await Promise.all(["0.25", "1", "4", "+Inf"].map((le) => scalar(prometheus, `otel_seconds_bucket{kind="${kind}",le="${le}"}`)));
        expect(stored, kind).toEqual(cumulative);
        expect(await scalar(prometheus, `otel_seconds_count{kind="${kind}"}`)).toBe(values.length);
        expect(await scalar(prometheus, `otel_seconds_sum{kind="${kind}"}`)).toBe(sum(values));
        expect(await scalar(prometheus, `otel_sizes_count{kind="${kind}"}`)).toBe(values.length);
        expect(await scalar(prometheus, `otel_sizes_sum{kind="${kind}"}`)).toBe(sum(values));
      }
      // OpenTelemetry's Prometheus exporter writes no exponential histograms: the native one is not there.
      expect(await query(prometheus, '{__name__=~"otel_native_seconds.*"}')).toEqual([]);
    } catch (error) {
      const targets = await fetch(`${prometheus.url}/api/v1/targets`).then((r) => r.text(), String);
      throw new Error(`${(error as Error).message}\ntargets: ${targets}\nprometheus log: ${prometheus.log()}`, { cause: error });
    }
  }, 120_000);
});
