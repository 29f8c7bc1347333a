/**
 * OpenTelemetry's metrics API in worker threads (`metrics.getMeter()` after
 * `metrics.setGlobalMeterProvider(meterProvider)`): exact through the hub's metrics server and through
 * HubMetricProducer.
 */
import { DataPointType, type DataPoint, type Histogram, type MetricData } from "@opentelemetry/sdk-metrics";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub, startHttpServer } from "../../src/main/index.js";
import { HubMetricProducer } from "../../src/otel/index.js";
import { samples } from "../helpers/exposition.js";
import { nextMessage, startWorker } from "../helpers/workers.js";
import { bucketCounts, sum } from "./ground-truth.js";
import { memoryReader, metricNamed, skipOtel } from "./support.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Job {
  requests: number;
  durations: number[];
  sizes: number[];
  inFlight: number;
  temperature: number;
}

const jobs: Job[] = [
  { requests: 30_000, durations: [0.0625, 0.25, 0.75, 2], sizes: [3, 700, 9000, 20000], inFlight: 5, temperature: 61.5 },
  { requests: 7, durations: [0.5, 1], sizes: [0, 5], inFlight: 2, temperature: 70.25 },
  { requests: 100_001, durations: [0.125], sizes: [10000], inFlight: 1, temperature: 55 },
];
const OTEL_DEFAULT = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

/** Ground truth recounted from the jobs, as the fixture records them. */
function truth() {
  const requests = new Map<string, number>([["GET", 0], ["POST", 0]]);
  const durations = new Map<string, number[]>([["GET", []], ["POST", []]]);
  for (const job of jobs) {
    for (let i = 0; i < job.requests; i++) {
      const method = i % 3 === 0 ? "POST" : "GET";
      requests.set(method, requests.get(method)! + 1);
      durations.get(method)!.push(job.durations[i % job.durations.length]!);
    }
  }
  return { requests, durations, sizes: jobs.flatMap((j) => j.sizes), inFlight: sum(jobs.map((j) => j.inFlight - 1)) };
}

function dataPoints<T>(metric: MetricData | undefined): DataPoint<T>[] {
  return (metric as unknown as { dataPoints: DataPoint<T>[] } | undefined)?.dataPoints ?? [];
}

describe.skipIf(skipOtel())("OpenTelemetry's API in worker threads", () => {
  it("records counters, up-down counters, histograms and gauges exactly, seen by the metrics server and by the producer", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    cleanup.push(() => hub.close());
    const server = await startHttpServer({ hub, port: 0, host: "127.0.0.1" });
    cleanup.push(() => server.close());
    const reader = memoryReader([new HubMetricProducer({ hub })]);
    cleanup.push(() => reader.shutdown());

    const workers = jobs.map((job) => startWorker("otel-api-worker.mjs", { workerData: { ...hub.workerData, job } }));
    for (const w of workers) cleanup.push(() => w.terminate());
    const replies = await Promise.all(workers.map((w) => nextMessage<{ threw: Array<{ code: string; message: string } | null> }>(w)));
    // Observable instruments are refused, with the code and what to do instead.
    for (const { threw } of replies) {
      expect(threw).toHaveLength(4);
      for (const t of threw) {
        expect(t?.code).toBe("ERR_PROM_THREADS_UNSUPPORTED");
        expect(t?.message).toMatch(/not available in a worker thread.*createGauge\(\)/);
      }
    }
    const t = truth();

    // Through the hub's own metrics server, as Prometheus scrapes it.
    const text = await fetch(server.url).then((r) => r.text());
    const scraped = samples(text);
    expect(text).toContain("# HELP http_server_requests_total Requests served.");
    expect(text).toContain("# TYPE http_server_requests_total counter");
    for (const [method, count] of t.requests) expect(scraped.get(`http_server_requests_total{http_method="${method}",http_status_code="200"}`), method).toBe(count);
    for (const [method, values] of t.durations) {
      const counts = bucketCounts(values, [0.125, 0.5, 1]);
      let cumulative = 0;
      ["0.125", "0.5", "1", "+Inf"].forEach((le, i) => {
        cumulative += counts[i]!;
        expect(scraped.get(`http_server_request_duration_seconds_bucket{le="${le}",http_method="${method}",http_status_code="200"}`), `${method} ${le}`).toBe(cumulative);
      });
      expect(scraped.get(`http_server_request_duration_seconds_sum{http_method="${method}",http_status_code="200"}`)).toBe(sum(values));
    }
    expect(scraped.get('payload_size_bytes_bucket{le="+Inf"}')).toBe(t.sizes.length);
    expect(scraped.get('payload_size_bytes_bucket{le="750"}')).toBe(t.sizes.filter((v) => v <= 750).length);
    expect(scraped.get("jobs_in_flight")).toBe(t.inFlight);
    // A Gauge keeps the latest value a live worker set: one of the three.
    expect(jobs.map((j) => j.temperature)).toContain(scraped.get('cpu_temperature_celsius{cpu_id="0"}'));
    expect(text).toContain("# TYPE cpu_temperature_celsius gauge");
    // advice.attributes fixes the labels: a missing one is empty, an extra one is dropped from the record.
    expect(scraped.get('routed_total{http_route="/a",http_method=""}')).toBe(2 * jobs.length);
    expect(scraped.get('routed_total{http_route="/a",http_method="GET"}')).toBe(jobs.length);
    // What could not be recorded as given is counted, per reason.
    expect(scraped.get('prom_threads_otel_dropped_total{reason="invalid_value"}')).toBe(2 * jobs.length);
    expect(scraped.get('prom_threads_otel_dropped_total{reason="unknown_attribute"}')).toBe(2 * jobs.length);
    expect(scraped.get('prom_threads_otel_dropped_total{reason="invalid_attributes"}')).toBe(3 * jobs.length);
    // null attributes are none, and so are attributes that are not an object (counted above).
    expect(scraped.get('routed_total{http_route="",http_method=""}')).toBe(4 * jobs.length);

    // Through the producer: the same numbers as OpenTelemetry data.
    const result = await reader.read();
    const requestPoints = dataPoints<number>(metricNamed(result, "http_server_requests_total"));
    expect(metricNamed(result, "http_server_requests_total")?.dataPointType).toBe(DataPointType.SUM);
    expect(new Map(requestPoints.map((p) => [p.attributes.http_method, p.value]))).toEqual(t.requests);
    expect(requestPoints.every((p) => p.attributes.http_status_code === "200")).toBe(true);
    const durationPoints = dataPoints<Histogram>(metricNamed(result, "http_server_request_duration_seconds"));
    for (const [method, values] of t.durations) {
      const point = durationPoints.find((p) => p.attributes.http_method === method)!;
      expect(point.value).toEqual({ buckets: { boundaries: [0.125, 0.5, 1], counts: bucketCounts(values, [0.125, 0.5, 1]) }, sum: sum(values), count: values.length });
    }
    const [sizes] = dataPoints<Histogram>(metricNamed(result, "payload_size_bytes"));
    expect(sizes?.value.buckets).toEqual({ boundaries: OTEL_DEFAULT, counts: bucketCounts(t.sizes, OTEL_DEFAULT) });
    expect(dataPoints<number>(metricNamed(result, "jobs_in_flight")).map((p) => p.value)).toEqual([t.inFlight]);
    expect(metricNamed(result, "jobs_in_flight")?.dataPointType).toBe(DataPointType.GAUGE);

    // An UpDownCounter is summed over live workers: what a worker added leaves with it.
    await workers[0]!.terminate();
    const after = samples(await fetch(server.url).then((r) => r.text()));
    expect(after.get("jobs_in_flight")).toBe(t.inFlight - (jobs[0]!.inFlight - 1));
    expect(after.get('http_server_requests_total{http_method="GET",http_status_code="200"}')).toBe(t.requests.get("GET"));
  });
});
