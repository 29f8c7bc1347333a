import { Histogram, Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { Histogram as WorkerHistogram, connect } from "../../src/worker/index.js";

// This file's main thread records into its own hub, so both sides of the comparison see the same values.
const hubRegistry = new Registry();
const hub = new MetricsHub({ registry: hubRegistry, selfMetrics: false });
connect(hub.workerData);
afterAll(() => hub.close());

const config = { help: "Escapes \\ and\nnewlines.", labelNames: ["route", "method"], buckets: [0.1, 1, 10] };
const labelSets = [
  ["/", "GET"],
  ['/quote"d', "POST"],
  ["/back\\slash\nline", "PUT"],
];

function record(observe: (route: string, method: string, value: number) => void): void {
  for (let i = 0; i < 60; i++) {
    const [route, method] = labelSets[i % labelSets.length] as [string, string];
    observe(route, method, (i % 23) / 2);
  }
}

describe("text exposition of worker histograms", () => {
  it("is byte for byte what prom-client renders for the same observations, default labels included", async () => {
    const worker = new WorkerHistogram({ name: "exposed_seconds", ...config });
    record((route, method, value) => worker.labels(route, method).observe(value));
    const reference = new Registry();
    const own = new Histogram({ name: "exposed_seconds", ...config, registers: [reference] });
    record((route, method, value) => own.labels(route, method).observe(value));

    const text = await hubRegistry.metrics();
    expect(text).toContain('exposed_seconds_bucket{le="+Inf",route="/quote\\"d",method="POST"} 20');
    expect(text).toBe(await reference.metrics());

    hubRegistry.setDefaultLabels({ app: "bench" });
    reference.setDefaultLabels({ app: "bench" });
    expect(await hubRegistry.metrics()).toBe(await reference.metrics());

    // JSON (what AggregatorRegistry and Pushgateway read) keeps every label on every sample.
    const plain = async (registry: Registry) =>
      (await registry.getMetricsAsJSON()).flatMap((m) =>
        m.values.map((v) => ({ metricName: (v as { metricName?: string }).metricName, labels: v.labels, value: v.value })),
      );
    expect(await plain(hubRegistry)).toEqual(await plain(reference));
    hubRegistry.setDefaultLabels({});
  });
});
