/**
 * A sliced scrape writes worker histograms' lines straight from the hub's numbers (histogram-lines.ts):
 * the bytes must be those of the renderers over `getMetricsAsJSON()`, in every text format, for label
 * values that need escaping, number label values, negative bounds and sums, non-finite sums, exemplars,
 * unlabelled and native histograms, and series a reset left unexported.
 */
import { gunzipSync } from "node:zlib";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MetricsHub } from "../../../src/main/index.js";
import { HistogramLines } from "../../../src/main/serve/histogram-lines.js";
import { renderOpenMetrics } from "../../../src/main/serve/openmetrics.js";
import { scrape } from "../../../src/main/serve/scrape.js";
import type { FamilySnapshot } from "../../../src/main/serve/snapshot.js";
import { renderText } from "../../../src/main/serve/text-format.js";
import { Scripted } from "../../helpers/scripted.js";

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const LABELLED = { name: "lines_a_seconds", help: "Labelled.", labelNames: ["route", "code"], buckets: [0.1, 1, 10] };
const NEGATIVE = { name: "lines_negative", help: "Negative bounds.", labelNames: ["k"], buckets: [-1, 0, 1] };
const PLAIN = { name: "lines_plain_seconds", help: "Unlabelled.", buckets: [0.5, 2] };
const EXEMPLARS = { name: "lines_ex_seconds", help: "Exemplars.", labelNames: ["k"], buckets: [0.01, 0.1, 1], enableExemplars: true };
const NATIVE = { name: "lines_native_seconds", help: "Native.", labelNames: ["k"], buckets: [1, 5], nativeHistogramBucketFactor: 1.1 };
const RESET = { name: "lines_reset_seconds", help: "Reset.", labelNames: ["k"], buckets: [1] };

async function setup(): Promise<{ hub: MetricsHub; worker: Scripted }> {
  const hub = new MetricsHub({ registry: new Registry() });
  cleanups.push(() => hub.close());
  const worker = await Scripted.connected(hub.workerData, cleanups);
  const observe = worker.observe.bind(worker);
  // A reset leaves a series unexported until its next record.
  await observe(RESET, { k: "gone" }, 1);
  await observe(LABELLED, { route: "/before-reset", code: "x" }, 0.5);
  await hub.collect();
  hub.registry.resetMetrics();
  await observe(RESET, { k: "back" }, 0.5);
  // Values that need escaping, a number value, unicode; one series per page boundary and more.
  for (let i = 0; i < 70; i++) await observe(LABELLED, { route: `/r${i}`, code: i % 3 === 0 ? 200 : "ok" }, [0.05, 0.5, 5, 50], 4);
  await observe(LABELLED, { route: 'quote"back\\slash\nline', code: "é☃" }, 3);
  // Two finite observations whose sum is not finite.
  await observe(LABELLED, { route: "/inf", code: "x" }, 1e308, 2);
  await observe(LABELLED, { route: "/float", code: "x" }, [0.1, 0.2], 2);
  await observe(LABELLED, { route: "/negative", code: "x" }, -2, 3);
  // A positive sum: only the negative bound leaves it out of OpenMetrics.
  await observe(NEGATIVE, { k: "a" }, [-5, 0.5, 2, 3], 8);
  await observe(PLAIN, undefined, [0.1, 1, 3], 6);
  await observe(EXEMPLARS, { k: "plain" }, 0.05);
  await worker.ok("call", { kind: "histogram", config: EXEMPLARS, method: "observe", args: [{ labels: { k: "ex" }, value: 0.5, exemplarLabels: { trace_id: "abc" } }] });
  await worker.ok("call", { kind: "histogram", config: EXEMPLARS, method: "observe", args: [{ labels: { k: "ex" }, value: 0.005, exemplarLabels: { trace_id: 'q"' } }] });
  await observe(NATIVE, { k: "a" }, [0.3, 1.5, 7, 70], 4);
  await hub.collect();
  return { hub, worker };
}

const NAMES = [LABELLED, NEGATIVE, PLAIN, EXEMPLARS, NATIVE, RESET].map((config) => config.name);

/** The worker histograms' families (the hub's self-metrics change from one read to the next). */
async function families(hub: MetricsHub): Promise<FamilySnapshot[]> {
  const all = (await hub.registry.getMetricsAsJSON()) as unknown as FamilySnapshot[];
  return all.filter((family) => NAMES.includes(family.name));
}

describe("worker histogram lines written straight from the hub", () => {
  it("are the bytes the renderers write from getMetricsAsJSON(), in every text format", async () => {
    const { hub } = await setup();
    const source = { registry: hub.registry, hub, report: () => {} };
    const expected = await families(hub);
    // The hub's registry holds every histogram above.
    expect(expected.map((family) => family.name).sort()).toEqual([...NAMES].sort());
    const body = async (accept: string | undefined, createdSamples = false) =>
      (await scrape({ ...source, createdSamples }, { accept, acceptEncoding: undefined, names: NAMES })).body.toString("utf8");

    const text = await body(undefined);
    expect(text).toBe(renderText(expected));
    expect(text).toContain('lines_a_seconds_bucket{le="0.1",route="quote\\"back\\\\slash\\nline",code="é☃"} 0');
    expect(text).toContain('lines_a_seconds_sum{route="/inf",code="x"} +Inf');
    expect(text).toContain("lines_plain_seconds_count 6");
    expect(text).not.toContain('k="gone"');
    expect(text).not.toContain("/before-reset");
    expect(text).toContain('lines_reset_seconds_count{k="back"} 1');
    expect(await body("text/plain;version=1.0.0")).toBe(renderText(expected));

    const openMetrics = await body("application/openmetrics-text;version=1.0.0");
    expect(openMetrics).toBe(renderOpenMetrics(expected));
    expect(openMetrics).toContain('lines_ex_seconds_bucket{le="1.0",k="ex"} 2 # {trace_id="abc"} 0.5');
    expect(openMetrics).not.toContain('lines_a_seconds_sum{route="/negative"');
    expect(openMetrics).not.toContain("lines_negative_sum");
    const created = await body("application/openmetrics-text;version=1.0.0", true);
    expect(created).toBe(renderOpenMetrics(expected, { createdSamples: true }));
    expect(created).toMatch(/^lines_plain_seconds_created \d+(\.\d+)?$/m);
  });

  it("are the same bytes when the body outgrows the buffer the last body's size gave it", async () => {
    const { hub, worker } = await setup();
    const source = { registry: hub.registry, hub, report: () => {} };
    const only = [LABELLED.name];
    const render = async (accept: string | undefined) => (await scrape(source, { accept, acceptEncoding: undefined, names: only })).body.toString("utf8");
    const expected = async () => (await families(hub)).filter((family) => family.name === LABELLED.name);
    // Small bodies first: each format's next body starts in a buffer of about this size.
    await render(undefined);
    await render("application/openmetrics-text;version=1.0.0");
    // Then about 20 times as many series, some with labels of more than one UTF-8 byte per character.
    for (let i = 0; i < 1500; i++) await worker.ok("record", { kind: "histogram", config: LABELLED, labels: { route: `/grown/${i}`, code: i % 7 === 0 ? "ünïcødé" : String(i) }, value: i / 100 });
    await hub.collect();
    const text = await render(undefined);
    expect(text.length).toBeGreaterThan(20 * 16 * 1024);
    expect(text).toBe(renderText(await expected()));
    expect(text).toContain('lines_a_seconds_bucket{le="+Inf",route="/grown/994",code="ünïcødé"} 1');
    expect(await render("application/openmetrics-text;version=1.0.0")).toBe(renderOpenMetrics(await expected()));
  });

  it("leave dots escaping to the general path, with the same bytes", async () => {
    const { hub } = await setup();
    const source = { registry: hub.registry, hub, report: () => {} };
    const dots = (await scrape(source, { accept: "text/plain;version=1.0.0;escaping=dots", acceptEncoding: undefined, names: NAMES })).body.toString("utf8");
    expect(dots).toContain("lines__a__seconds_bucket{");
  });

  it("write a registry's default labels after each series' own, the bytes of the general path", async () => {
    const { hub } = await setup();
    const source = { registry: hub.registry, hub, report: () => {} };
    const written = vi.spyOn(HistogramLines.prototype, "write");
    const body = async (accept: string | undefined, createdSamples = false) =>
      (await scrape({ ...source, createdSamples }, { accept, acceptEncoding: undefined, names: NAMES })).body.toString("utf8");
    const check = async () => {
      const expected = await families(hub);
      expect(await body(undefined)).toBe(renderText(expected));
      expect(await body("application/openmetrics-text;version=1.0.0")).toBe(renderOpenMetrics(expected));
      expect(await body("application/openmetrics-text;version=1.0.0", true)).toBe(renderOpenMetrics(expected, { createdSamples: true }));
    };
    // Values that need escaping, beyond ASCII, and a number.
    hub.registry.setDefaultLabels({ zone: 'z"1\\', region: "ünï", shard: 7 });
    written.mockClear();
    await check();
    const text = await body(undefined);
    expect(text).toContain('lines_plain_seconds_bucket{le="0.5",zone="z\\"1\\\\",region="ünï",shard="7"} ');
    expect(text).toContain('lines_plain_seconds_count{zone="z\\"1\\\\",region="ünï",shard="7"} 6');
    expect(text).toContain('lines_a_seconds_sum{route="/inf",code="x",zone="z\\"1\\\\",region="ünï",shard="7"} +Inf');
    // Written straight from the hub's numbers.
    expect(written).toHaveBeenCalled();
    // A default label a metric has too fills in that metric's empty values in place: that metric goes
    // the general way, the others still straight.
    hub.registry.setDefaultLabels({ code: "dflt", zone: "z2" });
    written.mockClear();
    await check();
    const pages = written.mock.calls.flatMap(([page]) => page.map((series) => Object.keys(series.labels).join(",")));
    expect(pages).not.toContain("route,code");
    expect(pages).toContain("k");
    hub.registry.setDefaultLabels({});
  });

  it("keep every body right when a compressed scrape's buffer is reused by the renders after it", async () => {
    const { hub, worker } = await setup();
    const source = { registry: hub.registry, hub, report: () => {} };
    const request = (accept: string | undefined, gzip: boolean) => ({ accept, acceptEncoding: gzip ? "gzip" : undefined, names: NAMES });
    const text = (body: Buffer, gzip: boolean) => (gzip ? gunzipSync(body) : body).toString("utf8");
    // Alternate formats and encodings, with records between scrapes: each body is its own state's.
    const plain = await scrape(source, request(undefined, false));
    for (let round = 0; round < 3; round++) {
      const zipped = await scrape(source, request(undefined, true));
      expect(zipped.headers["Content-Encoding"]).toBe("gzip");
      expect(text(zipped.body, true)).toBe(renderText(await families(hub)));
      const openMetrics = await scrape(source, request("application/openmetrics-text;version=1.0.0", true));
      expect(text(openMetrics.body, true)).toBe(renderOpenMetrics(await families(hub)));
      const unzipped = await scrape(source, request(undefined, false));
      expect(text(unzipped.body, false)).toBe(renderText(await families(hub)));
      await worker.ok("record", { kind: "histogram", config: PLAIN, value: 0.25, count: 1 + round });
      await hub.collect();
      // A body sent uncompressed is never reused: the first one is still what it was.
      expect(text(unzipped.body, false)).not.toBe(renderText(await families(hub)));
    }
    expect(text(plain.body, false)).toContain("lines_plain_seconds_count 6\n");
  });
});
