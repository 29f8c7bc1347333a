/**
 * In a registry in text mode the hub writes its self-metrics' lines itself (prom-client's formatter costs
 * more than the rest of a small scrape): the text must be what prom-client's own `getMetricsAsString()`
 * writes for the same samples, with any default labels; a registry whose method writes something else
 * keeps writing the self-metrics its own way.
 */
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { SelfMetrics } from "../../src/main/self-metrics.js";
import { Tally } from "../../src/main/tally.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Self-metrics over fixed totals, so two renderings see the same samples. */
function fixedSelfMetrics(registry: Registry): SelfMetrics {
  const tally = new Tally();
  tally.drained = 12_345;
  const self = new SelfMetrics(registry, {
    tally,
    drain: () => {},
    connectedWorkers: () => 3,
    slotUsage: () => ({ unfollowed: 1, sharedMemoryBytes: 196_608 }),
    takeRingFill: () => 0.375,
    conflicts: new Map([['odd "name"\\n', 2]]),
    seriesOverflow: new Map([["jobs_total", 7]]),
  });
  self.observeDrain(0.0003);
  self.observeDrain(2);
  return self;
}

/** prom-client's own `getMetricsAsString()` (a method its typings leave out). */
type WithMetricsAsString = { getMetricsAsString(metric: unknown): Promise<string> };
const promClientText = (Registry.prototype as unknown as WithMetricsAsString).getMetricsAsString;
const prototypeText = (registry: Registry, metric: unknown): Promise<string> => promClientText.call(registry, metric);

describe("self-metrics in a text-mode registry", () => {
  for (const defaults of [undefined, { app: "api" }, { app: 'a"b\\c\nd', reason: "theirs", zone: "" }]) {
    it(`write what prom-client writes for the same samples (default labels ${JSON.stringify(defaults)})`, async () => {
      const registry = new Registry();
      if (defaults !== undefined) registry.setDefaultLabels(defaults);
      const self = fixedSelfMetrics(registry);
      const metrics = registry.getMetricsAsArray();
      expect(metrics).toHaveLength(9);
      for (const metric of metrics) {
        const reference = await prototypeText(registry, metric);
        // The first time prom-client writes it and the two are compared; then the hub writes it alone.
        const first = self.promString(registry, metric, (m) => prototypeText(registry, m));
        expect(first).toBeDefined();
        expect(await first).toBe(reference);
        let asked = 0;
        const second = self.promString(registry, metric, (m) => {
          asked++;
          return prototypeText(registry, m);
        });
        expect(await second).toBe(reference);
        expect(asked).toBe(0);
      }
    });
  }

  it("leave OpenMetrics registries and other metrics to prom-client", async () => {
    const registry = new Registry();
    (registry as unknown as { setContentType(type: string): void }).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const self = fixedSelfMetrics(registry);
    for (const metric of registry.getMetricsAsArray()) expect(self.promString(registry, metric, (m) => prototypeText(registry, m))).toBeUndefined();
    const text = new Registry();
    expect(self.promString(text, { get: () => ({ name: "x", help: "h", type: "gauge", values: [] }) }, (m) => prototypeText(text, m))).toBeUndefined();
  });

  it("keep a registry's own format when its getMetricsAsString writes differently", async () => {
    // A registry whose own method writes otherwise (here: upper case).
    const registry = new Registry();
    (registry as unknown as WithMetricsAsString).getMetricsAsString = async (metric) => (await promClientText.call(registry, metric)).toUpperCase();
    const hub = new MetricsHub({ registry, drainIntervalMs: 3_600_000 });
    cleanup.push(() => hub.close());
    for (let i = 0; i < 3; i++) {
      const text = await registry.metrics();
      expect(text).toContain("# HELP PROM_THREADS_RECORDS_DRAINED_TOTAL ");
      expect(text).not.toContain("prom_threads_");
    }
  });

  it("are what registry.metrics() writes through a hub, scrape after scrape", async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ app: "api" });
    const hub = new MetricsHub({ registry, drainIntervalMs: 3_600_000 });
    cleanup.push(() => hub.close());
    for (let i = 1; i <= 3; i++) {
      const text = await registry.metrics();
      expect(text).toContain('prom_threads_records_dropped_total{reason="ring_full",app="api"} 0\n');
      expect(text).toContain(`prom_threads_drain_duration_seconds_count{app="api"} ${i}\n`);
      expect(text).toContain(`prom_threads_shared_memory_bytes{app="api"} ${hub.stats().sharedMemoryBytes}\n`);
    }
  });
});
