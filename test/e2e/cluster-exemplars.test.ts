/**
 * End to end through the cluster aggregator: three real node:cluster worker processes, each a MetricsHub
 * with a worker thread whose hot counter records 10^5 exemplars in about a second (20 chunks 50 ms apart);
 * one of them also records one slow request with its trace id on a classic and on a native histogram. A
 * real Prometheus (Debian's 2.42, and 3.5.3 when .ci/run fetched it) with exemplar storage scrapes the
 * primary's ClusterAggregator, over OpenMetrics and over protobuf (native histograms on in protobuf
 * mode). Prometheus's query API is the judge: the slow request's trace id on the right bucket (and on the
 * native histogram with 3.5.3), and the counter's exemplar from the last second of a burst.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterAggregator, startHttpServer, type MetricsServer } from "../../src/main/index.js";
import { command, fork, killAll, type Proc } from "../helpers/cluster.js";
import { PROMETHEUS_2, PROMETHEUS_3, query, scalar, skipWithoutPrometheus, queryExemplars, startExemplarPrometheus, type Daemon, type QueriedExemplar } from "../helpers/daemons.js";
import { sleep } from "../helpers/http.js";

const BURST = 100_000;
const PROCESSES = 3;
const hex = (i: number, width: number): string => i.toString(16).padStart(width, "0");
/** The trace id of call `i` of process `p`'s burst. */
const traceOf = (p: number, i: number): string => `p${p}c${hex(i, 29)}`;



describe.each([
  [PROMETHEUS_2, "openmetrics"],
  [PROMETHEUS_2, "protobuf"],
  [PROMETHEUS_3, "openmetrics"],
  [PROMETHEUS_3, "protobuf"],
] as const)("exemplars through the cluster aggregator in a real Prometheus %s, scraped as %s", (release, format) => {
  const skip = skipWithoutPrometheus(release, `the cluster exemplar end-to-end test with Prometheus ${release.major}`);
  let prometheus: Daemon;
  let aggregator: ClusterAggregator;
  let server: MetricsServer;
  let procs: Proc[] = [];

  beforeAll(async () => {
    if (skip) return;
    aggregator = new ClusterAggregator();
    server = await startHttpServer({ registry: aggregator.registry, port: 0 });
    procs = await Promise.all(Array.from({ length: PROCESSES }, () => fork({}, "cluster-traced-process.mjs")));
    prometheus = await startExemplarPrometheus(release, format, server.port, true);
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await killAll();
    await server?.close();
    await aggregator?.close();
  });

  it.skipIf(skip)("has the slow request's trace id on its bucket, and a counter exemplar from the last second of a burst", async () => {
    for (let i = 0; i < 225 && (await query(prometheus, "up == 1")).length === 0; i++) await sleep(200);
    const started = Date.now();
    // No push asked for: the publishers push on their interval and when a scrape collects.
    await Promise.all(procs.map((proc, p) => command(proc, { test: "burst", n: BURST, chunks: 20, prefix: `p${p}c`, slow: p === 1 }, 60_000)));
    const ended = Date.now();
    expect(ended - started).toBeGreaterThan(900);
    const exemplars = (expr: string) => queryExemplars(prometheus, expr, started / 1000 - 60);
    // From the end of a burst: a worker writes a slot's exemplar at least once every 256 exemplars of it,
    // so the last one written is one of the last 256 calls.
    const fromEnd = (e: QueriedExemplar | undefined): boolean => {
      const i = Number.parseInt(String(e?.labels.span_id), 16);
      return i >= BURST - 256 && i < BURST && Array.from({ length: PROCESSES }, (_, p) => traceOf(p, i)).includes(e?.labels.trace_id as string);
    };
    const native = release.major === "3" && format === "protobuf";
    let counter: QueriedExemplar[] = [];
    let buckets: Array<{ seriesLabels: Record<string, string>; exemplars: QueriedExemplar[] }> = [];
    let nativeExemplars: QueriedExemplar[] = [];
    for (let i = 0; i < 100; i++) {
      counter = (await exemplars('ct_requests_total{job="app"}')).flatMap((s) => s.exemplars);
      buckets = await exemplars('ct_latency_seconds_bucket{job="app"}');
      if (native) nativeExemplars = (await exemplars('ct_latency_native_seconds{job="app"}')).flatMap((s) => s.exemplars);
      const total = await scalar(prometheus, 'sum(ct_requests_total{job="app"})');
      // A process's histogram may reach a scrape one push after its counter: wait for every observation too.
      const observed = format === "protobuf" ? await scalar(prometheus, 'histogram_count(ct_latency_native_seconds{job="app"})') : PROCESSES * 1000 + 1;
      if (total === PROCESSES * BURST && observed === PROCESSES * 1000 + 1 && counter.some(fromEnd) && buckets.length > 0 && (!native || nativeExemplars.length > 0)) break;
      await sleep(200);
    }
    expect(await scalar(prometheus, 'sum(ct_requests_total{job="app"})')).toBe(PROCESSES * BURST);
    // The slow request (0.5 s) on le="1", the only bucket with an exemplar.
    const withSlow = buckets.filter((s) => s.exemplars.some((e) => e.labels.trace_id === "slow"));
    expect(withSlow.map((s) => Number(s.seriesLabels.le))).toEqual([1]);
    expect(buckets.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id))).toEqual(buckets.flatMap((s) => s.exemplars.map(() => "slow")));
    // The counter's newest stored exemplar is from the end of a burst (the one that ended last), in its last second.
    const newest = counter.reduce<QueriedExemplar | undefined>((a, e) => (a === undefined || e.timestamp >= a.timestamp ? e : a), undefined);
    expect(newest?.labels).toEqual(expect.objectContaining({ span_id: expect.stringMatching(/^[0-9a-f]{16}$/) }));
    expect(fromEnd(newest)).toBe(true);
    expect(newest?.timestamp ?? 0).toBeGreaterThanOrEqual((ended - 1000) / 1000);
    if (format === "protobuf") {
      // Ingested as a native histogram: every process's observations, merged.
      expect(await scalar(prometheus, 'histogram_count(ct_latency_native_seconds{job="app"})')).toBe(PROCESSES * 1000 + 1);
    }
    if (native) {
      expect(nativeExemplars.map((e) => [e.labels.trace_id, Number(e.value)])).toEqual([["slow", 0.5]]);
    }
    expect(aggregator.stats()).toEqual(expect.objectContaining({ malformedMessages: 0, rejectedFamilies: 0, rejectedSeries: 0 }));
  }, 120_000);
});
