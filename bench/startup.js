// `node bench/startup.js [--quick]`: how soon a new worker's first record is visible to the hub, against
// when a bare worker (the same script without prom-threads) runs its first line; and what importing the
// worker entry costs in a fresh thread (modules loaded, milliseconds). Times are taken on the main
// thread's clock from `new Worker()`; medians of rounds, with the range. With
// `--before other/dist/worker/index.js [--rounds N]`: another build's entry beside this one, in parts.
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { Registry } from "prom-client";
import { MetricsHub } from "../dist/main/index.js";
import { flags, summarize } from "./lib/stats.js";

const entry = new URL("../dist/worker/index.js", import.meta.url).href;

/** An ES module worker script as a data: URL: both workers are ESM, as a user's would be. */
function module(source) {
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

/** Modules a fresh thread loads for the worker entry (relative imports, followed). */
export function entryModules() {
  const seen = new Set();
  const stack = [fileURLToPath(entry)];
  while (stack.length > 0) {
    const file = stack.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of readFileSync(file, "utf8").matchAll(/(?:import|export)[^"']*?from\s*["'](\.[^"']+)["']/g)) stack.push(path.resolve(path.dirname(file), m[1]));
  }
  return seen.size;
}

/**
 * Milliseconds from `new Worker()` to the bare script's first line (it posts at once); with `workerData`,
 * the bare worker gets the same workerData as the prom-threads one (the hub's handle).
 */
async function bareFirstLine(workerData) {
  const start = performance.now();
  const worker = new Worker(module(`import { parentPort } from "node:worker_threads"; parentPort.postMessage(0);`), workerData === undefined ? {} : { workerData });
  await new Promise((resolve) => worker.once("message", resolve));
  const ms = performance.now() - start;
  await worker.terminate();
  return ms;
}

/**
 * Milliseconds from `new Worker()` to the hub seeing the worker's first record, polled every millisecond
 * (a tighter loop would take the core the new thread starts on).
 */
async function firstRecordVisible(hub) {
  const counter = () => hub.registry.getSingleMetric("startup_total");
  const start = performance.now();
  const worker = new Worker(module(`import { Counter } from ${JSON.stringify(entry)}; new Counter({ name: "startup_total", help: "Startup." }).inc();`), { workerData: { ...hub.workerData } });
  let ms;
  for (;;) {
    hub.drainSync();
    const metric = counter();
    if (metric !== undefined && (await metric.get()).values[0]?.value >= 1) {
      ms = performance.now() - start;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await worker.terminate();
  hub.registry.removeSingleMetric("startup_total");
  return ms;
}

/**
 * One worker, timed in parts on one clock (`performance.timeOrigin + performance.now()` is comparable across
 * threads): `new Worker()` to the script's first line, the
 * import of the worker entry (a dynamic import, so the first line runs before it), the first `inc()`
 * (connect from workerData, slot claim, declaration, first ring write), and the hub seeing the record
 * (the main thread drains every millisecond; `notice` is from the `inc()` returning to the drain that saw
 * it). `gap` is from the first line, which is when the same script without prom-threads would have run
 * it, to the record being visible: the goal, measured within one worker instead of between two.
 */
async function breakdown(hub, entryUrl = entry) {
  const counter = () => hub.registry.getSingleMetric("startup_total");
  const source =
    `import { parentPort } from "node:worker_threads"; const t0 = performance.timeOrigin + performance.now();` +
    ` const { Counter } = await import(${JSON.stringify(entryUrl)}); const t1 = performance.timeOrigin + performance.now();` +
    ` new Counter({ name: "startup_total", help: "Startup." }).inc(); const t2 = performance.timeOrigin + performance.now();` +
    ` parentPort.postMessage({ t0, t1, t2 });`;
  const now = () => performance.timeOrigin + performance.now();
  const created = now();
  const worker = new Worker(module(source), { workerData: { ...hub.workerData } });
  const times = new Promise((resolve) => worker.once("message", resolve));
  let seen;
  for (;;) {
    hub.drainSync();
    const metric = counter();
    if (metric !== undefined && (await metric.get()).values[0]?.value >= 1) {
      seen = now();
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const { t0, t1, t2 } = await times;
  await worker.terminate();
  hub.registry.removeSingleMetric("startup_total");
  return { firstLine: t0 - created, import: t1 - t0, record: t2 - t1, notice: seen - t2, gap: seen - t0 };
}

/** Milliseconds a fresh thread spends importing the worker entry. */
async function importTime() {
  const worker = new Worker(`const t = performance.now(); import(${JSON.stringify(entry)}).then(() => require("node:worker_threads").parentPort.postMessage(performance.now() - t))`, { eval: true });
  const ms = await new Promise((resolve) => worker.once("message", resolve));
  await worker.terminate();
  return ms;
}

/** Run the rounds; returns the figures. */
export async function startupBench(options = {}) {
  const rounds = options.quick ? 7 : 21;
  const bare = [];
  const bareWithHandle = [];
  const visible = [];
  const imports = [];
  const parts = [];
  for (let i = 0; i < rounds; i++) {
    bare.push(await bareFirstLine());
    imports.push(await importTime());
    // A new hub per round: the metric is declared anew each time, as in a fresh process.
    const hub = new MetricsHub({ registry: new Registry() });
    bareWithHandle.push(await bareFirstLine({ ...hub.workerData }));
    visible.push(await firstRecordVisible(hub));
    await hub.close();
    const hub2 = new MetricsHub({ registry: new Registry() });
    parts.push(await breakdown(hub2));
    await hub2.close();
  }
  const b = summarize(bare);
  const h = summarize(bareWithHandle);
  const v = summarize(visible);
  const part = (key) => summarize(parts.map((p) => p[key]));
  const split = { firstLine: part("firstLine"), import: part("import"), record: part("record"), notice: part("notice"), gap: part("gap") };
  return { modules: entryModules(), split, bare: b, bareWithHandle: h, visible: v, import: summarize(imports), gapMs: v.median - b.median, gapWithHandleMs: v.median - h.median };
}

/** The worker start-up goal. */
export function startupGoals(s) {
  return [
    { name: "first record visible to the hub after a bare worker's first line", want: "≤ 10 ms", value: s.gapMs, unit: "ms", met: s.gapMs <= 10, detail: `${s.visible.median.toFixed(1)} ms vs ${s.bare.median.toFixed(1)} ms from new Worker()` },
    { name: "first record visible after a bare worker's first line, both given the hub's workerData", want: "≤ 10 ms", value: s.gapWithHandleMs, unit: "ms", met: s.gapWithHandleMs <= 10, detail: `${s.visible.median.toFixed(1)} ms vs ${s.bareWithHandle.median.toFixed(1)} ms from new Worker()` },
    { name: "first record visible after the worker's own first line (one worker, timed in parts)", want: "≤ 10 ms", value: s.split.gap.median, unit: "ms", met: s.split.gap.median <= 10, detail: `import ${s.split.import.median.toFixed(1)} ms, first inc() ${s.split.record.median.toFixed(1)} ms, hub sees it ${s.split.notice.median.toFixed(1)} ms later` },
    { name: "modules the worker entry loads", want: "a handful", value: s.modules, unit: "", met: s.modules <= 6, detail: `${s.modules}` },
  ];
}

/** Print the figures. */
export function printStartup(s) {
  const r = (x) => `${x.median.toFixed(1)} ms [${x.min.toFixed(1)} .. ${x.max.toFixed(1)}]`;
  console.log(`\nworker start-up (${s.bare.rounds} rounds): entry loads ${s.modules} modules, imports in ${r(s.import)}`);
  console.log(`  bare worker's first line ${r(s.bare)}; with the hub's workerData ${r(s.bareWithHandle)}; first record visible to the hub ${r(s.visible)}`);
  console.log(`  gap: ${s.gapMs.toFixed(1)} ms after a bare worker, ${s.gapWithHandleMs.toFixed(1)} ms after a bare worker given the same workerData`);
  const p = s.split;
  console.log(`  one worker in parts: new Worker() to its first line ${r(p.firstLine)}, import ${r(p.import)}, first inc() ${r(p.record)}, hub sees it ${r(p.notice)}`);
  console.log(`  gap within one worker, first line to record visible: ${r(p.gap)}`);
}

/**
 * Another build's worker entry beside this one, one worker of each per round (which goes first alternates),
 * each timed in parts as {@link breakdown} does: `--before path/to/dist/worker/index.js`. Its hub is this
 * build's, so both must share the layout version.
 */
export async function beforeAfter(beforePath, rounds) {
  const sides = { before: pathToFileURL(path.resolve(beforePath)).href, after: entry };
  const parts = { before: [], after: [] };
  const once = async (side) => {
    const hub = new MetricsHub({ registry: new Registry() });
    const p = await breakdown(hub, sides[side]);
    await hub.close();
    return p;
  };
  await once("before");
  await once("after");
  for (let i = 0; i < rounds; i++) for (const side of i % 2 ? ["after", "before"] : ["before", "after"]) parts[side].push(await once(side));
  const r = (x) => `${x.median.toFixed(2)} ms [${x.min.toFixed(2)} .. ${x.max.toFixed(2)}]`;
  console.log(`\nbefore (${beforePath}) and after (this build), ${rounds} rounds each, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  for (const side of ["before", "after"]) {
    const f = (key) => r(summarize(parts[side].map((p) => p[key])));
    console.log(`  ${side}: import ${f("import")}, first inc() ${f("record")}, hub sees it ${f("notice")}, gap ${f("gap")}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = flags();
  if (typeof options.before === "string") {
    await beforeAfter(options.before, typeof options.rounds === "number" ? options.rounds : 41);
    process.exit(0);
  }
  const s = await startupBench(options);
  printStartup(s);
  for (const g of startupGoals(s)) console.log(`  ${g.met ? "met   " : "MISSED"} ${g.name}: ${g.detail} (want ${g.want})`);
}
