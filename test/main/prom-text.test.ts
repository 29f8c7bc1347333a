/**
 * `registry.metrics()` in a text-mode registry writes worker histograms' lines itself (prom-text.ts): the
 * text must be what prom-client's own `getMetricsAsString()` writes for the same metric, for label values
 * that need escaping, number label values, characters past U+00FF, unlabelled and native histograms,
 * infinite sums and series a reset left unexported; the path is taken (a check with prom-client's method
 * passes first); and prom-client writes the metric when the path does not cover it (default labels,
 * OpenMetrics, a method that writes something else).
 */
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { histogramPromText } from "../../src/main/prom-text.js";
import { Scripted } from "../helpers/scripted.js";

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** prom-client's own `getMetricsAsString()` (a method its typings leave out). */
type MetricsAsString = (this: unknown, metric: unknown) => Promise<string>;
const promClientText = (Registry.prototype as unknown as { getMetricsAsString: MetricsAsString }).getMetricsAsString;

const LABELLED = { name: "prom_text_seconds", help: "Labelled \\ and\nnewline.", labelNames: ["route", "code"], buckets: [0.1, 1, 10] };
const PLAIN = { name: "prom_text_plain_seconds", help: "Unlabelled.", buckets: [2.5e-7, 0.5, 1e21] };
const NATIVE = { name: "prom_text_native_seconds", help: "Native.", labelNames: ["k"], buckets: [1, 5], nativeHistogramBucketFactor: 1.1 };
const RESET = { name: "prom_text_reset_seconds", help: "Reset.", labelNames: ["k"], buckets: [1] };

async function setup(): Promise<{ hub: MetricsHub; worker: Scripted }> {
  const hub = new MetricsHub({ registry: new Registry(), selfMetrics: false });
  cleanups.push(() => hub.close());
  const worker = await Scripted.connected(hub.workerData, cleanups);
  const observe = worker.observe.bind(worker);
  await observe(RESET, { k: "gone" }, 1);
  await hub.collect();
  hub.registry.resetMetrics();
  await observe(RESET, { k: "back" }, 0.5);
  for (let i = 0; i < 40; i++) await observe(LABELLED, { route: `/r${i}`, code: i % 3 === 0 ? 200 : "ok" }, [0.05, 0.5, 5, 50], 3);
  await observe(LABELLED, { route: 'quote"back\\slash\nline', code: "é☃🙂" }, 3);
  await observe(LABELLED, { route: "/inf", code: "x" }, 1e308, 2);
  await observe(LABELLED, { route: "/float", code: "x" }, [0.1, 0.2], 2);
  await observe(PLAIN, undefined, [0.1, 1, 3], 5);
  await observe(NATIVE, { k: "a" }, [0.3, 1.5, 7, 70], 4);
  await hub.collect();
  return { hub, worker };
}

/** What prom-client writes for every metric of the registry, as `registry.metrics()` joins them. */
async function promClientMetrics(registry: Registry): Promise<string> {
  const parts = await Promise.all(registry.getMetricsAsArray().map((metric) => promClientText.call(registry, metric)));
  return `${parts.join("\n\n")}\n`;
}

/**
 * `histogramPromText` for a metric of the registry with prom-client's method, once its check is done: the
 * text it writes, or `undefined` when it leaves the metric to prom-client.
 */
async function ownText(registry: Registry, name: string): Promise<{ text: string } | undefined> {
  const metric = registry.getSingleMetric(name);
  // The first call starts the check and leaves the metric to prom-client (or, once checked, writes it).
  await histogramPromText(registry, metric, promClientText);
  // The check is prom-client's method on a made-up histogram: a few turns of the microtask queue.
  await new Promise((resolve) => setImmediate(resolve));
  const own = histogramPromText(registry, metric, promClientText);
  return own === undefined ? undefined : { text: await own };
}

describe("worker histograms in registry.metrics(), text mode", () => {
  it("are written by prom-threads, byte for byte as prom-client writes them", async () => {
    const { hub } = await setup();
    for (const name of [LABELLED.name, PLAIN.name, NATIVE.name, RESET.name]) {
      const own = await ownText(hub.registry, name);
      expect(own?.text, name).toBe(await promClientText.call(hub.registry, hub.registry.getSingleMetric(name)));
    }
    const text = await hub.registry.metrics();
    expect(text).toBe(await promClientMetrics(hub.registry));
    expect(text).toContain('prom_text_seconds_bucket{le="0.1",route="quote\\"back\\\\slash\\nline",code="é☃🙂"} 0');
    expect(text).toContain('prom_text_seconds_sum{route="/inf",code="x"} +Inf');
    expect(text).toContain('prom_text_seconds_bucket{le="+Inf",route="/r0",code="200"} 3');
    expect(text).toContain('prom_text_plain_seconds_bucket{le="1e+21"} 5');
    expect(text).toContain("# HELP prom_text_seconds Labelled \\\\ and\\nnewline.");
    expect(text).not.toContain('k="gone"');
  });

  it("are left to prom-client with default labels and in OpenMetrics", async () => {
    const { hub } = await setup();
    const registry = hub.registry;
    expect(await ownText(registry, LABELLED.name)).toBeDefined();

    registry.setDefaultLabels({ zone: "z1" });
    expect(await ownText(registry, LABELLED.name)).toBeUndefined();
    const withDefaults = await registry.metrics();
    expect(withDefaults).toBe(await promClientMetrics(registry));
    expect(withDefaults).toContain('prom_text_seconds_bucket{le="0.1",zone="z1",route="/r1",code="ok"} 1');
    registry.setDefaultLabels({});

    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    expect(await ownText(registry, LABELLED.name)).toBeUndefined();
    registry.setContentType(Registry.PROMETHEUS_CONTENT_TYPE as never);
    expect(await ownText(registry, LABELLED.name)).toBeDefined();
  });

  it("are left to a registry method that writes something else than prom-client", async () => {
    const { hub } = await setup();
    const registry = hub.registry;
    let calls = 0;
    const other: MetricsAsString = async function (this: unknown, metric: unknown) {
      calls++;
      return (await promClientText.call(this, metric)).replaceAll("Nan", "NaN").replaceAll("+Inf", "Inf");
    };
    const metric = registry.getSingleMetric(LABELLED.name);
    expect(histogramPromText(registry, metric, other)).toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toBeGreaterThan(0);
    expect(histogramPromText(registry, metric, other)).toBeUndefined();
    // prom-client's own method passes the same check.
    expect(await ownText(registry, LABELLED.name)).toBeDefined();
  });
});
