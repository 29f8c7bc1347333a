/**
 * HubMetricProducer with the real `@opentelemetry/sdk-metrics` (3.x): a periodic reader with an
 * in-memory exporter reads what a real piscina pool recorded, exact against totals recounted from the
 * jobs, before and after the workers exit.
 */
import { readFileSync } from "node:fs";
import { Registry } from "prom-client";
import { DataPointType, type DataPoint, type ExponentialHistogram, type Histogram, type MetricData } from "@opentelemetry/sdk-metrics";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { HubMetricProducer } from "../../src/otel/index.js";
import { bucketCounts, exponentialBuckets, otelJobs, sparse, sum, truthOf } from "./ground-truth.js";
import { hubWithPool, memoryReader, metricNamed, skipOtel } from "./support.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

function points<T>(metric: MetricData | undefined, type: DataPointType): DataPoint<T>[] {
  expect(metric?.dataPointType).toBe(type);
  return (metric as unknown as { dataPoints: DataPoint<T>[] }).dataPoints;
}

function byKind<T>(dataPoints: DataPoint<T>[]): Map<string, DataPoint<T>> {
  return new Map(dataPoints.map((p) => [String(p.attributes.kind), p]));
}

function hrMs(time: readonly [number, number]): number {
  return time[0] * 1000 + time[1] / 1e6;
}

describe.skipIf(skipOtel())("HubMetricProducer with @opentelemetry/sdk-metrics", () => {
  it("gives a piscina pool's counters, gauges, classic and native histograms and summaries exactly, also after the workers exit", async () => {
    const { registry, hub, pool } = hubWithPool(cleanup);
    const reader = memoryReader([new HubMetricProducer({ hub })]);
    cleanup.push(() => reader.shutdown());

    const jobs = otelJobs(60);
    const truth = truthOf(jobs);
    await Promise.all(jobs.map((job) => pool.run(job)));
    // Read right after the work resolves: no flush, no wait.
    const first = await reader.read();

    const scope = first.scopeMetrics.find((s) => s.scope.name === "prom-threads");
    expect(scope?.scope.version).toBe(version);
    // Worker metrics only: the pool's and the hub's own metrics live in the main thread.
    expect(scope?.metrics.map((m) => m.descriptor.name).sort()).toEqual(["otel_jobs_total", "otel_native_seconds", "otel_pool_size", "otel_seconds", "otel_sizes"]);

    const check = (result: typeof first, gaugeExpected: boolean): void => {
      const counter = metricNamed(result, "otel_jobs_total");
      expect(counter).toMatchObject({ dataPointType: DataPointType.SUM, isMonotonic: true, aggregationTemporality: 1, descriptor: { description: "Jobs." } });
      const counts = byKind(points<number>(counter, DataPointType.SUM));
      for (const [kind, incs] of truth.incs) expect(counts.get(kind)?.value, kind).toBe(incs);
      expect(counts.size).toBe(2);

      const gauge = metricNamed(result, "otel_pool_size");
      if (gaugeExpected) {
        const [point, ...rest] = points<number>(gauge, DataPointType.GAUGE);
        expect(rest).toEqual([]);
        expect(point?.attributes).toEqual({ pool: "main" });
        expect(point?.value).toBe(42);
      } else {
        // A gauge holds live workers' values: with every worker gone, it has no series.
        expect(gauge === undefined || (gauge as { dataPoints: unknown[] }).dataPoints.length === 0).toBe(true);
      }

      const histogram = byKind(points<Histogram>(metricNamed(result, "otel_seconds"), DataPointType.HISTOGRAM));
      for (const [kind, values] of truth.values) {
        const value = histogram.get(kind)?.value;
        expect(value?.buckets).toEqual({ boundaries: [0.25, 1, 4], counts: bucketCounts(values, [0.25, 1, 4]) });
        expect(value?.count).toBe(values.length);
        expect(value?.sum).toBe(sum(values));
        expect(value?.min).toBeUndefined();
      }

      const [native, ...others] = points<ExponentialHistogram>(metricNamed(result, "otel_native_seconds"), DataPointType.EXPONENTIAL_HISTOGRAM);
      expect(others).toEqual([]);
      expect(native?.attributes).toEqual({});
      const v = native!.value;
      expect(v.scale).toBe(3); // nativeHistogramBucketFactor 1.1 is schema 3
      const expected = exponentialBuckets(truth.all, 3);
      expect(v.count).toBe(truth.all.length);
      expect(v.sum).toBe(sum(truth.all));
      expect(v.zeroCount).toBe(expected.zeroCount);
      expect(sparse(v.positive)).toEqual(expected.positive);
      expect(sparse(v.negative)).toEqual(expected.negative);
      expect(expected.zeroCount).toBeGreaterThan(0);
      expect(expected.negative.size).toBeGreaterThan(0);
      // OpenTelemetry's data points have no exemplar field: none is invented.
      expect(Object.keys(native!)).not.toContain("exemplars");

      const summaries = byKind(points<Histogram>(metricNamed(result, "otel_sizes"), DataPointType.HISTOGRAM));
      for (const [kind, values] of truth.values) {
        expect(summaries.get(kind)?.value).toEqual({ buckets: { boundaries: [], counts: [values.length] }, sum: sum(values), count: values.length });
      }
    };
    check(first, true);

    // The exemplars were recorded (the hub has them); the producer leaves them out.
    const json = (await registry.getMetricsAsJSON()) as unknown as Array<{ name: string; values: Array<{ exemplar?: unknown }> }>;
    expect(json.find((m) => m.name === "otel_jobs_total")?.values.some((value) => value.exemplar != null)).toBe(true);

    await pool.destroy();
    // destroy() waits for the exit of the workers still in the pool, not of one it retired as idle just
    // before (piscina's default idleTimeout): that one may exit a moment later. Read once every worker has.
    for (const until = Date.now() + 5_000; hub.stats().workersConnected > 0 && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(hub.stats().workersConnected).toBe(0);
    const second = await reader.read();
    check(second, false);
    // Start times stay while the series go on.
    const startOf = (result: typeof first): number => hrMs(byKind(points<number>(metricNamed(result, "otel_jobs_total"), DataPointType.SUM)).get("even")!.startTime);
    expect(startOf(second)).toBe(startOf(first));
    expect(startOf(first)).toBeLessThanOrEqual(hrMs(byKind(points<number>(metricNamed(first, "otel_jobs_total"), DataPointType.SUM)).get("even")!.endTime));
  });
});

describe.skipIf(skipOtel())("HubMetricProducer start times", () => {
  it("starts a series when the hub first saw it, and every series of a reset metric at the reset", async () => {
    const { registry, hub, pool } = hubWithPool(cleanup);
    const reader = memoryReader([new HubMetricProducer({ hub })]);
    cleanup.push(() => reader.shutdown());
    const counterPoints = (result: Awaited<ReturnType<typeof reader.read>>) => byKind(points<number>(metricNamed(result, "otel_jobs_total"), DataPointType.SUM));
    // The clock created times are read from (Date.now()): the monotonic clock behind performance.now()
    // can drift from it by more than the millisecond these bounds allow.
    const now = (): number => Date.now();

    const beforeEven = now();
    await pool.run({ kind: "even", incs: 5, values: [0.5], poolSize: 1 });
    const first = counterPoints(await reader.read());
    // The hub saw the series after the job began and before the collect read it.
    // Created times are whole milliseconds (Date.now()).
    expect(hrMs(first.get("even")!.startTime)).toBeGreaterThanOrEqual(Math.floor(beforeEven));
    expect(hrMs(first.get("even")!.startTime)).toBeLessThanOrEqual(hrMs(first.get("even")!.endTime));

    await pool.run({ kind: "odd", incs: 3, values: [0.5], poolSize: 1 });
    const second = counterPoints(await reader.read());
    expect(hrMs(second.get("even")!.startTime)).toBe(hrMs(first.get("even")!.startTime));
    // "odd" was not there at the first collect: the hub first saw it after that collect (in whole
    // milliseconds: created times are Date.now() readings, the end is below the millisecond).
    expect(hrMs(second.get("odd")!.startTime)).toBeGreaterThanOrEqual(Math.floor(hrMs(first.get("even")!.endTime)));
    expect(hrMs(second.get("odd")!.startTime)).toBeLessThanOrEqual(hrMs(second.get("odd")!.endTime));
    expect(second.get("odd")!.value).toBe(3);

    const beforeReset = now();
    registry.resetMetrics();
    const afterReset = now();
    await pool.run({ kind: "even", incs: 2, values: [0.5], poolSize: 1 });
    const third = counterPoints(await reader.read());
    expect(third.get("even")!.value).toBe(2);
    const start = hrMs(third.get("even")!.startTime);
    expect(start).toBeGreaterThanOrEqual(Math.floor(beforeReset));
    expect(start).toBeLessThanOrEqual(afterReset + 0.001);
    // "odd" was reset and not recorded since: not exported, as in the hub's registry.
    expect(third.has("odd")).toBe(false);

    // A worker's reset(): the start moves to when the hub applied it, after the previous collect.
    await pool.run({ kind: "even", incs: 4, values: [], poolSize: 1, reset: true });
    const fourth = counterPoints(await reader.read());
    expect(fourth.get("even")!.value).toBe(4);
    expect(hrMs(fourth.get("even")!.startTime)).toBeGreaterThanOrEqual(Math.floor(hrMs(third.get("even")!.endTime)));
    expect(hrMs(fourth.get("even")!.startTime)).toBeLessThanOrEqual(hrMs(fourth.get("even")!.endTime));
  });

  it("never starts a series after its end, even after the wall clock was set forward", async () => {
    const { hub, pool } = hubWithPool(cleanup);
    const reader = memoryReader([new HubMetricProducer({ hub })]);
    cleanup.push(() => reader.shutdown());
    await pool.run({ kind: "even", incs: 1, values: [0.5], poolSize: 1 });
    await reader.read();
    // Set forward by an hour: created times (Date.now()) jump, the producer's clock does not.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 3_600_000 });
    cleanup.push(async () => vi.useRealTimers());
    await pool.run({ kind: "odd", incs: 2, values: [0.5], poolSize: 1 });
    const counts = byKind(points<number>(metricNamed(await reader.read(), "otel_jobs_total"), DataPointType.SUM));
    expect(counts.get("odd")?.value).toBe(2);
    for (const [kind, point] of counts) expect(hrMs(point.startTime), kind).toBeLessThanOrEqual(hrMs(point.endTime));
  });

  it("gives no metrics and COLLECT_FAILED in errors for a collect that ran past timeoutMillis, drain included", async () => {
    const { hub, pool } = hubWithPool(cleanup);
    await pool.run({ kind: "even", incs: 3, values: [0.5], poolSize: 1 });
    const producer = new HubMetricProducer({ hub });
    // The drain and the read take more than no time at all; the hub's drain runs before any timer could.
    const late = await producer.collect({ timeoutMillis: 0 });
    expect(late.resourceMetrics.scopeMetrics).toEqual([]);
    expect(late.errors).toHaveLength(1);
    expect(late.errors[0]).toMatchObject({ code: "ERR_PROM_THREADS_COLLECT_FAILED", message: "prom-threads: collecting the hub's metrics took more than 0 ms" });
    // In time, the same producer gives the metrics.
    const inTime = await producer.collect({ timeoutMillis: 60_000 });
    expect(inTime.errors).toEqual([]);
    const counts = byKind(points<number>(metricNamed(inTime.resourceMetrics, "otel_jobs_total"), DataPointType.SUM));
    expect(counts.get("even")?.value).toBe(3);
  });

  it("reports a closed hub in errors instead of rejecting", async () => {
    const hub = new MetricsHub({ registry: new Registry() });
    const producer = new HubMetricProducer({ hub });
    await hub.close();
    const result = await producer.collect();
    expect(result.resourceMetrics.scopeMetrics).toEqual([]);
    expect(result.errors).toHaveLength(1);
    expect((result.errors[0] as { code?: string }).code).toBe("ERR_PROM_THREADS_HUB_CLOSED");
  });

  it("refuses a missing hub with ERR_PROM_THREADS_INVALID_OPTION", () => {
    expect(() => new HubMetricProducer({} as never)).toThrow(expect.objectContaining({ code: "ERR_PROM_THREADS_INVALID_OPTION", message: "options.hub must be a MetricsHub" }));
  });
});
