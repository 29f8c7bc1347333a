/**
 * UTF-8 names through the hub: metric and label names that escape to the same classic name, and every
 * worker metric type with UTF-8 names, in a real worker thread.
 */
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub, type PromThreadsError } from "../../src/main/index.js";
import { ErrorCodes } from "../../src/shared/api/errors.js";
import { renderOpenMetrics } from "../../src/main/serve/openmetrics.js";
import { nameFamilies, type FamilySnapshot } from "../../src/main/serve/snapshot.js";
import { samples } from "../helpers/exposition.js";
import { Scripted } from "../helpers/scripted.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function setup() {
  const registry = new Registry();
  const hub = new MetricsHub({ registry });
  cleanup.push(() => hub.close());
  const w = await Scripted.start({ workerData: hub.workerData });
  cleanup.push(() => w.worker.terminate());
  const errors: PromThreadsError[] = [];
  hub.on("error", (e) => errors.push(e));
  return { registry, hub, w, errors };
}

describe("UTF-8 names in the hub", () => {
  it("keeps the first of two metrics whose names escape alike, and counts the other's records as a declaration conflict", async () => {
    const { registry, w, errors } = await setup();
    await w.ok("record", { kind: "counter", config: { name: "jobs.done_total", help: "Dotted." }, count: 4 });
    await w.ok("record", { kind: "counter", config: { name: "jobs_done_total", help: "Classic." }, count: 3 });
    const all = samples(await registry.metrics());
    expect(all.get("jobs_done_total")).toBe(4);
    expect(all.get('prom_threads_records_dropped_total{reason="declaration_conflict"}')).toBe(3);
    expect(errors.map((e) => e.code)).toContain(ErrorCodes.DECLARATION_CONFLICT);
  });

  it("refuses, in the worker, label names of one metric that escape alike", async () => {
    const { w } = await setup();
    const reply = await w.run("construct", { kind: "counter", config: { name: "twins_total", help: "h", labelNames: ["a.b", "a_b"] } });
    expect(reply.ok).toBe(false);
    expect(reply.code).toBe(ErrorCodes.INVALID_NAME);
    expect(reply.message).toContain("a_b");
  });

  it("accepts UTF-8 names for every metric type, served escaped by registry.metrics()", async () => {
    const { registry, w } = await setup();
    for (const kind of ["counter", "gauge", "histogram", "summary"]) {
      await w.ok("record", { kind, config: { name: `ünï.${kind}`, help: "UTF-8." }, count: 2 });
    }
    const text = await registry.metrics();
    expect(text).toContain("# TYPE _n__counter counter");
    expect(text).toContain("# TYPE _n__summary summary");
    const all = samples(text);
    expect(all.get("_n__counter")).toBe(2);
    expect(all.get("_n__histogram_count")).toBe(2);
    expect(all.get("_n__summary_count")).toBe(2);
    // Served: the declared names, and a created sample for the counter, histogram and summary (not the gauge).
    const families = nameFamilies((await registry.getMetricsAsJSON()) as unknown as FamilySnapshot[], "allow-utf-8");
    const om = renderOpenMetrics(families, { createdSamples: true });
    for (const kind of ["counter", "histogram", "summary"]) expect(om).toMatch(new RegExp(`^\\{"ünï\\.${kind}_created"\\} \\d+\\.?\\d*$`, "m"));
    expect(om).not.toContain("ünï.gauge_created");
    expect(om).toContain('{"ünï.gauge"} 2\n');
  });
});
