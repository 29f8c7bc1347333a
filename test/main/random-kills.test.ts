/**
 * 200 workers terminated at random moments, four at a time on four slots (so every ring is reused many
 * times, and its indices wrap past 2^32), while the main thread now and then stalls (so rings fill and
 * records wait in the overflow).
 * Each worker records the sequence 1, 2, 3, ... under its own label; afterwards every worker's totals
 * must be a prefix of its sequence, and the prefix plus what the hub counted as lost with it must match
 * the calls that returned, give or take the one iteration that may have been in flight.
 */
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { MonotonicityWatch, sequenceView, triangular } from "../helpers/faults.js";
import { exited, sleep, startWorker, waitFor } from "../helpers/workers.js";

/** mulberry32: a failing run can be replayed with PROM_THREADS_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe("random kills", () => {
  it("200 terminations at random moments: every worker's totals are a prefix, every loss is counted", async () => {
    const seed = Number(process.env.PROM_THREADS_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    const kills = 200;
    const concurrency = 4;
    const registry = new Registry();
    // Ring indices start just below 2^32: every ring wraps early in the run, under kills and spills.
    const hub = new MetricsHub({ registry, maxWorkers: concurrency, ringBytes: 16 * 1024, ringStartIndex: 2 ** 32 - 20_000 });
    const returned = new SharedArrayBuffer(4 * kills);
    const calls = new Int32Array(returned);
    const lost = new Array<number>(kills).fill(0);
    let lostSeen = 0;
    const watch = new MonotonicityWatch();
    let killedWithOverflow = 0;
    let scraping = true;
    const scraper = (async () => {
      while (scraping) {
        watch.observe(await registry.metrics());
        await sleep(15);
      }
    })();

    const life = async (n: number): Promise<void> => {
      const worker = startWorker("sequence-writer.mjs", { workerData: { ...hub.workerData, returned, index: n, label: `w${n}`, stopAt: 100_001 } });
      hub.attach(worker);
      // Registered after the hub's own exit listener, which releases the slot and counts what died with
      // the worker: the growth of worker_exit since the previous death is this worker's loss.
      worker.once("exit", () => {
        const now = hub.stats().recordsDropped.worker_exit;
        lost[n] = now - lostSeen;
        lostSeen = now;
      });
      if (random() < 0.5) await sleep(random() * 40);
      else await waitFor(() => Atomics.load(calls, n) >= Math.floor(random() * 20_000), 10_000);
      // Sometimes stall this thread first, so the worker's ring fills and it goes on in its overflow.
      if (random() < 0.3) busy(random() * 10);
      if (hub.stats().overflowRecords > 0) killedWithOverflow++;
      await worker.terminate();
      await exited(worker);
    };

    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < kills) await life(next++);
      }),
    );
    scraping = false;
    await scraper;
    await hub.collect();
    const all = watch.observe(await registry.metrics());

    const problems: string[] = [];
    for (let n = 0; n < kills; n++) {
      const view = sequenceView(all, `w${n}`);
      const iterations = Atomics.load(calls, n);
      const accounted = view.counted + view.observed + (lost[n] as number);
      const ok =
        view.counted >= 0 &&
        view.counted - view.observed >= 0 &&
        view.counted - view.observed <= 1 &&
        view.sum === triangular(view.observed) &&
        view.bucketsConsistent &&
        accounted >= 2 * iterations &&
        accounted <= 2 * iterations + 2;
      if (!ok) problems.push(`w${n}: ${JSON.stringify({ ...view, iterations, lost: lost[n] })}`);
    }
    // A writer stops after 100,000 iterations (200,000 records), far below the default overflow bound,
    // so nothing is dropped as ring_full however slowly this thread drains, and each worker's records are
    // counted (every record is in shared memory when its call returns), bar the one call in flight.
    expect(all.get('prom_threads_records_dropped_total{reason="ring_full"}'), `seed ${seed}`).toBe(0);
    expect(problems, `seed ${seed}`).toEqual([]);
    // No series other than the writers' own labels, no live gauge left, nothing malformed.
    const labels = [...all.keys()].filter((k) => k.startsWith("seq_total{")).map((k) => /w="([^"]*)"/.exec(k)?.[1]);
    expect(labels.every((l) => l !== undefined && /^w\d+$/.test(l) && Number(l.slice(1)) < kills)).toBe(true);
    expect(all.has("seq_live")).toBe(false);
    expect(all.get('prom_threads_records_dropped_total{reason="malformed"}')).toBe(0);
    expect(all.get('prom_threads_records_dropped_total{reason="no_slot"}')).toBe(0);
    expect(all.get('prom_threads_records_dropped_total{reason="worker_exit"}')).toBe(0);
    expect(lost.every((l) => l === 0)).toBe(true);
    expect(watch.decreases, `seed ${seed}`).toEqual([]);
    // The run really killed workers while records waited in their overflow.
    expect(killedWithOverflow, `seed ${seed}`).toBeGreaterThan(0);
    await hub.close();
  });
});
