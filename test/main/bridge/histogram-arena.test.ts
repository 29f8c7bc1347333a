/**
 * The hub's histogram arena: every classic histogram series' counts side by side in one array that grows
 * in place, so the drain reads one array; past its bound, series get blocks of their own and are still
 * counted exactly (through their bindings). A real worker records; the hub drains and scrapes.
 */
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { HistogramArena, HistogramCounts, histogramArenaDefaults } from "../../../src/main/bridge/binding.js";
import { MetricsHub } from "../../../src/main/index.js";
import { samples } from "../../helpers/exposition.js";
import { nextMessage, startSlicedRecorder } from "../../helpers/workers.js";

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe("the histogram arena", () => {
  it("grows in place: numbers written through a view handed out before a growth are the arena's", () => {
    const arena = new HistogramArena();
    const first = arena.take(14);
    expect(first).toBeDefined();
    const places = [first as { counts: Float64Array; base: number }];
    // Past the first 8,192 numbers: the arena grows, more than once.
    for (let i = 1; i < 2000; i++) places.push(arena.take(14) as { counts: Float64Array; base: number });
    expect(arena.view.length).toBeGreaterThanOrEqual(2000 * 14);
    for (const [i, { counts, base }] of places.entries()) {
      expect(arena.holds(counts)).toBe(true);
      counts[base + 13] = i + 0.5;
    }
    for (const [i, { base }] of places.entries()) expect(arena.view[base + 13]).toBe(i + 0.5);
    // Series side by side, none overlapping.
    expect(new Set(places.map((place) => place.base)).size).toBe(places.length);
    expect(places.at(-1)?.base).toBe(1999 * 14);
  });

  it("is full at its bound; a histogram's next series get blocks of their own", () => {
    const arena = new HistogramArena(3 * 14);
    const counts = new HistogramCounts(12, arena);
    const inArena = [counts.take(), counts.take(), counts.take()];
    for (const place of inArena) expect(arena.holds(place.counts)).toBe(true);
    const outside = counts.take();
    expect(arena.holds(outside.counts)).toBe(false);
    expect(outside.counts.length).toBeGreaterThanOrEqual(14);
    expect(arena.take(14)).toBeUndefined();
  });
});

describe("a hub whose histogram arena is full", () => {
  it("counts the series that did not fit exactly, beside those that did", async () => {
    const saved = histogramArenaDefaults.maxNumbers;
    // Room for 10 series of the fixture's 12-bucket histogram (14 numbers each); it has 40.
    histogramArenaDefaults.maxNumbers = 10 * 14;
    const registry = new Registry();
    let hub: MetricsHub;
    try {
      hub = new MetricsHub({ registry });
    } finally {
      histogramArenaDefaults.maxNumbers = saved;
    }
    cleanups.push(() => hub.close());
    const series = 40;
    const worker = await startSlicedRecorder(hub, series, (step) => cleanups.push(step));
    worker.postMessage({ op: "rounds", rounds: 3 });
    for (;;) if ((await nextMessage(worker)) === "done") break;
    const all = samples(await registry.metrics());
    for (let i = 0; i < series; i++) {
      const id = `id="s${i}"`;
      expect(all.get(`sliced_seconds_count{${id}}`), id).toBe(4);
      expect(all.get(`sliced_seconds_sum{${id}}`), id).toBe(4);
      expect(all.get(`sliced_seconds_bucket{le="1",${id}}`), id).toBe(4);
      expect(all.get(`sliced_seconds_bucket{le="0.5",${id}}`), id).toBe(0);
    }
    expect(Object.values(hub.stats().recordsDropped).reduce((sum, n) => sum + n, 0)).toBe(0);
  });
});
