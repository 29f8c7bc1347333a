// The churn/soak driver: piscina pools with idle-timeout churn run the tasks of task.mjs, some of which
// crash their worker in one of five ways (uncaught error, process.exit(), heap limit, terminate() from
// here, AbortSignal), while a scraper renders the registry every `scrapeIntervalMs` and checks that no
// counter ever goes down. At the end it reconciles every observation call with what the hub shows.
//
// Why the accounting is exact
// ---------------------------
// Every observation call of a task stores "started" before the call and "returned" or "rejected" after it,
// in the task's words of a SharedArrayBuffer (task.mjs). The words are read only after the pool that ran
// the tasks is destroyed, so every thread that could write them is dead and the values are final.
//  - A task that completed has started = returned + rejected, exactly (piscina's result says the same,
//    and the driver checks that it does).
//  - A task whose worker was killed may have one call in flight: started = returned + rejected + 1. That
//    call's record may have been published or not; nothing else is
//    uncertain. Deaths by uncaught error, process.exit() and the heap limit happen between calls (the task
//    crashes itself at a chosen call), so only terminate() and abort can leave a call in flight.
// The hub counts each record once: applied (counted) or dropped, by reason (ring_full, worker_exit,
// no_slot, removed_series, ...). So, summed over all tasks:
//     returned <= counted + dropped <= returned + inFlight
// and "attempted = counted + dropped + rejected" holds exactly up to the in-flight calls of killed tasks,
// which the task words identify: unresolved = attempted - (counted + dropped + rejected), 0 <= unresolved
// <= inFlight. Completed tasks contribute no uncertainty at all.
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import { Piscina } from "piscina";
import { Registry } from "prom-client";
import { MetricsHub } from "../../dist/main/index.js";

const TASK = new URL("./task.mjs", import.meta.url).href;
const FIREHOSE = new URL("./firehose.mjs", import.meta.url);
export const CRASH_KINDS = ["throw", "exit", "oom", "terminate", "abort"];

/** mulberry32: the whole run follows from its seed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Parse a text exposition into { types: Map<name, type>, samples: Map<key, value> }. */
function parse(text) {
  const types = new Map();
  const samples = new Map();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (m) types.set(m[1], m[2]);
      continue;
    }
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return { types, samples };
}

/** Counts decreases of counter-like samples (counters, histogram and summary _count/_sum/_bucket) across renders. */
class Monotonicity {
  last = new Map();
  decreases = [];
  check(text) {
    const { types, samples } = parse(text);
    for (const [key, value] of samples) {
      const name = key.replace(/\{.*$/, "");
      const family = name.replace(/_(bucket|count|sum)$/, "");
      const type = types.get(name) ?? types.get(family);
      if (type !== "counter" && type !== "histogram" && type !== "summary") continue;
      if (key.includes("quantile=")) continue;
      const last = this.last.get(key);
      if (last !== undefined && value < last) this.decreases.push(`${key}: ${last} -> ${value}`);
      this.last.set(key, value);
    }
    return samples;
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/**
 * Run the workload until `tasks` tasks ran or `durationMs` passed, whichever is set (both: the first).
 * @param {import("./workload.d.mts").WorkloadOptions} options
 * @returns {Promise<import("./workload.d.mts").WorkloadReport>}
 */
export async function runWorkload(options = {}) {
  const {
    tasks = Infinity,
    durationMs = Infinity,
    seed = Date.now() % 1_000_000,
    crashRate = 0.01,
    maxThreads = 2,
    idleTimeoutMs = 20,
    waveSize = 200,
    epochTasks = 5000,
    scrapeIntervalMs = 50,
    progressIntervalMs = 5000,
    onProgress = () => {},
    simulateLoss = false,
    stallEveryMs = 0,
    stallMs = 0,
    overflowRecords,
    firehose = false,
  } = options;
  if (tasks === Infinity && durationMs === Infinity) throw new Error("runWorkload needs tasks or durationMs");
  const random = prng(seed);
  const started = performance.now();
  const deadline = started + durationMs;
  const registry = new Registry();
  const hub = new MetricsHub({ registry, ...(overflowRecords !== undefined ? { overflowRecords } : {}) });
  const errors = new Map();
  hub.on("error", (error) => errors.set(error.code, (errors.get(error.code) ?? 0) + 1));

  const totals = { attempted: 0, returned: 0, rejected: 0, inFlight: 0, tasks: 0, completed: 0, resultMismatches: 0 };
  const crashes = Object.fromEntries(CRASH_KINDS.map((k) => [k, 0]));
  const watch = new Monotonicity();
  const scrapeMs = [];
  let maxRss = process.memoryUsage().rss;
  let scraping = true;
  const scraper = (async () => {
    while (scraping) {
      const t0 = performance.now();
      const text = await registry.metrics();
      scrapeMs.push(performance.now() - t0);
      watch.check(text);
      await sleep(scrapeIntervalMs);
    }
  })();
  // The firehose records without pause, whatever this thread does; it stops between calls when told.
  const hose = firehose ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
  const hoseWorker = hose ? new Worker(FIREHOSE, { workerData: { ...hub.workerData, control: hose.buffer } }) : undefined;
  if (hoseWorker) hub.attach(hoseWorker);
  const hoseCounts = hoseWorker ? new Promise((resolve) => hoseWorker.once("message", resolve)) : Promise.resolve();
  const hoseExited = hoseWorker ? new Promise((resolve) => hoseWorker.once("exit", resolve)) : Promise.resolve();
  // Stalls: this thread busy-waits now and then, so rings fill, records wait in overflows (where the hub
  // still reads them after their worker is killed), and past the overflow bound are dropped as ring_full.
  let stalls = 0;
  const stall =
    stallEveryMs > 0
      ? setInterval(() => {
          stalls++;
          const end = performance.now() + stallMs;
          while (performance.now() < end);
        }, stallEveryMs)
      : undefined;
  const progress = setInterval(() => {
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
    const stats = hub.stats();
    onProgress({
      elapsedMs: performance.now() - started,
      tasks: totals.tasks,
      crashes: { ...crashes },
      counted: stats.recordsDrained,
      dropped: stats.recordsDropped,
      scrapes: scrapeMs.length,
      scrapeP99Ms: percentile([...scrapeMs].sort((a, b) => a - b), 0.99),
      rssMiB: maxRss / 2 ** 20,
      decreases: watch.decreases.length,
    });
  }, progressIntervalMs);

  const more = () => totals.tasks < tasks && performance.now() < deadline;
  try {
    while (more()) {
      // One pool per epoch: destroying it is what makes its tasks' words final (every writer is dead).
      const pool = new Piscina({
        filename: TASK,
        workerData: hub.workerData,
        minThreads: 0,
        maxThreads,
        idleTimeout: idleTimeoutMs,
        resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 },
      });
      pool.on("error", () => {}); // a crashed worker's error also rejects its task, which is handled
      // wrapTasks: false keeps the pool's own task metrics out of the records this report reconciles.
      const detach = hub.attach(pool, { wrapTasks: false });
      // Workaround for piscina 5.3.2: with minThreads 0, when every worker dies by process.exit() while
      // tasks wait in the queue, the pool never starts a new worker for them. Any run() does; a no-op
      // task kicks it (it records nothing, so it changes no count).
      const kick = setInterval(() => {
        if (pool.queueSize > 0 && pool.threads.length === 0) pool.run({ noop: true }).catch(() => {});
      }, 50);
      const slots = new SharedArrayBuffer(epochTasks * 16);
      const words = new Int32Array(slots);
      let used = 0;
      while (used < epochTasks && more()) {
        const wave = Math.min(waveSize, epochTasks - used, tasks - totals.tasks);
        const runs = [];
        for (let w = 0; w < wave; w++) runs.push(runOne(pool, slots, words, used++, totals.tasks++));
        await Promise.all(runs);
        // Every other wave, stay idle past idleTimeout: the pool destroys its workers, and creates new ones.
        if (random() < 0.5) await sleep(idleTimeoutMs * 3);
      }
      clearInterval(kick);
      await pool.destroy();
      detach(); // the hub would otherwise keep following (and holding) every destroyed pool
      for (let slot = 0; slot < used; slot++) {
        const base = slot * 4;
        const s = words[base];
        const ok = words[base + 1];
        const rejected = words[base + 2];
        totals.attempted += s;
        totals.returned += ok;
        totals.rejected += rejected;
        totals.inFlight += s - ok - rejected;
      }
    }
  } finally {
    if (hose) {
      // Why store: the firehose polls this flag between calls; it then flushes and exits by itself.
      Atomics.store(hose, 0, 1);
      const counts = await hoseCounts;
      await hoseExited;
      totals.attempted += counts.started;
      totals.returned += counts.ok;
      totals.rejected += counts.rejected;
    }
    clearInterval(stall);
    clearInterval(progress);
    scraping = false;
    await scraper;
  }

  async function runOne(pool, slots, words, slot, id) {
    const crashKind = random() < crashRate ? CRASH_KINDS[Math.floor(random() * CRASH_KINDS.length)] : undefined;
    const killedHere = crashKind === "terminate" || crashKind === "abort";
    const calls = killedHere ? 2_000_000 : 20 + Math.floor(random() * 300);
    const crashAt = crashKind !== undefined && !killedHere ? Math.floor(random() * calls) : undefined;
    const controller = new AbortController();
    const task = { slots, slot, id, calls, crashKind: killedHere ? undefined : crashKind, crashAt };
    const result = pool.run(task, { signal: controller.signal }).then(
      (value) => ({ value }),
      (error) => ({ error }),
    );
    if (killedHere) {
      // Kill at a random moment once the task runs: wait for its thread to say so, then a little more.
      const delay = random() * 30;
      while (Atomics.load(words, slot * 4 + 3) === 0) await sleep(1);
      await sleep(delay);
      if (crashKind === "abort") controller.abort();
      else {
        const threadId = Atomics.load(words, slot * 4 + 3);
        await pool.threads.find((t) => t.threadId === threadId)?.terminate();
      }
    }
    const outcome = await result;
    if (outcome.error === undefined) {
      totals.completed++;
      const { started: s, ok, rejected } = outcome.value;
      const base = slot * 4;
      if (s !== words[base] || ok !== words[base + 1] || rejected !== words[base + 2] || s !== ok + rejected) totals.resultMismatches++;
    } else if (crashKind !== undefined) {
      crashes[crashKind]++;
    } else {
      throw outcome.error;
    }
  }

  // A thread that crashed (an uncaught error, out of memory) rejects its task before its 'exit' event,
  // which frees its slot: let the last ones exit (bounded; a slot that is never freed still shows).
  for (const until = performance.now() + 5000; hub.stats().workersConnected > 0 && performance.now() < until; ) await sleep(10);
  await hub.collect();
  const text = await registry.metrics();
  const samples = watch.check(text);
  const counted = samples.get("prom_threads_records_drained_total") ?? 0;
  const droppedByReason = {};
  for (const [key, value] of samples) {
    const m = /^prom_threads_records_dropped_total\{reason="(\w+)"\}$/.exec(key);
    if (m) droppedByReason[m[1]] = value;
  }
  const dropped = Object.values(droppedByReason).reduce((a, b) => a + b, 0);
  if (simulateLoss) totals.returned += totals.inFlight + 1; // test-only: claim a call the hub never saw
  const accounted = counted + dropped;
  const unresolved = totals.attempted - (accounted + totals.rejected);
  const gaugeLeft = samples.get("soak_tasks_running");
  const sortedScrapes = [...scrapeMs].sort((a, b) => a - b);
  maxRss = Math.max(maxRss, process.memoryUsage().rss);
  const report = {
    seed,
    elapsedMs: performance.now() - started,
    tasks: totals.tasks,
    completed: totals.completed,
    crashes,
    attempted: totals.attempted,
    returned: totals.returned,
    rejected: totals.rejected,
    inFlight: totals.inFlight,
    counted,
    dropped: droppedByReason,
    unresolved,
    resultMismatches: totals.resultMismatches,
    decreases: watch.decreases,
    stalls,
    scrapes: scrapeMs.length,
    scrapeMs: { p50: percentile(sortedScrapes, 0.5), p99: percentile(sortedScrapes, 0.99), max: sortedScrapes.at(-1) ?? 0 },
    maxRssMiB: maxRss / 2 ** 20,
    seriesOverflow: samples.get('prom_threads_series_overflow_total{metric="soak_task_calls_total"}') ?? 0,
    taskSeries: [...samples.keys()].filter((key) => key.startsWith("soak_task_calls_total{")).length,
    gaugeLeft: gaugeLeft ?? null,
    workersConnected: hub.stats().workersConnected,
    errors: Object.fromEntries(errors),
    conservation: {
      ok: totals.returned <= accounted && accounted <= totals.returned + totals.inFlight && unresolved >= 0 && unresolved <= totals.inFlight,
      rule: "returned <= counted + dropped <= returned + inFlight; attempted - (counted + dropped + rejected) in [0, inFlight]",
    },
  };
  report.ok =
    report.conservation.ok &&
    report.decreases.length === 0 &&
    report.resultMismatches === 0 &&
    (report.gaugeLeft === null || report.gaugeLeft === 0) &&
    report.workersConnected === 0 &&
    (droppedByReason.no_slot ?? 0) === 0 &&
    (droppedByReason.malformed ?? 0) === 0;
  await hub.close();
  return report;
}
