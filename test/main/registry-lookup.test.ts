/**
 * `registry.getSingleMetric(name)` in the main thread finds a metric a worker declared since the hub's
 * last drain, right after the task that declared it resolved (hub and piscina defaults, no flush()).
 */
import { Piscina } from "piscina";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { fixture } from "../helpers/workers.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe("registry.getSingleMetric() on the hub's registry", () => {
  it("finds a metric declared by a task right after pool.run() resolves, with its value", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    cleanup.push(() => hub.close());
    const pool = new Piscina({ filename: fixture("lookup-task.mjs").href, workerData: hub.workerData });
    hub.attach(pool);
    cleanup.push(() => pool.destroy());
    for (let i = 1; i <= 5; i++) {
      const name = `lookup_${i}_total`;
      await pool.run({ name, count: i });
      const metric = registry.getSingleMetric(name);
      expect(metric, name).toBeDefined();
      expect((await metric!.get()).values.map((v) => v.value)).toEqual([i]);
    }
    // getSingleMetricAsString() looks the metric up the same way.
    await pool.run({ name: "lookup_text_total", count: 7 });
    expect(await registry.getSingleMetricAsString("lookup_text_total")).toContain("lookup_text_total 7");
    // A name nobody declared is still not found.
    expect(registry.getSingleMetric("lookup_nobody_total")).toBeUndefined();
  });
});
