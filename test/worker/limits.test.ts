/** Size limits: each one throws at the call that breaks it, with a stable code and a message naming the limit. */
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { ErrorCodes } from "../../src/shared/api/errors.js";
import { kMaxHelpBytes, kMaxLabelNames, kMaxLabelValueBytes, kMaxMetricDeclarationBytes } from "../../src/shared/model/limits.js";
import { Counter, Histogram } from "../../src/worker/index.js";
import { samples } from "../helpers/exposition.js";
import { Scripted } from "../helpers/scripted.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function throwsWith(fn: () => unknown, code: string, mentions: string): void {
  expect(fn).toThrow(expect.objectContaining({ code, message: expect.stringContaining(mentions) }));
}

describe("limits checked in the metric's constructor (ConfigurationError, ERR_PROM_THREADS_INVALID_OPTION)", () => {
  it(`help text longer than ${kMaxHelpBytes} UTF-8 bytes`, () => {
    expect(() => new Counter({ name: "ok_total", help: "x".repeat(kMaxHelpBytes) })).not.toThrow();
    throwsWith(() => new Counter({ name: "long_help_total", help: "x".repeat(kMaxHelpBytes + 1) }), ErrorCodes.INVALID_OPTION, `${kMaxHelpBytes} bytes`);
    // Bytes, not characters: 513 two-byte characters are 1026 bytes.
    throwsWith(() => new Counter({ name: "wide_help_total", help: "é".repeat(513) }), ErrorCodes.INVALID_OPTION, "wide_help_total");
  });

  it(`more than ${kMaxLabelNames} label names`, () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `l${i}`);
    expect(() => new Counter({ name: "many_ok_total", help: "h", labelNames: names(kMaxLabelNames) })).not.toThrow();
    throwsWith(() => new Counter({ name: "many_total", help: "h", labelNames: names(kMaxLabelNames + 1) }), ErrorCodes.INVALID_OPTION, `at most ${kMaxLabelNames}`);
  });

  it(`a declaration (buckets, help, names) larger than ${kMaxMetricDeclarationBytes} bytes`, () => {
    const buckets = (n: number) => Array.from({ length: n }, (_, i) => (i + 1) / 1000);
    expect(() => new Histogram({ name: "fine_seconds", help: "h", buckets: buckets(100) })).not.toThrow();
    // 300 bounds (under kMaxBuckets) of about 18 characters each: too large a declaration.
    const long = Array.from({ length: 300 }, (_, i) => (i + 1) / 7);
    throwsWith(() => new Histogram({ name: "fine_grained_seconds", help: "h", buckets: long }), ErrorCodes.INVALID_OPTION, "fine_grained_seconds");
    throwsWith(() => new Histogram({ name: "fine_grained_seconds", help: "h", buckets: long }), ErrorCodes.INVALID_OPTION, `at most ${kMaxMetricDeclarationBytes}`);
  });
});

describe("limits checked when a label set is created (RecordingError)", () => {
  const config = { name: "wide_total", help: "h", labelNames: ["a", "b", "c", "d", "e", "f", "g", "h"] };
  const wide = Array.from({ length: 8 }, (_, i) => String(i).repeat(kMaxLabelValueBytes));

  it("a label set larger than the hub's ring takes throws ERR_PROM_THREADS_DECLARATION_TOO_LARGE at the call", async () => {
    const registry = new Registry();
    // A 16 KiB ring takes declarations of at most 4 KiB; 8 values of 1 KiB do not fit.
    const hub = new MetricsHub({ registry, ringBytes: 16 * 1024 });
    cleanup.push(() => hub.close());
    const w = await Scripted.start({ workerData: hub.workerData });
    cleanup.push(() => w.worker.terminate());
    const reply = await w.run("call", { kind: "counter", config, method: "inc", args: [], child: wide });
    expect(reply).toMatchObject({ ok: false, code: ErrorCodes.DECLARATION_TOO_LARGE });
    expect(reply.message).toContain("ringBytes");
    expect(reply.message).toMatch(/^Metric "wide_total": a label set encodes to \d+ bytes/);
    // The thread and its ring keep working; a label set that fits is recorded.
    await w.ok("call", { kind: "counter", config, method: "inc", args: [2], child: ["a", "b", "c", "d", "e", "f", "g", "h"] });
    const all = samples(await registry.metrics());
    expect(all.get('wide_total{a="a",b="b",c="c",d="d",e="e",f="f",g="g",h="h"}')).toBe(2);
    expect(all.get('prom_threads_records_dropped_total{reason="malformed"}')).toBe(0);
  });

  it("the same label set fits the default ring", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    cleanup.push(() => hub.close());
    const w = await Scripted.start({ workerData: hub.workerData });
    cleanup.push(() => w.worker.terminate());
    await w.ok("call", { kind: "counter", config, method: "inc", args: [3], child: wide });
    const all = samples(await registry.metrics());
    expect([...all.entries()].find(([k]) => k.startsWith("wide_total{"))?.[1]).toBe(3);
  });

  it("a label set created before connect() that the hub's ring cannot take makes connect() throw, and leaves the thread unconnected", async () => {
    const hub = new MetricsHub({ registry: new Registry(), ringBytes: 16 * 1024 });
    cleanup.push(() => hub.close());
    const w = await Scripted.start();
    cleanup.push(() => w.worker.terminate());
    // 16 values of 1 KiB: larger than the whole 16 KiB ring. Written anyway, the reader would wait
    // forever for the rest of a declaration that can never fit, and the ring would be stuck.
    const huge = { name: "huge_total", help: "h", labelNames: Array.from({ length: 16 }, (_, i) => `l${i}`) };
    const values = Array.from({ length: 16 }, (_, i) => String(i % 10).repeat(kMaxLabelValueBytes));
    await w.ok("call", { kind: "counter", config: huge, method: "labels", args: values });
    const reply = await w.run("connect", { handle: hub.handle });
    expect(reply).toMatchObject({ ok: false, code: ErrorCodes.DECLARATION_TOO_LARGE });
    expect(reply.message).toMatch(/^Metric "huge_total": a label set encodes to \d+ bytes/);
    expect(await w.ok("isConnected")).toBe(false);
    expect(hub.stats().workersConnected).toBe(0);
  });
});
