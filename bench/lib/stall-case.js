// One case of the stall benchmark, in a process of its own: `node bench/lib/stall-case.js '<json>'` prints
// one JSON line. The main thread serves /metrics while a scraper thread scrapes it; the main thread's
// longest gap between turns of a setImmediate loop and its event-loop delay (monitorEventLoopDelay) are
// measured over the scraping window only (after set-up and two warm-up scrapes, see below).
//
// case: { contender: "prom-threads" | "prom-client", series, seconds, intervalMs, flood?: workers }
import { createServer } from "node:http";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { PerformanceObserver, monitorEventLoopDelay } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { openSync, readSync } from "node:fs";
import { Histogram, Registry } from "prom-client";
import { MetricsHub, startHttpServer } from "../../dist/main/index.js";
// Internal: how long each synchronous step of metrics work (drain, render, compress, write) held the main thread.
import { endStep, resetStepTiming, startStep, stepTiming } from "../../dist/main/hub/step-timing.js";

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25];
const spec = JSON.parse(process.argv[2]);

/**
 * The main thread's time on a CPU in milliseconds: the wall clock minus the time the thread waited in the
 * run queue while another thread had its core (Linux's schedstat of this thread, second field, in ns,
 * updated each time the thread gets a core back: exact whenever the thread is running, as it is when a
 * step begins and ends). A step's difference is the work it did, without the operating system's
 * preemption. process.threadCpuUsage() and schedstat's first field advance only at scheduler ticks
 * (1 ms steps read 0 or 2 ms), so neither is used. Undefined off Linux.
 */
function threadCpuClock() {
  let fd;
  try {
    fd = openSync("/proc/thread-self/schedstat", "r");
  } catch {
    return undefined;
  }
  const buffer = Buffer.alloc(64);
  return () => {
    const n = readSync(fd, buffer, 0, 64, 0);
    // The second field's digits, read without making a string: the setImmediate loop reads this clock on
    // every turn, and garbage of its own would add collections to what it measures.
    let at = 0;
    while (at < n && buffer[at] !== 0x20) at++;
    let waited = 0;
    for (at++; at < n && buffer[at] >= 0x30 && buffer[at] <= 0x39; at++) waited = waited * 10 + (buffer[at] - 0x30);
    return performance.now() - waited / 1e6;
  };
}

/**
 * The noted gaps told apart by whether a collection of the main thread's heap (V8's GC performance
 * entries) ran in them: the longest gap in which none ran, on both clocks; how many gaps took over 2 ms
 * on the thread's own clock, and how many of those had a collection in them; the collections in the
 * window by kind (1 scavenge, 2 full, 4 incremental marking step, 8 weak callbacks), their count and longest pause.
 */
function gapsAndCollections() {
  collections.sort((a, b) => a.start - b.start);
  let outside = 0;
  let outsideCpu = 0;
  let over2 = 0;
  let over2InCollection = 0;
  let from = 0;
  for (let i = 0; i < noted; i++) {
    const end = notedEnd[i];
    const start = end - notedWall[i];
    while (from < collections.length && collections[from].end <= start) from++;
    let inCollection = false;
    for (let c = from; c < collections.length && collections[c].start < end; c++) {
      if (collections[c].end > start) inCollection = true;
    }
    if (notedCpu[i] > 2) {
      over2++;
      if (inCollection) over2InCollection++;
    }
    if (!inCollection) {
      outside = Math.max(outside, notedWall[i]);
      outsideCpu = Math.max(outsideCpu, notedCpu[i]);
    }
  }
  const kinds = {};
  for (const { start, end, kind } of collections) {
    kinds[kind] ??= { count: 0, longestMs: 0 };
    const entry = kinds[kind];
    entry.count++;
    entry.longestMs = Math.max(entry.longestMs, end - start);
  }
  // Below the noted length, the longest gap outside collections is at most that.
  return { maxGapOutsideGcMs: Math.max(outside, kNotedGapMs), maxGapCpuOutsideGcMs: Math.max(outsideCpu, 0), gapsOver2CpuMs: over2, gapsOver2CpuMsInGc: over2InCollection, collections: kinds };
}

function message(worker) {
  return new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
}

async function servePromClient(series) {
  const registry = new Registry();
  const histogram = new Histogram({ name: "stall_seconds", help: "Stall benchmark histogram.", labelNames: ["id"], buckets: BUCKETS, registers: [registry] });
  for (let i = 0; i < series; i++) histogram.observe({ id: `s${i}` }, (i % 100) / 10);
  // As a prom-client user serves it: render, compress when asked (as compression middleware does; the
  // scraper asks, as Prometheus does), then write.
  const gzipAsync = promisify(gzip);
  const server = createServer(async (req, res) => {
    // Timed as one render step: prom-client renders every metric in one go (its awaits resolve at once).
    const start = stepTiming.enabled ? startStep() : undefined;
    const text = await registry.metrics();
    if (start !== undefined) endStep("render", start);
    const compress = /\bgzip\b/.test(req.headers["accept-encoding"] ?? "");
    const body = compress ? await gzipAsync(text) : text;
    const written = stepTiming.enabled ? startStep() : undefined;
    res.writeHead(200, { "Content-Type": registry.contentType, ...(compress ? { "Content-Encoding": "gzip" } : {}) });
    res.end(body);
    if (written !== undefined) endStep("write", written);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/metrics`, close: () => new Promise((resolve) => server.close(resolve)) };
}

async function servePromThreads(series, workers, mode, hubOptions) {
  // Defaults, apart from the label sets the case needs (and the options a case names).
  const hub = new MetricsHub({ registry: new Registry(), ...(series > 2000 && mode === "fill" ? { maxSeries: series } : {}), ...hubOptions });
  const recorders = Array.from({ length: workers }, () => new Worker(new URL("./stall-recorder.worker.js", import.meta.url), { workerData: { ...hub.workerData, job: { series, mode, buckets: BUCKETS } } }));
  await Promise.all(recorders.map(message));
  const server = await startHttpServer({ hub, port: 0, host: "127.0.0.1" });
  return { hub, recorders, url: server.url, close: () => server.close() };
}

const flood = spec.flood ?? 0;
const served = spec.contender === "prom-client" ? await servePromClient(spec.series) : await servePromThreads(spec.series, flood || 1, flood ? "flood" : "fill", spec.hubOptions ?? {});
// The idle case and the overload baseline scrape once (the warm-up), then wait out the window.
const scraper = new Worker(new URL("./stall-scraper.worker.js", import.meta.url), { workerData: { url: served.url, intervalMs: spec.intervalMs } });
const scrapes = [];
// The window starts after two warm-up scrapes and at least a second after the first one began: the
// process's first second (its code being compiled, the set-up's garbage collected, the first scrapes'
// buffers allocated) is start-up, not the steady state a scraper sees for the life of the process.
// Scrapes back to back (the overload) make two in a fraction of that second. A case without scrapes in
// its window waits as long.
const kWarmups = 2;
const kWarmupMs = 1000;
let warmups = 0;
let firstAt;
let warm = false;
let measuring = false;
scraper.on("message", (m) => {
  if (m === "stopped") return;
  firstAt ??= performance.now() - m.ms;
  if (!warm) warm = ++warmups >= kWarmups && performance.now() - firstAt >= kWarmupMs;
  else if (measuring) scrapes.push(m);
});
while (!warm && (warmups === 0 || spec.intervalMs < 60_000)) await new Promise((resolve) => setTimeout(resolve, 5));
// One scrape only (the idle case and the overload baseline): wait as long as a second scrape would come.
if (!warm) await new Promise((resolve) => setTimeout(resolve, 1000));

// The measuring window. Each gap between turns of the loop is measured twice: on the wall clock, and on
// the thread's own clock (the wall clock minus the time the thread waited for a core while the machine's
// other threads and processes had them): a gap the thread spent waiting for a core is the machine's, not
// work this thread did (metrics work, the collector, anything else).
const eld = monitorEventLoopDelay({ resolution: 1 });
const cpuClock = threadCpuClock();
let maxGap = 0;
let maxGapCpu = 0;
let last = performance.now();
let lastCpu = cpuClock?.() ?? 0;
let running = true;
// Gaps longer than kNotedGapMs (wall clock) are noted, to be told apart afterwards by whether one of V8's
// collections of this thread's heap ran in them (arrays allocated before the window: no garbage of their own).
const kNotedGapMs = 0.5;
const kMaxNoted = 200_000;
const notedEnd = new Float64Array(kMaxNoted);
const notedWall = new Float64Array(kMaxNoted);
const notedCpu = new Float64Array(kMaxNoted);
let noted = 0;
const collections = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) collections.push({ start: entry.startTime, end: entry.startTime + entry.duration, kind: entry.detail?.kind });
});
gcObserver.observe({ entryTypes: ["gc"] });
const loop = () => {
  const now = performance.now();
  const wall = now - last;
  if (wall > maxGap) maxGap = wall;
  last = now;
  let cpu = wall;
  if (cpuClock !== undefined) {
    const nowCpu = cpuClock();
    // Capped at both ends, as a step's time is (step-timing.ts): the run-queue wait is counted in whole
    // scheduler ticks, so the clock can read more than the wall clock over one gap and less over the next.
    cpu = Math.max(0, Math.min(wall, nowCpu - lastCpu));
    if (cpu > maxGapCpu) maxGapCpu = cpu;
    lastCpu = nowCpu;
  }
  if (wall > kNotedGapMs && noted < kMaxNoted) {
    notedEnd[noted] = now;
    notedWall[noted] = wall;
    notedCpu[noted++] = cpu;
  }
  if (running) setImmediate(loop);
};
measuring = true;
stepTiming.cpuClock = cpuClock;
resetStepTiming(true);
eld.enable();
setImmediate(loop);
await new Promise((resolve) => setTimeout(resolve, spec.seconds * 1000));
running = false;
eld.disable();
for (const entry of gcObserver.takeRecords()) collections.push({ start: entry.startTime, end: entry.startTime + entry.duration, kind: entry.detail?.kind });
gcObserver.disconnect();
const steps = structuredClone(stepTiming.steps);
resetStepTiming(false);
measuring = false;
scraper.postMessage("stop");
// A scraper waiting out a long interval is stopped by terminate().
await scraper.terminate();

const result = {
  ...spec,
  maxGapMs: maxGap,
  maxGapCpuMs: cpuClock === undefined ? undefined : maxGapCpu,
  ...gapsAndCollections(),
  steps,
  maxStepMs: Math.max(...Object.values(steps).map((step) => step.longestMs)),
  maxStepCpuMs: Math.max(...Object.values(steps).map((step) => step.longestCpuMs)),
  eldP99Ms: eld.percentile(99) / 1e6,
  eldMaxMs: eld.max / 1e6,
  scrapeMs: scrapes.map((s) => s.ms),
  bytes: scrapes.at(-1)?.bytes ?? 0,
  statuses: [...new Set(scrapes.map((s) => s.status))],
};
if (flood) {
  for (const recorder of served.recorders) recorder.postMessage("stop");
  const calls = (await Promise.all(served.recorders.map(message))).reduce((sum, m) => sum + m.calls, 0);
  await served.hub.collect();
  const values = (await served.hub.registry.getSingleMetric("stall_seconds").get()).values;
  const counted = values.filter((v) => v.metricName === "stall_seconds_count").reduce((sum, v) => sum + v.value, 0);
  const dropped = Object.values(served.hub.stats().recordsDropped).reduce((sum, n) => sum + n, 0);
  result.conservation = { calls, counted, dropped, exact: counted + dropped === calls };
}
for (const recorder of served.recorders ?? []) await recorder.terminate();
await served.close();
await served.hub?.close();
console.log(JSON.stringify(result));
process.exit(0);
