/** A scrape drains the rings once, however many metrics it renders; a lone metric read still drains. */
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { samples } from "../helpers/exposition.js";
import { Scripted } from "../helpers/scripted.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe("drains per scrape", () => {
  it("drains once per registry.metrics(), not once per metric", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, drainIntervalMs: 3_600_000 });
    cleanup.push(() => hub.close());
    const w = await Scripted.start({ workerData: hub.workerData });
    cleanup.push(() => w.worker.terminate());
    for (let i = 0; i < 5; i++) await w.ok("record", { kind: "counter", config: { name: `once_${i}_total`, help: "h" }, count: 1 });
    await hub.collect();
    const drains = async () => samples(await registry.metrics()).get("prom_threads_drain_duration_seconds_count") ?? 0;
    const first = await drains();
    const second = await drains();
    const third = await drains();
    // Five worker metrics and three draining self-metrics: one drain each would be nine per scrape.
    expect(second - first).toBe(1);
    expect(third - second).toBe(1);
  });

  it("still drains for a lone getSingleMetricAsString(), and for explicit drainSync() calls", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, drainIntervalMs: 3_600_000 });
    cleanup.push(() => hub.close());
    const w = await Scripted.start({ workerData: hub.workerData });
    cleanup.push(() => w.worker.terminate());
    await w.ok("record", { kind: "counter", config: { name: "lone_total", help: "h" }, count: 2 });
    expect(await registry.metrics()).toContain("lone_total 2");
    await w.ok("record", { kind: "counter", config: { name: "lone_total", help: "h" }, count: 3 });
    // No registry hook runs here: the metric's own get() must drain.
    expect(await registry.getSingleMetricAsString("lone_total")).toContain("lone_total 5");
    await w.ok("record", { kind: "counter", config: { name: "lone_total", help: "h" }, count: 4 });
    hub.drainSync();
    expect(hub.stats().recordsDrained).toBe(9);
  });
});
