/**
 * maxSeries: label sets past the limit fold into one overflow series, in the hub (the limit is global
 * across workers) and in each worker (its own label-set cache stays bounded). Nothing recorded is lost:
 * folded observations count in the overflow series.
 */
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Worker } from "node:worker_threads";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub, type PromThreadsError } from "../../src/main/index.js";
import { ErrorCodes } from "../../src/shared/api/errors.js";
import { kDefaultMaxSeries, kOverflowLabelValue } from "../../src/shared/model/limits.js";
import { samples } from "../helpers/exposition.js";
import { nextMessage, startWorker } from "../helpers/workers.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
function mainHeapUsed(): number {
  gc();
  gc();
  return getHeapStatistics().used_heap_size;
}

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Run {
  before: number;
  after: number;
}

async function cardinalityWorker(hub: MetricsHub): Promise<{ worker: Worker; run: (message: object) => Promise<Run> }> {
  const worker = startWorker("cardinality.mjs", { workerData: hub.workerData });
  hub.attach(worker);
  cleanup.push(() => worker.terminate());
  expect(await nextMessage(worker)).toBe("ready");
  return {
    worker,
    run: async (message) => {
      const reply = nextMessage<Run>(worker);
      worker.postMessage(message);
      return reply;
    },
  };
}

/** Label sets of metric `name` in a parsed render (the `id` values), overflow included. */
function idsOf(all: Map<string, number>, sample: string): string[] {
  const ids: string[] = [];
  for (const key of all.keys()) {
    if (!key.startsWith(`${sample}{`)) continue;
    const id = /id="([^"]*)"/.exec(key)?.[1];
    if (id !== undefined) ids.push(id);
  }
  return ids;
}

const overflow = (sample: string) => `${sample}{id="${kOverflowLabelValue}"}`;

describe("the series limit across workers (enforced in the hub)", () => {
  it("folds label sets past maxSeries into one overflow series per metric, loses nothing, and says so once", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, maxSeries: 50 });
    cleanup.push(() => hub.close());
    const errors: PromThreadsError[] = [];
    hub.on("error", (e) => errors.push(e));
    const workers = await Promise.all([0, 1, 2, 3].map(() => cardinalityWorker(hub)));
    const kinds = ["counter", "histogram", "gauge", "summary"];
    // 4 workers x 20 label sets each, all distinct: each worker stays under its own limit (50); the hub
    // sees 80 label sets per metric and keeps 50.
    await Promise.all(workers.map((w, i) => w.run({ kinds, distinct: 20, prefix: `w${i}-` })));
    const all = samples(await registry.metrics());

    expect(idsOf(all, "card_counter").filter((id) => id !== kOverflowLabelValue)).toHaveLength(50);
    expect(all.get(overflow("card_counter"))).toBe(30);
    expect(idsOf(all, "card_histogram_count").filter((id) => id !== kOverflowLabelValue)).toHaveLength(50);
    expect(all.get(overflow("card_histogram_count"))).toBe(30);
    expect(all.get(`card_histogram_bucket{le="1",id="${kOverflowLabelValue}"}`)).toBe(30);
    expect(idsOf(all, "card_summary_count").filter((id) => id !== kOverflowLabelValue)).toHaveLength(50);
    expect(all.get(overflow("card_summary_count"))).toBe(30);
    // A gauge's overflow series combines the folded contributions (here: sum).
    expect(idsOf(all, "card_gauge").filter((id) => id !== kOverflowLabelValue)).toHaveLength(50);
    expect(all.get(overflow("card_gauge"))).toBe(30);
    // Nothing lost: every observation is in a real series or in the overflow series.
    let counted = 0;
    for (const [key, value] of all) if (key.startsWith("card_counter{")) counted += value;
    expect(counted).toBe(80);
    expect(all.get("prom_threads_records_drained_total")).toBe(4 * 80);
    for (const kind of kinds) expect(all.get(`prom_threads_series_overflow_total{metric="card_${kind}"}`)).toBe(30);
    // One warning per metric, naming it and the overflow series.
    const limitErrors = errors.filter((e) => e.code === ErrorCodes.SERIES_LIMIT);
    expect(limitErrors.map((e) => /metric "(\w+)"/.exec(e.message)?.[1]).sort()).toEqual(kinds.map((k) => `card_${k}`).sort());
    expect(limitErrors[0]?.message).toContain(`id="${kOverflowLabelValue}"`);
    expect(errors).toHaveLength(4);

    // More label sets later add to the same overflow series and count; no new warning.
    await workers[0]!.run({ kinds: ["counter"], distinct: 5, prefix: "late-" });
    const later = samples(await registry.metrics());
    expect(later.get(overflow("card_counter"))).toBe(35);
    expect(later.get('prom_threads_series_overflow_total{metric="card_counter"}')).toBe(35);
    expect(errors).toHaveLength(4);
  });

  it("takes a metric's own maxSeries over the hub's, in the hub and in the worker", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, maxSeries: 1000 });
    cleanup.push(() => hub.close());
    hub.on("error", () => {});
    const w = await cardinalityWorker(hub);
    await w.run({ kinds: ["counter"], config: { maxSeries: 7 }, distinct: 100, prefix: "x" });
    const all = samples(await registry.metrics());
    expect(idsOf(all, "card_counter")).toHaveLength(8);
    expect(all.get(overflow("card_counter"))).toBe(93);
    // Folded in the worker: the worker reports how many label sets it folded.
    expect(all.get('prom_threads_series_overflow_total{metric="card_counter"}')).toBe(93);
  });
});

// Both sizes run by default: folding costs ~250 ns per label set, so a million take about half a second.
describe.each([
  ["100,000", 100_000],
  ["1,000,000", 1_000_000],
])("%s distinct label values in one worker", (_name, distinct) => {
  it(`keeps the series count at the default limit (${kDefaultMaxSeries}) and memory bounded`, async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    cleanup.push(() => hub.close());
    const errors: PromThreadsError[] = [];
    hub.on("error", (e) => errors.push(e));
    const w = await cardinalityWorker(hub);
    const mainBefore = mainHeapUsed();
    const run = await w.run({ kinds: ["counter", "histogram"], distinct, prefix: "id-" });
    const all = samples(await registry.metrics());
    const mainAfter = mainHeapUsed();
    expect(idsOf(all, "card_counter")).toHaveLength(kDefaultMaxSeries + 1);
    expect(idsOf(all, "card_histogram_count")).toHaveLength(kDefaultMaxSeries + 1);
    expect(all.get(overflow("card_counter"))).toBe(distinct - kDefaultMaxSeries);
    expect(all.get('prom_threads_series_overflow_total{metric="card_counter"}')).toBe(distinct - kDefaultMaxSeries);
    expect(all.get("prom_threads_records_drained_total")).toBe(2 * distinct);
    expect(errors.filter((e) => e.code === ErrorCodes.SERIES_LIMIT)).toHaveLength(2);
    const workerGrowth = (run.after - run.before) / 2 ** 20;
    const mainGrowth = (mainAfter - mainBefore) / 2 ** 20;
    console.log(`[series-limit] ${distinct} distinct label values x 2 metrics: worker heap +${workerGrowth.toFixed(1)} MiB, main heap +${mainGrowth.toFixed(1)} MiB`);
    // Unbounded, 100,000 label sets of two metrics cost the worker tens of MiB (and 1,000,000 hundreds).
    // Bounded, it holds 2 x 2001 children: well under 8 MiB, whatever `distinct` is.
    expect(workerGrowth).toBeLessThan(8);
    expect(mainGrowth).toBeLessThan(8);
  });
});

describe("gauge label sets whose workers are gone", () => {
  it("free their room under maxSeries (and their memory): a new worker's label sets are not folded", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, maxSeries: 10 });
    cleanup.push(() => hub.close());
    hub.on("error", () => {});
    const first = await cardinalityWorker(hub);
    await first.run({ kinds: ["gauge"], distinct: 10, prefix: "a" });
    expect(idsOf(samples(await registry.metrics()), "card_gauge")).toHaveLength(10);
    await first.worker.terminate();
    expect(samples(await registry.metrics()).has('card_gauge{id="a0"}')).toBe(false);
    const second = await cardinalityWorker(hub);
    await second.run({ kinds: ["gauge"], distinct: 10, prefix: "b" });
    const all = samples(await registry.metrics());
    expect(idsOf(all, "card_gauge").sort()).toEqual(Array.from({ length: 10 }, (_, i) => `b${i}`).sort());
    expect(all.has('prom_threads_series_overflow_total{metric="card_gauge"}')).toBe(false);
  });
});

describe("maxSeries options", () => {
  it.each([0, -1, 1.5, "10", 2 ** 24])("rejects maxSeries %j on the hub and on a metric", async (value) => {
    expect(() => new MetricsHub({ maxSeries: value as number })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, message: expect.stringContaining("options.maxSeries") }));
    const { Counter } = await import("../../src/worker/index.js");
    expect(() => new Counter({ name: "m_total", help: "h", maxSeries: value as number })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, message: expect.stringContaining("options.maxSeries") }),
    );
  });
});
