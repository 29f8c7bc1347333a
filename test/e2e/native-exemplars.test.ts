/**
 * End to end with Prometheus 3.5: a native histogram's own exemplars (client_golang's
 * nativeHistogramMaxExemplars, in the protobuf Histogram's exemplar list) are all ingested, not only the
 * latest one per classic bucket.
 */
import type { Worker } from "node:worker_threads";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsHub, startHttpServer, type MetricsServer } from "../../src/main/index.js";
import { PROMETHEUS_3, scalar, skipWithoutPrometheus, startPrometheus, type Daemon } from "../helpers/daemons.js";
import { sleep } from "../helpers/http.js";
import { nextMessage, startWorker } from "../helpers/workers.js";

describe.skipIf(skipWithoutPrometheus(PROMETHEUS_3, "the native exemplar test with Prometheus 3"))("Prometheus 3 ingesting a native histogram's exemplars", () => {
  const registry = new Registry();
  let prometheus: Daemon;
  let hub: MetricsHub;
  let server: MetricsServer;
  let worker: Worker;

  beforeAll(async () => {
    hub = new MetricsHub({ registry });
    server = await startHttpServer({ hub, port: 0 });
    worker = startWorker("native-steps.mjs", {
      workerData: { ...hub.workerData, options: { nativeHistogramBucketFactor: 1.1, nativeHistogramMaxExemplars: 4, enableExemplars: true } },
    });
    await nextMessage(worker);
    prometheus = await startPrometheus(
      () => `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: app
    static_configs:
      - targets: ["127.0.0.1:${server.port}"]
`,
      ["--enable-feature=native-histograms,exemplar-storage"],
      PROMETHEUS_3.prometheus,
    );
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await worker?.terminate();
    await server?.close();
    await hub?.close();
  });

  it("stores every native exemplar the series keeps, each with its value", async () => {
    // One slow request among fast ones; each observation is read by the hub before the next (the hub reads
    // the latest exemplar per bucket at each drain; a native-only histogram has one bucket).
    const values = [0.5, 0.002, 3, 0.04, 1.2];
    for (const [i, value] of values.entries()) {
      const done = nextMessage(worker);
      worker.postMessage({ values: [value], trace: `req${i}` });
      await done;
      await registry.getMetricsAsJSON();
    }
    // At most 4 kept: the fifth replaced one (client_golang's policy; none has expired).
    const kept = new Map<string, number>();
    const json = (await registry.getMetricsAsJSON()) as unknown as Array<{ name: string; values: Array<{ metricName?: string; native?: { exemplars?: Array<{ labelSet: { trace_id: string }; value: number }> } }> }>;
    for (const e of json.find((f) => f.name === "fx_limits_seconds")?.values.find((v) => v.metricName === "fx_limits_seconds_count")?.native?.exemplars ?? []) kept.set(e.labelSet.trace_id, e.value);
    // 1.2 would sit closer to 0.5 than the closest kept pair (0.5 and 3): 0.5 (req0) goes.
    expect(Object.fromEntries(kept)).toEqual({ "req1-0": 0.002, "req3-0": 0.04, "req4-0": 1.2, "req2-0": 3 });

    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (await scalar(prometheus, "histogram_count(fx_limits_seconds)")) !== values.length) await sleep(250);
    expect(await scalar(prometheus, "histogram_count(fx_limits_seconds)"), prometheus.log()).toBe(values.length);
    let stored = new Map<string, number>();
    while (Date.now() < deadline) {
      const now = Date.now() / 1000;
      const url = `${prometheus.url}/api/v1/query_exemplars?query=${encodeURIComponent("fx_limits_seconds")}&start=${now - 600}&end=${now + 60}`;
      const body = (await (await fetch(url)).json()) as { data: Array<{ exemplars: Array<{ labels: { trace_id: string }; value: string }> }> };
      stored = new Map(body.data.flatMap((series) => series.exemplars.map((e) => [e.labels.trace_id, Number(e.value)] as const)));
      if (stored.size >= kept.size) break;
      await sleep(250);
    }
    expect(Object.fromEntries(stored), prometheus.log()).toEqual(Object.fromEntries(kept));
  }, 60_000);
});
