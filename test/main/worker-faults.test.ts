/**
 * Every way a worker can die: terminate() while writing, an uncaught error, process.exit(), a piscina task
 * aborted by its AbortSignal, the resourceLimits heap limit. Each worker records the sequence 1, 2, 3, ...
 * (see sequence-writer.mjs), so the totals prove which records arrived; the next owner of the one slot
 * records its own series, proving the ring is clean and no series is mixed up.
 */
import type { Worker } from "node:worker_threads";
import { Piscina } from "piscina";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { MonotonicityWatch, sequenceView, triangular } from "../helpers/faults.js";
import { exited, fixture, sleep, startWorker, waitFor } from "../helpers/workers.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function scrapeLoop(registry: Registry, watch: MonotonicityWatch): Promise<() => Promise<void>> {
  let running = true;
  const loop = (async () => {
    while (running) {
      watch.observe(await registry.metrics());
      await sleep(10);
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

type Kind = "terminate" | "throw" | "exit" | "oom" | "abort";

/** Start writer A the way `kind` needs, and return a function that kills it and resolves after its death. */
function startVictim(kind: Kind, hub: MetricsHub, returned: SharedArrayBuffer): { kill: () => Promise<void> } {
  // stopAt bounds the sequence (200,000 records, below the spill bound) however slowly this thread drains.
  const task = { returned, index: 0, label: "a", stopAt: 100_001 };
  if (kind === "abort") {
    const pool = new Piscina({ filename: fixture("sequence-writer.mjs").href, workerData: hub.workerData, maxThreads: 1, minThreads: 0 });
    hub.attach(pool);
    cleanup.push(() => pool.destroy());
    const controller = new AbortController();
    const result = pool.run(task, { signal: controller.signal }).catch((error: Error) => error);
    return {
      kill: async () => {
        const thread = pool.threads[0] as Worker;
        const gone = exited(thread);
        controller.abort();
        expect(await result).toMatchObject({ name: "AbortError" });
        await gone;
      },
    };
  }
  const die = kind === "terminate" ? undefined : { kind, at: 5001 };
  const worker = startWorker("sequence-writer.mjs", {
    workerData: { ...hub.workerData, ...task, die },
    ...(kind === "oom" ? { resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 } } : {}),
  });
  hub.attach(worker);
  worker.on("error", () => {}); // throw and oom end with an error event; the test checks the exit
  cleanup.push(() => worker.terminate());
  return {
    kill: async () => {
      if (kind === "terminate") await worker.terminate();
      await exited(worker);
    },
  };
}

describe.each(["terminate", "throw", "exit", "oom", "abort"] as Kind[])("a worker that dies by %s", (kind) => {
  it("keeps everything it published, accounts for the rest, drops its gauge, and leaves a clean ring", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, maxWorkers: 1, ringBytes: 16 * 1024 });
    cleanup.push(() => hub.close());
    const watch = new MonotonicityWatch();
    const stopScraping = await scrapeLoop(registry, watch);
    const returned = new SharedArrayBuffer(16);
    const calls = new Int32Array(returned);

    const victim = startVictim(kind, hub, returned);
    // Let it write a while: the sequence dies at 5001 by itself, or is killed somewhere past 5000.
    expect(await waitFor(() => Atomics.load(calls, 0) >= 5000, 20_000)).toBe(true);
    await victim.kill();
    await hub.collect();
    const afterDeath = watch.observe(await registry.metrics());
    const a = sequenceView(afterDeath, "a");
    const lost = afterDeath.get('prom_threads_records_dropped_total{reason="worker_exit"}') ?? 0;
    const iterations = Atomics.load(calls, 0);

    // Whatever arrived is a prefix of the sequence (T(k)), in the counter and in the histogram alike.
    expect(a.counted).toBeGreaterThanOrEqual(0);
    expect(a.sum).toBe(triangular(a.observed));
    expect(a.bucketsConsistent).toBe(true);
    // Records go inc(i), observe(i), inc(i+1), ...: a prefix ends after either call of an iteration.
    expect(a.counted - a.observed).toBeGreaterThanOrEqual(0);
    expect(a.counted - a.observed).toBeLessThanOrEqual(1);
    // Every returned call is counted or counted as lost; at most one unfinished iteration more.
    const accounted = a.counted + a.observed + lost;
    if (kind === "throw" || kind === "exit" || kind === "oom") {
      // These deaths happen between iterations, at 5001: nothing is in flight, accounting is exact.
      expect(iterations).toBe(5000);
      expect(accounted).toBe(2 * iterations);
    } else {
      expect(accounted).toBeGreaterThanOrEqual(2 * iterations);
      expect(accounted).toBeLessThanOrEqual(2 * iterations + 2);
    }
    expect(afterDeath.has("seq_live")).toBe(false);
    expect(afterDeath.get("prom_threads_workers_connected")).toBe(0);

    // The next owner of the only slot: its series are its own, and the dead worker's stay as they were.
    const next = startWorker("sequence-writer.mjs", { workerData: { ...hub.workerData, returned, index: 1, label: "b", die: { kind: "idle", at: 3001, doneIndex: 2 } } });
    cleanup.push(() => next.terminate());
    expect(await waitFor(() => Atomics.load(calls, 2) === 1, 20_000)).toBe(true);
    expect(Atomics.load(calls, 1)).toBe(3000);
    await hub.collect();
    const withNext = watch.observe(await registry.metrics());
    expect(sequenceView(withNext, "b")).toEqual({ counted: 3000, observed: 3000, sum: triangular(3000), bucketsConsistent: true });
    expect(sequenceView(withNext, "a")).toEqual(a);
    expect(withNext.get("seq_live")).toBe(1);
    expect(withNext.get('prom_threads_records_dropped_total{reason="malformed"}')).toBe(0);
    expect(withNext.get('prom_threads_records_dropped_total{reason="no_slot"}')).toBe(0);
    await stopScraping();
    expect(watch.decreases).toEqual([]);
    expect(watch.renders).toBeGreaterThan(2);
  });
});
