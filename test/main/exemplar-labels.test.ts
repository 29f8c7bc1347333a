/**
 * The label sets an exemplar may carry, end to end: a real worker thread records them (through the
 * latest-exemplar table when they fit an entry, through the ring when they do not) and the hub exports
 * exactly what was given, or the call throws ERR_PROM_THREADS_INVALID_LABELS and records nothing.
 */
import { Registry } from "prom-client";
import type { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { kExTextUnits } from "../../src/shared/transport/layout.js";
import { nextMessage, startWorker } from "../helpers/workers.js";

interface Sample {
  value: number;
  exemplar?: { labelSet: Record<string, string>; value: number } | null;
}

let registry: Registry;
let hub: MetricsHub;
let worker: Worker;
let total = 0;

beforeAll(async () => {
  registry = new Registry();
  hub = new MetricsHub({ registry });
  worker = startWorker("exemplar-labels.mjs", { workerData: hub.workerData });
  await nextMessage(worker);
});
afterAll(async () => {
  await worker.terminate();
  await hub.close();
});

async function record(exemplarLabels: unknown, value = 1): Promise<{ done?: boolean; code?: string; message?: string }> {
  worker.postMessage({ exemplarLabels, value });
  return nextMessage(worker);
}

async function sample(): Promise<Sample | undefined> {
  const json = (await registry.getMetricsAsJSON()) as unknown as Array<{ name: string; values: Sample[] }>;
  return json.find((f) => f.name === "exl_total")?.values[0];
}

/** Record `exemplarLabels` and expect the counter to export them, with the value recorded. */
async function exported(exemplarLabels: Record<string, string | number>, labelSet: Record<string, string>): Promise<void> {
  expect(await record(exemplarLabels, 2)).toEqual({ done: true });
  total += 2;
  const got = await sample();
  expect(got?.value).toBe(total);
  expect(got?.exemplar?.labelSet).toEqual(labelSet);
  expect(got?.exemplar?.value).toBe(2);
}

describe("exemplar label sets", () => {
  it("exports non-ASCII names' values exactly: accents, CJK, astral characters, from a table entry", async () => {
    const labels = { trace_id: "ünïcödé-追踪-😀🚀", span_id: "ß\u00a0\u2028x" };
    // Short enough for a table entry (counted in UTF-16 units).
    expect(Object.entries(labels).reduce((n, [k, v]) => n + k.length + 2 + v.length, 0)).toBeLessThanOrEqual(kExTextUnits);
    await exported(labels, labels);
  });

  it("exports numbers as values in their string form", async () => {
    await exported({ trace_id: 12345, span_id: 0.5, n: -7 }, { trace_id: "12345", span_id: "0.5", n: "-7" });
  });

  it("accepts exactly 128 characters (names and values, counted in code points), also where they take more UTF-16 units than an entry holds", async () => {
    // 8 + 120 = 128 ASCII characters: more units than an entry holds, so it travels through the ring.
    await exported({ trace_id: "a".repeat(120) }, { trace_id: "a".repeat(120) });
    // 1 + 127 = 128 code points, 255 UTF-16 units (astral characters are two units each).
    const astral = "😀".repeat(127);
    await exported({ t: astral }, { t: astral });
    // A 32-hex trace id and a 16-hex span id: 8 + 32 + 7 + 16 = 63, from a table entry.
    await exported({ trace_id: "4bf92f3577b34da6a3ce929d0e0e4736", span_id: "00f067aa0ba902b7" }, { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736", span_id: "00f067aa0ba902b7" });
  });

  it("refuses 129 characters with ERR_PROM_THREADS_INVALID_LABELS and records nothing, the value included", async () => {
    const before = await sample();
    for (const labels of [{ trace_id: "a".repeat(121) }, { t: "😀".repeat(128) }, { t: `${"😀".repeat(127)}x` }]) {
      const answer = await record(labels);
      expect(answer.code).toBe("ERR_PROM_THREADS_INVALID_LABELS");
      expect(answer.message).toContain("129 characters");
    }
    const after = await sample();
    expect(after?.value).toBe(before?.value);
    expect(after?.exemplar?.labelSet).toEqual(before?.exemplar?.labelSet);
  });

  it("refuses a bad name or a value that is neither a string nor a number, and records nothing", async () => {
    const before = await sample();
    for (const labels of [{ "trace-id": "x" }, { trace_id: true }, { trace_id: null }, { trace_id: { id: 1 } }]) {
      expect((await record(labels)).code).toBe("ERR_PROM_THREADS_INVALID_LABELS");
    }
    expect((await sample())?.value).toBe(before?.value);
  });

  it("an empty label set records the value and keeps the exemplar there was", async () => {
    const before = await sample();
    expect(await record({}, 3)).toEqual({ done: true });
    total += 3;
    const after = await sample();
    expect(after?.value).toBe(total);
    expect(after?.exemplar?.labelSet).toEqual(before?.exemplar?.labelSet);
  });
});
