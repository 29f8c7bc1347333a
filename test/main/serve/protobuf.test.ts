import { Counter, Gauge, Histogram, Registry, Summary, type OpenMetricsContentType } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub, startHttpServer } from "../../../src/main/index.js";
import { negotiateFormat } from "../../../src/main/serve/negotiation.js";
import { renderProtobuf } from "../../../src/main/serve/protobuf/render.js";
import type { FamilySnapshot } from "../../../src/main/serve/snapshot.js";
import { get } from "../../helpers/http.js";
import { decodeMetricFamilies, type DecodedFamily } from "../../helpers/protobuf.js";
import { nextMessage, startWorker } from "../../helpers/workers.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** The Accept header Prometheus 2.42 sends with --enable-feature=native-histograms. */
const PROMETHEUS_PROTOBUF_ACCEPT =
  "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

function find(families: DecodedFamily[], name: string): DecodedFamily {
  const family = families.find((f) => f.name === name);
  if (family === undefined) throw new Error(`no family ${name}`);
  return family;
}

describe("negotiating protobuf", () => {
  it("answers Prometheus's native-histogram Accept header with protobuf, and never a wildcard", () => {
    expect(negotiateFormat(PROMETHEUS_PROTOBUF_ACCEPT)).toBe("protobuf");
    expect(negotiateFormat("application/vnd.google.protobuf")).toBe("protobuf");
    expect(negotiateFormat("*/*")).toBe("text");
    expect(negotiateFormat("application/*")).toBe("openmetrics");
    expect(negotiateFormat("application/vnd.google.protobuf;proto=other.Message;encoding=delimited,text/plain;q=0.1")).toBe("text");
    expect(negotiateFormat("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text,text/plain;q=0.1")).toBe("text");
    expect(negotiateFormat("application/vnd.google.protobuf;q=0.5,application/openmetrics-text")).toBe("openmetrics");
  });
});

describe("the protobuf renderer", () => {
  it("renders the user's own prom-client metrics of every type, exemplars included", async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const registers = [registry as unknown as Registry];
    const jobs = new Counter({ name: "app_jobs_total", help: "Jobs ✓.", labelNames: ["kind"], registers, enableExemplars: true });
    jobs.inc({ labels: { kind: "a" }, value: 3, exemplarLabels: { trace_id: "abc" } } as never);
    jobs.inc({ labels: { kind: "ü\"b" }, value: 2 } as never);
    new Gauge({ name: "app_temp", help: "T.", registers }).set(-12.5);
    const seconds = new Histogram({ name: "app_seconds", help: "S.", labelNames: ["path"], buckets: [0.1, 1], registers, enableExemplars: true });
    seconds.observe({ labels: { path: "/" }, value: 0.05, exemplarLabels: { trace_id: "t1" } } as never);
    seconds.observe({ labels: { path: "/" }, value: 5 } as never);
    const size = new Summary({ name: "app_bytes", help: "B.", percentiles: [0.5, 0.9], registers });
    for (let k = 1; k <= 10; k++) size.observe(k * 100);
    const families = decodeMetricFamilies(renderProtobuf((await registry.getMetricsAsJSON()) as unknown as FamilySnapshot[]));
    expect(families.map((f) => [f.name, f.type])).toEqual([
      ["app_jobs_total", 0],
      ["app_temp", 1],
      ["app_seconds", 4],
      ["app_bytes", 2],
    ]);
    const counter = find(families, "app_jobs_total");
    expect(counter.help).toBe("Jobs ✓.");
    expect(counter.metrics.map((m) => [m.labels, m.counter?.value, m.counter?.exemplar?.labels])).toEqual([
      [{ kind: "a" }, 3, { trace_id: "abc" }],
      [{ kind: 'ü"b' }, 2, undefined],
    ]);
    expect(find(families, "app_temp").metrics[0]?.gauge).toBe(-12.5);
    const histogram = find(families, "app_seconds").metrics[0];
    expect(histogram?.labels).toEqual({ path: "/" });
    expect(histogram?.histogram?.count).toBe(2);
    expect(histogram?.histogram?.sum).toBe(5.05);
    expect(histogram?.histogram?.buckets.map((b) => [b.le, b.count, b.exemplar?.labels.trace_id])).toEqual([
      [0.1, 1, "t1"],
      [1, 1, undefined],
    ]);
    expect(histogram?.histogram?.schema).toBeUndefined(); // classic only: no native fields
    const summary = find(families, "app_bytes").metrics[0]?.summary;
    expect(summary?.count).toBe(10);
    expect(summary?.sum).toBe(5500);
    expect(summary?.quantiles.map((q) => q[0])).toEqual([0.5, 0.9]);
  });

  it("serves worker-thread native histograms and exemplars over HTTP to a protobuf Accept header", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    cleanup.push(() => hub.close());
    new Counter({ name: "user_total", help: "The user's own.", registers: [registry] }).inc(4);
    const server = await startHttpServer({ hub, port: 0 });
    cleanup.push(() => server.close());
    const w = startWorker("native.mjs", { workerData: { ...hub.workerData, job: { values: [1, 2, 3, -4, 0, 0.3], worker: 2, buckets: [0.5], traceEvery: 3 } } });
    cleanup.push(() => w.terminate());
    await nextMessage(w);
    const reply = await get(`http://127.0.0.1:${server.port}/metrics`, { headers: { Accept: PROMETHEUS_PROTOBUF_ACCEPT } });
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited");
    const families = decodeMetricFamilies(new Uint8Array(reply.body));
    expect(find(families, "user_total").metrics[0]?.counter?.value).toBe(4);
    const h = find(families, "fx_native_seconds").metrics[0]?.histogram;
    expect(h).toMatchObject({
      count: 6,
      sum: 2.3,
      schema: 3,
      zeroThreshold: 2 ** -128,
      zeroCount: 1,
      // 0.3 -> ceil(8 log2 0.3) = -13; 1 -> 0; 2 -> 8; 3 -> 13 (gaps over 2 start new spans).
      positiveSpans: [
        [-13, 1],
        [12, 1],
        [7, 1],
        [4, 1],
      ],
      positiveDeltas: [1, 0, 0, 0],
      negativeSpans: [[16, 1]],
      negativeDeltas: [1],
    });
    // Bucket 0.5 holds -4 (trace w2-3), 0 and 0.3; +Inf is written only for its exemplar (trace w2-0: 1).
    expect(h?.buckets.map((b) => [b.le, b.count, b.exemplar?.labels.trace_id, b.exemplar?.value])).toEqual([
      [0.5, 3, "w2-3", -4],
      [Infinity, 6, "w2-0", 1],
    ]);
    const counter = find(families, "fx_native_requests_total").metrics[0]?.counter;
    expect(counter?.value).toBe(6);
    // The counter had w2-0 and w2-3: the first, or the second if the hub read the table between them.
    expect([{ trace_id: "w2-0" }, { trace_id: "w2-3" }]).toContainEqual(counter?.exemplar?.labels);
    // The text format of the same scrape carries no exemplar and no native buckets.
    const text = await get(`http://127.0.0.1:${server.port}/metrics`);
    expect(text.text).not.toContain("#  {");
    expect(text.text).not.toContain("trace_id");
    expect(text.text).toContain('fx_native_seconds_bucket{le="+Inf",pool="p"} 6');
  });
});

describe("the protobuf renderer, property-based", () => {
  it("round-trips random registries: names, help, labels (any UTF-8), values, buckets, counts and sums", async () => {
    const fc = (await import("fast-check")).default;
    const labelValue = fc.string({ unit: "grapheme", maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(labelValue, fc.double({ noNaN: true, min: 0, max: 1e12 })), { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(labelValue, fc.double({ noNaN: true })), { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(fc.constantFrom("a", "b", "ü"), fc.double({ noNaN: true, min: -1e6, max: 1e6 })), { maxLength: 40 }),
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }),
        async (counts, gauges, observations, help) => {
          const registry = new Registry();
          const registers = [registry];
          const counter = new Counter({ name: "p_total", help, labelNames: ["l"], registers });
          for (const [l, v] of counts) counter.inc({ l }, v);
          const gauge = new Gauge({ name: "p_gauge", help, labelNames: ["l"], registers });
          for (const [l, v] of gauges) gauge.set({ l }, v);
          const histogram = new Histogram({ name: "p_seconds", help, labelNames: ["l"], buckets: [-1, 0, 0.5, 100], registers });
          for (const [l, v] of observations) histogram.observe({ l }, v);
          const json = (await registry.getMetricsAsJSON()) as unknown as FamilySnapshot[];
          const families = decodeMetricFamilies(renderProtobuf(json));
          const expected = json.filter((f) => (f.values?.length ?? 0) > 0);
          expect(families.map((f) => [f.name, f.help])).toEqual(expected.map((f) => [f.name, f.help]));
          const byName = (name: string): DecodedFamily => find(families, name);
          const jsonOf = (name: string) => json.find((f) => f.name === name)?.values ?? [];
          expect(byName("p_total").metrics.map((m) => [m.labels.l, m.counter?.value])).toEqual(jsonOf("p_total").map((v) => [v.labels?.l, v.value]));
          expect(byName("p_gauge").metrics.map((m) => [m.labels.l, m.gauge])).toEqual(jsonOf("p_gauge").map((v) => [v.labels?.l, v.value]));
          const seriesLabels = [...new Set(observations.map(([l]) => l))];
          const decoded = observations.length === 0 ? [] : byName("p_seconds").metrics;
          expect(decoded.map((m) => m.labels.l).sort()).toEqual(seriesLabels.sort());
          for (const metric of decoded) {
            const mine = observations.filter(([l]) => l === metric.labels.l).map(([, v]) => v);
            expect(metric.histogram?.count).toBe(mine.length);
            // What the registry says (prom-client's own bucket counts), rendered faithfully.
            const bucketOf = (le: number) => jsonOf("p_seconds").find((v) => v.metricName === "p_seconds_bucket" && v.labels?.l === metric.labels.l && v.labels?.le === le)?.value;
            expect(metric.histogram?.buckets.map((b) => [b.le, b.count])).toEqual([-1, 0, 0.5, 100].map((le) => [le, bucketOf(le)]));
            const sum = jsonOf("p_seconds").find((v) => v.metricName === "p_seconds_sum" && v.labels?.l === metric.labels.l)?.value;
            expect(metric.histogram?.sum).toBe(sum);
          }
        },
      ),
      { numRuns: 150, seed: 4242 },
    );
  });
});
