// Core benchmarks: worker-side cost per observation against prom-client in the same thread,
// drain throughput against one prom-client observe() per record, and a sustained 2 x 1M obs/s load.
import { Worker } from "node:worker_threads";
import client from "prom-client";
import { MetricsHub } from "../dist/main/index.js";
import { Histogram as WorkerHistogram, connect } from "../dist/worker/index.js";
import { createFloor, startFloorReader } from "./lib/floor-ring.js";
import { fmt, summarize } from "./lib/stats.js";

const here = (file) => new URL(file, import.meta.url);

/**
 * Run a cost worker attached to `hub`: whenever it asks to settle, drain the hub (ring and overflow) and
 * wait for the floor `readers` to catch up, then answer. Resolves with its final message.
 */
function runCostWorker(file, workerData, hub, readers) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(here(file), { workerData });
    hub.attach(worker);
    worker.on("message", async (message) => {
      if (message.done) {
        resolve(message);
        void worker.terminate();
        return;
      }
      await hub.collect();
      for (const reader of readers) reader.drain();
      worker.postMessage("settled");
    });
    worker.once("error", reject);
  });
}

function runWorker(file, workerData) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(here(file), { workerData });
    worker.once("message", (m) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once("error", reject);
  });
}

/**
 * ns per call of each case, measured in one worker thread, alternating rounds, with the hub draining
 * concurrently in this thread (a 1 ms tick, and the doorbell) and the floors' readers in threads of their own.
 */
export async function observeCost({ quick }) {
  // An overflow that holds a whole burst: the stalled case measures the overflow's write path, where the
  // default bound (65,536 records) would have the writer wait out overflowWaitMs and drop the rest.
  const hub = new MetricsHub({ registry: new client.Registry(), drainIntervalMs: 1, overflowRecords: 1 << 20 });
  const floor = createFloor(hub.stats().ringCapacity);
  const reader = startFloorReader(floor);
  // Version 0.1's writer ("before") writes into a floor ring of its own, drained the same way.
  const before = createFloor(hub.stats().ringCapacity);
  const beforeReader = startFloorReader(before);
  const settings = { ops: quick ? 200_000 : 1_000_000, rounds: quick ? 5 : 9, burst: 4096, bursts: quick ? 32 : 64 };
  const raw = await runCostWorker("./lib/observe-cost.worker.js", { ...hub.workerData, ...settings, floor, before }, hub, [reader, beforeReader]);
  reader.stop();
  beforeReader.stop();
  await hub.collect();
  const stats = hub.stats();
  await hub.close();
  const cost = Object.fromEntries(Object.entries(raw.results).map(([name, values]) => [name, summarize(values)]));
  const dropped = Object.values(stats.recordsDropped).reduce((a, b) => a + b, 0);
  // The floor loses nothing: it waits for its reader on a full ring (that time is not counted as writing).
  const floorRun = { written: raw.floorWritten, read: reader.stats().records, waits: raw.floorWaits, waitedMs: raw.floorWaitedNs / 1e6 };
  return { cost, settings, floor: floorRun, beforeDropped: raw.beforeDropped, promThreadsDropped: dropped, recordsDrained: stats.recordsDrained };
}

/**
 * counter.inc in a worker whose first record came before connect() (it threw NOT_CONNECTED), with the
 * floor beside it in that thread: the call site saw the writer before the thread connected.
 */
export async function earlyRecordCost({ quick }) {
  // An overflow that holds a whole burst: the stalled case measures the overflow's write path, where the
  // default bound (65,536 records) would have the writer wait out overflowWaitMs and drop the rest.
  const hub = new MetricsHub({ registry: new client.Registry(), drainIntervalMs: 1, overflowRecords: 1 << 20 });
  const floor = createFloor(hub.stats().ringCapacity);
  const reader = startFloorReader(floor);
  const settings = { rounds: quick ? 5 : 9, burst: 4096, bursts: quick ? 32 : 64 };
  // The handle under another key: the thread does not find it by itself, so its first record precedes connect().
  const raw = await runCostWorker("./lib/early-record.worker.js", { ...settings, floor, late: hub.workerData }, hub, [reader]);
  reader.stop();
  await hub.collect();
  const dropped = Object.values(hub.stats().recordsDropped).reduce((a, b) => a + b, 0);
  await hub.close();
  const cost = Object.fromEntries(Object.entries(raw.results).map(([name, values]) => [name, summarize(values)]));
  return { cost, threw: raw.threw, floorDropped: raw.floorDropped, dropped };
}

/**
 * Records per second through the hub's drain, against calling prom-client's observe() once per record.
 * The main thread connects to its own hub so that one thread fills the ring and then drains it.
 */
export async function drainThroughput({ quick }) {
  const records = quick ? 200_000 : 1_000_000;
  const rounds = quick ? 5 : 9;
  const ringBytes = 2 ** Math.ceil(Math.log2(records * 16 * 2));
  const hub = new MetricsHub({ registry: new client.Registry(), ringBytes, drainIntervalMs: 3_600_000 });
  connect(hub.workerData);
  const child = new WorkerHistogram({ name: "drain_seconds", help: "h", labelNames: ["method"] }).labels("GET");
  const promRegistry = new client.Registry();
  const promChild = new client.Histogram({ name: "direct_seconds", help: "h", labelNames: ["method"], registers: [promRegistry] }).labels("GET");
  const values = Float64Array.from({ length: records }, (_, i) => (i & 1023) / 1000);
  const hubRates = [];
  const promRates = [];
  for (let round = -1; round < rounds; round++) {
    for (let i = 0; i < records; i++) child.observe(values[i]);
    let start = process.hrtime.bigint();
    hub.drainSync();
    const hubSeconds = Number(process.hrtime.bigint() - start) / 1e9;
    start = process.hrtime.bigint();
    for (let i = 0; i < records; i++) promChild.observe(values[i]);
    const promSeconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (round >= 0) {
      hubRates.push(records / hubSeconds);
      promRates.push(records / promSeconds);
    }
  }
  // Histograms of 11 buckets (the default) and 1,000 label sets, records cycling through the label sets in a
  // scrambled order; against one producer's tight loop (a stored child, the fastest a producer writes), in
  // the same thread, alternating rounds. The goal: the drain applies at least twice what one producer writes.
  const manySeries = 1000;
  const many = new WorkerHistogram({ name: "drain_many_seconds", help: "h", labelNames: ["series"] });
  const children = Array.from({ length: manySeries }, (_, i) => many.labels(String(i)));
  const order = Uint16Array.from({ length: records }, (_, i) => (i * 613) % manySeries);
  const producer = new WorkerHistogram({ name: "producer_seconds", help: "h", labelNames: ["method", "status"] }).labels("GET", "200");
  const manyRates = [];
  const producerRates = [];
  for (let round = -1; round < rounds; round++) {
    let start = process.hrtime.bigint();
    for (let i = 0; i < records; i++) producer.observe(values[i]);
    const producerSeconds = Number(process.hrtime.bigint() - start) / 1e9;
    hub.drainSync();
    for (let i = 0; i < records; i++) children[order[i]].observe(values[i]);
    start = process.hrtime.bigint();
    hub.drainSync();
    const manySeconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (round >= 0) {
      manyRates.push(records / manySeconds);
      producerRates.push(records / producerSeconds);
    }
  }
  const drained = hub.stats().recordsDrained;
  await hub.close();
  return {
    hub: summarize(hubRates),
    promClient: summarize(promRates),
    manySeries: summarize(manyRates),
    producer: summarize(producerRates),
    seriesCount: manySeries,
    recordsPerRound: records,
    drained,
    expected: records * (rounds + 1) * 3,
  };
}

/** N workers each producing `rate` observations per second for `seconds`, with default hub settings. */
export async function sustainedLoad({ quick, workers = 2, rate = 1_000_000, seconds }) {
  const duration = seconds ?? (quick ? 2 : 10);
  const registry = new client.Registry();
  const hub = new MetricsHub({ registry });
  const scrapeTimes = [];
  const scraper = setInterval(async () => {
    const start = performance.now();
    await registry.metrics();
    scrapeTimes.push(performance.now() - start);
  }, 1000);
  const results = await Promise.all(
    Array.from({ length: workers }, (_, index) => runWorker("./lib/producer.worker.js", { ...hub.workerData, rate, seconds: duration, index })),
  );
  clearInterval(scraper);
  await hub.collect();
  const stats = hub.stats();
  const produced = results.reduce((a, r) => a + r.produced, 0);
  const achieved = results.reduce((a, r) => a + r.produced / r.elapsed, 0);
  await hub.close();
  const dropped = Object.values(stats.recordsDropped).reduce((a, b) => a + b, 0);
  return { workers, ratePerWorker: rate, seconds: duration, produced, counted: stats.recordsDrained, dropped, achievedRate: achievedTotal(achieved), scrapesMs: scrapeTimes };
}

function achievedTotal(rate) {
  return Math.round(rate);
}

/**
 * Where the time of a 10^6 burst goes: counter.inc with the hub draining, with the hub stalled (the ring
 * once, then the overflow with no reader), its fast path alone, and the floor; medians over rounds.
 */
export async function burstBreakdown({ quick }) {
  // An overflow that holds a whole burst: the stalled case measures the overflow's write path, where the
  // default bound (65,536 records) would have the writer wait out overflowWaitMs and drop the rest.
  const hub = new MetricsHub({ registry: new client.Registry(), drainIntervalMs: 1, overflowRecords: 1 << 20 });
  const floor = createFloor(hub.stats().ringCapacity);
  const reader = startFloorReader(floor);
  const gate = new SharedArrayBuffer(4);
  const flag = new Int32Array(gate);
  const raw = await new Promise((resolve, reject) => {
    const worker = new Worker(here("./lib/breakdown.worker.js"), { workerData: { ...hub.workerData, floor, gate, rounds: quick ? 5 : 9 } });
    hub.attach(worker);
    worker.on("message", async (message) => {
      if (message.done) {
        resolve(message);
        void worker.terminate();
      } else if (message.stall) {
        // Block this thread (no drain, no tick) until the worker's burst is over.
        Atomics.store(flag, 0, 2);
        Atomics.notify(flag, 0);
        while (Atomics.load(flag, 0) !== 0) Atomics.wait(flag, 0, 2, 1000);
      } else {
        await hub.collect();
        reader.drain();
        worker.postMessage("settled");
      }
    });
    worker.once("error", reject);
  });
  reader.stop();
  const dropped = Object.values(hub.stats().recordsDropped).reduce((a, b) => a + b, 0);
  await hub.close();
  return { cases: Object.fromEntries(Object.entries(raw.results).map(([name, values]) => [name, summarize(values)])), dropped };
}

/**
 * Shared memory of a hub with default options: idle (no worker connected), then with 1 and 2 workers
 * connected. The hub grows a slot's buffer only when a worker claims it.
 */
export async function sharedMemory() {
  const hub = new MetricsHub({ registry: new client.Registry() });
  const { maxWorkers, ringCapacity } = hub.stats();
  const byWorkers = [hub.stats().sharedMemoryBytes];
  const workers = [];
  for (let n = 1; n <= 2; n++) {
    const worker = new Worker(here("./lib/memory.worker.js"), { workerData: hub.workerData });
    hub.attach(worker);
    await new Promise((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    workers.push(worker);
    byWorkers.push(hub.stats().sharedMemoryBytes);
  }
  for (const worker of workers) await worker.terminate();
  await hub.close();
  return { maxWorkers, ringBytes: ringCapacity * 16, idleBytes: byWorkers[0], byWorkers, perWorkerBytes: (byWorkers[2] - byWorkers[0]) / 2 };
}

/** Print the core results as a table. */
export function printCore({ cost, drain, load, memory, costRun, breakdown, early }) {
  const ratio = (a, b) => `${(a / b).toFixed(1)}x`;
  const line = (name, s, unit) => `  ${name.padEnd(86)} ${fmt(s.median, unit).padStart(12)}  (${fmt(s.min)}–${fmt(s.max)}, spread ${(s.spread * 100).toFixed(0)}%, ${s.rounds} rounds)`;
  console.log("\nWorker-side cost per call, one worker thread, medians over rounds (hub and floor reader draining concurrently):");
  for (const [name, s] of Object.entries(cost)) console.log(line(name, s, "ns"));
  const { burst, bursts } = costRun.settings;
  console.log(`  short bursts: ${bursts} bursts of ${burst} records per round, 2 ms apart; 10^6 bursts: one burst of 1,000,000 per round`);
  const f = costRun.floor;
  console.log(`  the floor wrote ${f.written} records and its reader read ${f.read} (${f.written === f.read ? "none lost" : "LOSS"}); it found its ring full ${f.waits} times and waited ${f.waitedMs.toFixed(1)} ms in all for its reader, not counted in its time`);
  console.log(`  version 0.1's writer dropped ${costRun.beforeDropped}; prom-threads dropped ${costRun.promThreadsDropped}`);
  const pairs = [
    ["histogram.observe", "prom-client histogram.observe (stored child, 2 labels, 11 buckets)", "prom-threads histogram.observe, 11 buckets (default), 10^6 bursts"],
    ["counter.inc", "prom-client counter.inc (stored child, 2 labels)", "prom-threads counter.inc, 10^6 bursts"],
    ["time() no-op", "prom-client time() around a no-op", "prom-threads time() around a no-op"],
  ];
  for (const [label, a, b] of pairs) {
    console.log(`  => ${label}: prom-threads costs ${(cost[b].median / cost[a].median).toFixed(3)} of prom-client (${ratio(cost[a].median, cost[b].median)} faster)`);
  }
  if (early) {
    console.log("\nA worker that recorded before connect() (its first inc() threw NOT_CONNECTED), the floor in the same thread:");
    for (const [name, s] of Object.entries(early.cost)) console.log(line(name, s, "ns"));
  }
  console.log("\nWhere a 10^6 burst's time goes (counter.inc: no bucket search), medians over rounds:");
  for (const [name, s] of Object.entries(breakdown.cases)) console.log(line(name, s, "ns"));
  console.log("\nMain-thread drain throughput (records/s):");
  console.log(line("hub drain (typed-array aggregation)", drain.hub, "rec/s"));
  console.log(line("prom-client observe() once per record", drain.promClient, "rec/s"));
  console.log(`  => drain handles ${ratio(drain.hub.median, drain.promClient.median)} the records per second of per-record observe()`);
  if (drain.manySeries) {
    console.log(line(`hub drain, histograms of 11 buckets, ${drain.seriesCount} label sets`, drain.manySeries, "rec/s"));
    console.log(line("one producer's tight loop (histogram.observe, stored child)", drain.producer, "rec/s"));
    console.log(`  => drain applies ${ratio(drain.manySeries.median, drain.producer.median)} what one producer writes; drained ${drain.drained} of ${drain.expected} records`);
  }
  console.log(`\nShared memory, default options (maxWorkers ${memory.maxWorkers}): idle hub ${fmt(memory.idleBytes)} B; 1 worker ${fmt(memory.byWorkers[1])} B; 2 workers ${fmt(memory.byWorkers[2])} B (${fmt(memory.perWorkerBytes)} B per connected worker)`);
  console.log(`\nSustained load: ${load.workers} workers x ${fmt(load.ratePerWorker)} obs/s for ${load.seconds} s, default settings:`);
  console.log(`  produced ${load.produced}, counted ${load.counted}, dropped ${load.dropped}, achieved ${fmt(load.achievedRate)} obs/s in total`);
  console.log(`  => ${load.counted === load.produced && load.dropped === 0 ? "nothing lost" : "LOSS"}; scrape times (ms): ${load.scrapesMs.map((t) => t.toFixed(1)).join(", ")}`);
}

/**
 * `node bench/core.js [--quick] [--runs N]` (after `npm run build`): only the floor comparisons (the cost
 * table, the 10^6-burst breakdown, the early-record worker) and the drain, N runs one after another, each
 * in a process of its own (the drain connects the main thread to a hub, once per process), each with the
 * load average around it; the goals of each run are computed as `npm run bench` computes them. Writes
 * bench/results/core-floor.json. For a change to the hot path, this is the part of the full run worth
 * repeating several times.
 */
async function floorRun(options) {
  const os = await import("node:os");
  const { goals } = await import("./lib/goals.js");
  const loadAverageAtStart = os.loadavg();
  const started = new Date().toISOString();
  const costRun = await observeCost(options);
  const breakdown = await burstBreakdown(options);
  const early = await earlyRecordCost(options);
  const drain = await drainThroughput(options);
  const core = { cost: costRun.cost, costSettings: costRun.settings, floor: costRun.floor, promThreadsDropped: costRun.promThreadsDropped, breakdown, early, drain };
  return { started, loadAverageAtStart, loadAverageAtEnd: os.loadavg(), core, goals: goals({ core }).filter((g) => g.name !== "warnings printed during the run") };
}

async function floorRuns() {
  const { execFileSync } = await import("node:child_process");
  const { mkdirSync, writeFileSync } = await import("node:fs");
  const { fileURLToPath } = await import("node:url");
  const { flags, machine } = await import("./lib/stats.js");
  const { goalLines } = await import("./lib/goals.js");
  const options = flags();
  if (options.single) {
    process.stdout.write(`${JSON.stringify(await floorRun(options))}\n`);
    return;
  }
  const runs = [];
  for (let k = 0; k < (options.runs ?? 3); k++) {
    const args = [fileURLToPath(import.meta.url), "--single", ...(options.quick ? ["--quick"] : [])];
    const run = JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8", maxBuffer: 64 * 2 ** 20 }).trim().split("\n").pop());
    runs.push(run);
    const { cost, floor: f, breakdown, drain, promThreadsDropped } = run.core;
    console.log(`\nrun ${k + 1}, started ${run.started}, load average ${run.loadAverageAtStart.map((l) => l.toFixed(2)).join(" ")} -> ${run.loadAverageAtEnd.map((l) => l.toFixed(2)).join(" ")}`);
    for (const [name, s] of Object.entries(cost)) console.log(`  ${name.padEnd(100)} ${fmt(s.median).padStart(8)} ns (${fmt(s.min)}–${fmt(s.max)})`);
    console.log(`  the floor wrote ${f.written}, its reader read ${f.read}; ${f.waits} waits for a full ring, ${f.waitedMs.toFixed(1)} ms; prom-threads dropped ${promThreadsDropped}`);
    for (const [name, s] of Object.entries(breakdown.cases)) console.log(`  breakdown: ${name.padEnd(88)} ${fmt(s.median).padStart(8)} ns`);
    console.log(`  drain ${fmt(drain.manySeries.median)} rec/s vs one producer ${fmt(drain.producer.median)} rec/s`);
    for (const line of goalLines(run.goals, false)) console.log(line);
  }
  mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
  writeFileSync(new URL("./results/core-floor.json", import.meta.url), `${JSON.stringify({ machine: machine(), quick: options.quick, runs }, null, 2)}\n`);
  console.log("\nwrote bench/results/core-floor.json");
}

if (process.argv[1] !== undefined && import.meta.url === (await import("node:url")).pathToFileURL(process.argv[1]).href) await floorRuns();
