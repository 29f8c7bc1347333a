/**
 * The producer behind `@opentelemetry/exporter-metrics-otlp-http` (JSON), posting to a receiver this test
 * runs on loopback: the OTLP payload decodes to the exact totals of a real piscina pool.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { afterEach, describe, expect, it } from "vitest";
import { HubMetricProducer } from "../../src/otel/index.js";
import { bucketCounts, exponentialBuckets, otelJobs, sparse, sum, truthOf } from "./ground-truth.js";
import { hubWithPool, skipOtel } from "./support.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface OtlpValue {
  stringValue?: string;
}
interface OtlpPoint {
  attributes?: Array<{ key: string; value: OtlpValue }>;
  asDouble?: number;
  asInt?: number | string;
  count?: number | string;
  sum?: number;
  bucketCounts?: Array<number | string>;
  explicitBounds?: number[];
  scale?: number;
  zeroCount?: number | string;
  positive?: { offset?: number; bucketCounts?: Array<number | string> };
  negative?: { offset?: number; bucketCounts?: Array<number | string> };
  startTimeUnixNano?: string | number;
  timeUnixNano?: string | number;
  exemplars?: unknown[];
}
interface OtlpMetric {
  name: string;
  description?: string;
  sum?: { dataPoints: OtlpPoint[]; aggregationTemporality: number; isMonotonic?: boolean };
  gauge?: { dataPoints: OtlpPoint[] };
  histogram?: { dataPoints: OtlpPoint[]; aggregationTemporality: number };
  exponentialHistogram?: { dataPoints: OtlpPoint[]; aggregationTemporality: number };
}
interface OtlpRequest {
  resourceMetrics: Array<{ scopeMetrics: Array<{ scope: { name: string; version?: string }; metrics: OtlpMetric[] }> }>;
}

/** An OTLP/HTTP receiver on 127.0.0.1 that keeps every JSON request body. */
async function receiver(): Promise<{ url: string; requests: OtlpRequest[]; contentTypes: string[]; server: Server }> {
  const requests: OtlpRequest[] = [];
  const contentTypes: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      contentTypes.push(String(req.headers["content-type"]));
      if (req.url === "/v1/metrics" && req.method === "POST") requests.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as OtlpRequest);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/metrics`, requests, contentTypes, server };
}

const attr = (p: OtlpPoint, key: string): string | undefined => p.attributes?.find((a) => a.key === key)?.value.stringValue;
const numbers = (list: Array<number | string> | undefined): number[] => (list ?? []).map(Number);
function sideOf(side: OtlpPoint["positive"]): Map<number, number> {
  return sparse({ offset: side?.offset ?? 0, bucketCounts: numbers(side?.bucketCounts) });
}

describe.skipIf(skipOtel())("HubMetricProducer through the OTLP/HTTP JSON exporter", () => {
  it("posts a piscina pool's exact totals to a receiver on loopback", async () => {
    const otlp = await receiver();
    cleanup.push(() => new Promise((resolve) => otlp.server.close(resolve)));
    const { hub, pool } = hubWithPool(cleanup);
    const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: otlp.url }), exportIntervalMillis: 3_600_000, metricProducers: [new HubMetricProducer({ hub })] });
    const provider = new MeterProvider({ readers: [reader] });
    cleanup.push(() => provider.shutdown());

    const jobs = otelJobs(40);
    const truth = truthOf(jobs);
    await Promise.all(jobs.map((job) => pool.run(job)));
    await reader.forceFlush();

    expect(otlp.requests).toHaveLength(1);
    expect(otlp.contentTypes[0]).toMatch(/^application\/json/);
    const scope = otlp.requests[0]!.resourceMetrics.flatMap((r) => r.scopeMetrics).find((s) => s.scope.name === "prom-threads");
    expect(scope).toBeDefined();
    const metric = (name: string): OtlpMetric => scope!.metrics.find((m) => m.name === name) as OtlpMetric;

    const counter = metric("otel_jobs_total");
    expect(counter.description).toBe("Jobs.");
    expect(counter.sum).toMatchObject({ aggregationTemporality: 2, isMonotonic: true }); // 2: cumulative on the wire
    for (const [kind, incs] of truth.incs) {
      const point = counter.sum!.dataPoints.find((p) => attr(p, "kind") === kind)!;
      expect(point.asDouble, kind).toBe(incs);
      expect(BigInt(point.startTimeUnixNano as string) < BigInt(point.timeUnixNano as string)).toBe(true);
      expect(point.exemplars ?? []).toEqual([]);
    }

    expect(metric("otel_pool_size").gauge?.dataPoints.map((p) => [attr(p, "pool"), p.asDouble])).toEqual([["main", 42]]);

    for (const [kind, values] of truth.values) {
      const point = metric("otel_seconds").histogram!.dataPoints.find((p) => attr(p, "kind") === kind)!;
      expect(point.explicitBounds).toEqual([0.25, 1, 4]);
      expect(numbers(point.bucketCounts)).toEqual(bucketCounts(values, [0.25, 1, 4]));
      expect(Number(point.count)).toBe(values.length);
      expect(point.sum).toBe(sum(values));
      const summary = metric("otel_sizes").histogram!.dataPoints.find((p) => attr(p, "kind") === kind)!;
      expect([Number(summary.count), summary.sum, numbers(summary.bucketCounts), summary.explicitBounds ?? []]).toEqual([values.length, sum(values), [values.length], []]);
    }

    const [native] = metric("otel_native_seconds").exponentialHistogram!.dataPoints;
    const expected = exponentialBuckets(truth.all, 3);
    expect(native!.scale).toBe(3);
    expect(Number(native!.count)).toBe(truth.all.length);
    expect(native!.sum).toBe(sum(truth.all));
    expect(Number(native!.zeroCount)).toBe(expected.zeroCount);
    expect(sideOf(native!.positive)).toEqual(expected.positive);
    expect(sideOf(native!.negative)).toEqual(expected.negative);
  });
});
