/**
 * The label values a hub keeps for its series are not in V8's string table. Declarations arrive as JSON,
 * and JSON.parse puts short string values there; a full collection walks the whole table twice inside its
 * pause, so 100,000 kept series made it 2.2 ms longer (docs/design.md). The check uses V8's own predicate,
 * enabled for this process only.
 */
import { setFlagsFromString } from "node:v8";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { Scripted } from "../helpers/scripted.js";

setFlagsFromString("--allow-natives-syntax");
const isInternalized = new Function("text", "return %IsInternalizedString(text)") as (text: string) => boolean;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe("label values kept by the hub", () => {
  it("the predicate tells a string JSON.parse internalized from a copy", () => {
    const parsed = (JSON.parse('{"id":"s123"}') as { id: string }).id;
    expect(isInternalized(parsed)).toBe(true);
    expect(isInternalized(` ${parsed}`.slice(1))).toBe(false);
  });

  it("are not internalized, for histograms and counters, one label or several", async () => {
    const hub = new MetricsHub({ registry: new Registry() });
    cleanups.push(() => hub.close());
    const worker = await Scripted.connected(hub.workerData, cleanups);
    await worker.observe({ name: "own_one_seconds", help: "h", labelNames: ["id"] }, { id: "s42" }, 0.1);
    await worker.observe({ name: "own_two_seconds", help: "h", labelNames: ["route", "code"] }, { route: "/a", code: "200" }, 0.1);
    await worker.ok("record", { kind: "counter", config: { name: "own_total", help: "c", labelNames: ["id"] }, labels: { id: "k7" } });
    // A number label value stays a number (as prom-client keeps it).
    await worker.ok("record", { kind: "counter", config: { name: "own_numbers_total", help: "c", labelNames: ["status"] }, labels: { status: 503 } });
    const text = await hub.registry.metrics();
    expect(text).toContain('own_one_seconds_count{id="s42"} 1');
    expect(text).toContain('own_total{id="k7"} 1');

    const labelsOf = async (name: string) => (await hub.registry.getSingleMetric(name)?.get())?.values[0]?.labels as Record<string, string | number>;
    const kept = [(await labelsOf("own_one_seconds")).id, (await labelsOf("own_two_seconds")).route, (await labelsOf("own_two_seconds")).code, (await labelsOf("own_total")).id];
    expect(kept).toEqual(["s42", "/a", "200", "k7"]);
    for (const value of kept) expect(isInternalized(value as string), String(value)).toBe(false);
    expect((await labelsOf("own_numbers_total")).status).toBe(503);
  });
});
