/**
 * The self-metrics render the hub's totals without prom-client metric objects: the exposition must stay
 * what prom-client metrics of the same names, types and labels would print, default labels included.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** The `# HELP` and `# TYPE` lines of every `prom_threads_` family, in order. */
function headers(text: string): string[] {
  return text.split("\n").filter((line) => line.startsWith("# ") && line.includes(" prom_threads_"));
}

describe("self-metrics", () => {
  it("print every family with its type and help, and after a scrape show the drains and zero drops", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, drainIntervalMs: 3_600_000 });
    cleanup.push(() => hub.close());
    const text = await registry.metrics();
    const families = headers(text).filter((line) => line.startsWith("# TYPE")).map((line) => line.split(" ").slice(2).join(" "));
    expect(families).toEqual([
      "prom_threads_records_drained_total counter",
      "prom_threads_records_dropped_total counter",
      "prom_threads_workers_connected gauge",
      "prom_threads_workers_unfollowed gauge",
      "prom_threads_shared_memory_bytes gauge",
      "prom_threads_ring_fill_ratio gauge",
      "prom_threads_declaration_conflicts_total counter",
      "prom_threads_series_overflow_total counter",
      "prom_threads_drain_duration_seconds histogram",
    ]);
    expect(text).toContain('prom_threads_records_dropped_total{reason="ring_full"} 0\n');
    expect(text).toMatch(/prom_threads_drain_duration_seconds_count [1-9]/);
    expect(text).toContain(`prom_threads_shared_memory_bytes ${hub.stats().sharedMemoryBytes}\n`);
  });

  it("put a registry's default labels where prom-client puts them: after the metric's own labels", async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ app: "api" });
    const hub = new MetricsHub({ registry, drainIntervalMs: 3_600_000 });
    cleanup.push(() => hub.close());
    const text = await registry.metrics();
    // The same label sets printed by prom-client's own metrics in a registry with the same default labels.
    const reference = new Registry();
    reference.setDefaultLabels({ app: "api" });
    new Counter({ name: "ref_total", help: "h", labelNames: ["reason"], registers: [reference] }).inc({ reason: "ring_full" }, 0);
    new Gauge({ name: "ref_gauge", help: "h", registers: [reference] }).set(1);
    new Histogram({ name: "ref_seconds", help: "h", buckets: [0.00005], registers: [reference] }).observe(1);
    const ref = await reference.metrics();
    expect(ref).toContain('ref_total{reason="ring_full",app="api"} 0');
    expect(text).toContain('prom_threads_records_dropped_total{reason="ring_full",app="api"} 0');
    expect(ref).toContain('ref_gauge{app="api"} 1');
    expect(text).toContain('prom_threads_workers_connected{app="api"} 0');
    expect(ref).toContain('ref_seconds_bucket{le="0.00005",app="api"} 0');
    expect(text).toMatch(/prom_threads_drain_duration_seconds_bucket\{le="0.00005",app="api"\} \d/);
    expect(text).toMatch(/prom_threads_drain_duration_seconds_sum\{app="api"\} /);
  });

  it("are JSON for getMetricsAsJSON, with the hub's totals", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, drainIntervalMs: 3_600_000 });
    cleanup.push(() => hub.close());
    const json = await registry.getMetricsAsJSON();
    const drained = json.find((m) => m.name === "prom_threads_records_drained_total");
    expect(drained).toMatchObject({ type: "counter", aggregator: "sum", values: [{ value: 0, labels: {} }] });
    expect(json.find((m) => m.name === "prom_threads_ring_fill_ratio")?.aggregator).toBe("max");
    registry.resetMetrics();
    expect((await registry.metrics()).match(/prom_threads_drain_duration_seconds_count (\d+)/)?.[1]).toBe("1");
  });
});
