/**
 * End to end: a real Prometheus (Debian's 2.42, and 3.5.3 when .ci/run fetched it) with exemplar storage
 * scrapes a hub whose worker thread records a hot counter with an exemplar per call (a burst of 2 × 10^5)
 * and one slow request on a histogram with its trace id. Prometheus's query_exemplars is the judge: the slow
 * request's trace id on the right bucket, and the counter's exemplar from the end of the burst. Over
 * OpenMetrics and over protobuf.
 */
import { Registry } from "prom-client";
import type { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsHub, startHttpServer, type MetricsServer } from "../../src/main/index.js";
import { PROMETHEUS_2, PROMETHEUS_3, query, skipWithoutPrometheus, queryExemplars, startExemplarPrometheus, type Daemon, type QueriedExemplar } from "../helpers/daemons.js";
import { sleep } from "../helpers/http.js";
import { nextMessage, startWorker } from "../helpers/workers.js";

const BURST = 200_000;
const hex = (i: number, width: number): string => i.toString(16).padStart(width, "0");



describe.each([
  [PROMETHEUS_2, "openmetrics"],
  [PROMETHEUS_2, "protobuf"],
  [PROMETHEUS_3, "openmetrics"],
  [PROMETHEUS_3, "protobuf"],
] as const)("exemplars in a real Prometheus %s, scraped as %s", (release, format) => {
  const skip = skipWithoutPrometheus(release, `the exemplar end-to-end test with Prometheus ${release.major}`);
  let prometheus: Daemon;
  let hub: MetricsHub;
  let server: MetricsServer;
  let worker: Worker;

  beforeAll(async () => {
    if (skip) return;
    hub = new MetricsHub({ registry: new Registry() });
    server = await startHttpServer({ hub, port: 0 });
    worker = startWorker("exemplar-steps.mjs", { workerData: hub.workerData });
    await nextMessage(worker);
    prometheus = await startExemplarPrometheus(release, format, server.port);
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await worker?.terminate();
    await server?.close();
    await hub?.close();
  });

  it.skipIf(skip)("has the slow request's trace id on its bucket, and the hot counter's exemplar from the end of its burst", async () => {
    for (let i = 0; i < 225 && (await query(prometheus, "up == 1")).length === 0; i++) await sleep(200);
    const started = Date.now();
    worker.postMessage({ op: "burst", n: BURST });
    await nextMessage(worker);
    const ended = Date.now();
    const exemplars = (expr: string) => queryExemplars(prometheus, expr, started / 1000 - 60);
    // Scrapes after the burst carry its end: wait for Prometheus to have stored one.
    // From the end of the burst: the worker writes a slot's exemplar at least once every 256 exemplars of
    // it, so the last one written is one of the last 256 calls.
    const fromEnd = (e: QueriedExemplar | undefined): boolean => {
      const i = Number.parseInt(String(e?.labels.span_id), 16);
      return i >= BURST - 256 && i < BURST && e?.labels.trace_id === `c${hex(i, 31)}`;
    };
    let counter: QueriedExemplar[] = [];
    let buckets: Array<{ seriesLabels: Record<string, string>; exemplars: QueriedExemplar[] }> = [];
    for (let i = 0; i < 100; i++) {
      counter = (await exemplars('ex_requests_total{job="app"}')).flatMap((s) => s.exemplars);
      buckets = await exemplars('ex_latency_seconds_bucket{job="app"}');
      if (counter.some(fromEnd) && buckets.length > 0) break;
      await sleep(200);
    }
    // The slow request (0.5 s) on le="1", the only bucket with an exemplar.
    const withSlow = buckets.filter((s) => s.exemplars.some((e) => e.labels.trace_id === "slow"));
    expect(withSlow.map((s) => Number(s.seriesLabels.le))).toEqual([1]);
    expect(buckets.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id))).toEqual(buckets.flatMap((s) => s.exemplars.map(() => "slow")));
    // The counter's newest stored exemplar is one of the burst's last 256 calls, recorded in its last second.
    const newest = counter.reduce<QueriedExemplar | undefined>((a, e) => (a === undefined || e.timestamp >= a.timestamp ? e : a), undefined);
    expect(Object.keys(newest?.labels ?? {}).sort()).toEqual(["span_id", "trace_id"]);
    expect(fromEnd(newest)).toBe(true);
    expect(newest?.timestamp ?? 0).toBeGreaterThanOrEqual((ended - 1000) / 1000);
    expect(hub.stats().recordsDropped).toEqual(expect.objectContaining({ ring_full: 0, malformed: 0 }));
  }, 120_000);
});
