// `node bench/stalls.js [--quick] [--rounds N] [--only overload|sizes]` (also part of `npm run bench`): the main thread's longest stall while a
// Prometheus-like scraper (in a thread of its own) scrapes every second, for 10 to 100,000 label sets of a
// 12-bucket worker histogram served by prom-threads, beside prom-client serving the same series from the
// main thread; and under overload (two workers recording as fast as they can into 3,000 label sets, hub
// defaults, scraped back to back). Each case runs in a process of its own; an idle case (same process
// shape, no scrapes) shows what the machine itself adds to the gaps.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { flags, machine, median } from "./lib/stats.js";

const CASE = fileURLToPath(new URL("./lib/stall-case.js", import.meta.url));

function runCase(spec) {
  const out = execFileSync(process.execPath, [...(spec.nodeFlags ?? []), CASE, JSON.stringify(spec)], { encoding: "utf8", maxBuffer: 1 << 26 });
  return JSON.parse(out.trim().split("\n").at(-1));
}

function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Run every case; `quick` scrapes for fewer seconds and one round. */
export async function stallBench(options = {}) {
  const quick = options.quick === true;
  const rounds = typeof options.rounds === "number" ? options.rounds : quick ? 1 : 2;
  // `--only overload` or `--only sizes`: one part of the cases.
  const only = options.only;
  // Long enough for a few scrapes of each size (a 100,000-label-set render takes seconds in prom-client).
  const windows = quick ? { 10: 3, 1000: 3, 10000: 5, 100000: 12 } : { 10: 6, 1000: 6, 10000: 8, 100000: 20 };
  const seconds = windows[10];
  const cases = [{ contender: "idle", series: 10, seconds, intervalMs: 3_600_000 }];
  for (const [series, window] of Object.entries(windows)) for (const contender of ["prom-threads", "prom-client"]) cases.push({ contender, series: Number(series), seconds: window, intervalMs: 1000 });
  // The overload's baseline: the same two busy workers and the background drain, no scrapes in the window.
  cases.push({ contender: "prom-threads", series: 3000, seconds: quick ? 4 : 8, intervalMs: 3_600_000, flood: 2, baseline: true });
  cases.push({ contender: "prom-threads", series: 3000, seconds: quick ? 4 : 8, intervalMs: 0, flood: 2 });
  // The same overload with the default overflow of the previous version (1,048,576 records): a scrape meets
  // up to 16 times the backlog.
  cases.push({ contender: "prom-threads", series: 3000, seconds: quick ? 4 : 8, intervalMs: 0, flood: 2, hubOptions: { overflowRecords: 1 << 20 } });
  // The same overload with V8's scavenges done by the main thread alone: a parallel scavenge waits for its
  // helper threads, which wait for a core while the workers have both (docs/design.md, "What is left").
  cases.push({ contender: "prom-threads", series: 3000, seconds: quick ? 4 : 8, intervalMs: 0, flood: 2, nodeFlags: ["--no-parallel-scavenge"] });
  const results = [];
  for (const spec of cases) {
    if (only === "overload" && spec.flood === undefined) continue;
    if (only === "sizes" && spec.flood !== undefined) continue;
    const runs = [];
    for (let round = 0; round < rounds; round++) runs.push(runCase(spec));
    const scrapes = runs.flatMap((r) => r.scrapeMs);
    results.push({
      ...spec,
      rounds,
      maxGapMs: median(runs.map((r) => r.maxGapMs)),
      maxGapRange: [Math.min(...runs.map((r) => r.maxGapMs)), Math.max(...runs.map((r) => r.maxGapMs))],
      // The longest gap on the thread's own clock (off Linux: none).
      maxGapCpuMs: runs.every((r) => typeof r.maxGapCpuMs === "number") ? median(runs.map((r) => r.maxGapCpuMs)) : undefined,
      // The gaps in which no collection of the main thread's heap ran; gaps over 2 ms on-CPU, and how many
      // of those had one in them (all rounds); the scavenges, their count and longest pause (all rounds).
      maxGapOutsideGcMs: median(runs.map((r) => r.maxGapOutsideGcMs)),
      maxGapCpuOutsideGcMs: median(runs.map((r) => r.maxGapCpuOutsideGcMs)),
      gapsOver2CpuMs: runs.reduce((n, r) => n + r.gapsOver2CpuMs, 0),
      gapsOver2CpuMsInGc: runs.reduce((n, r) => n + r.gapsOver2CpuMsInGc, 0),
      scavenges: runs.reduce((n, r) => n + (r.collections["1"]?.count ?? 0), 0),
      longestScavengeMs: Math.max(0, ...runs.map((r) => r.collections["1"]?.longestMs ?? 0)),
      fullCollections: runs.reduce((n, r) => n + (r.collections["2"]?.count ?? 0), 0),
      maxStepMs: median(runs.map((r) => r.maxStepMs)),
      maxStepRange: [Math.min(...runs.map((r) => r.maxStepMs)), Math.max(...runs.map((r) => r.maxStepMs))],
      maxStepCpuMs: median(runs.map((r) => r.maxStepCpuMs)),
      maxStepCpuRange: [Math.min(...runs.map((r) => r.maxStepCpuMs)), Math.max(...runs.map((r) => r.maxStepCpuMs))],
      // Each kind's longest step over the rounds (wall and CPU clock), how many ran, how many took over 2 ms.
      steps: Object.fromEntries(
        Object.keys(runs[0].steps).map((kind) => {
          const all = runs.map((r) => r.steps[kind]);
          const sum = (key) => all.reduce((n, step) => n + step[key], 0);
          return [kind, { longestMs: Math.max(...all.map((s) => s.longestMs)), longestCpuMs: Math.max(...all.map((s) => s.longestCpuMs)), totalMs: sum("totalMs"), totalCpuMs: sum("totalCpuMs"), count: sum("count"), over2Ms: sum("over2Ms"), over2CpuMs: sum("over2CpuMs") }];
        }),
      ),
      eldP99Ms: median(runs.map((r) => r.eldP99Ms)),
      scrapes: scrapes.length,
      scrapeP50Ms: percentile(scrapes, 50),
      scrapeP99Ms: percentile(scrapes, 99),
      bytes: runs.at(-1).bytes,
      statuses: [...new Set(runs.flatMap((r) => r.statuses))],
      conservation: runs.every((r) => r.conservation === undefined) ? undefined : runs.every((r) => r.conservation?.exact === true),
      conservationRuns: runs.map((r) => r.conservation).filter(Boolean),
    });
  }
  return { quick, seconds, rounds, results };
}

const ms = (v) => `${v.toFixed(v < 10 ? 2 : 0)} ms`;

/** A case's longest gap, wall clock and (where measured) the thread's own clock. */
const gap = (r) => (r === undefined ? "n/a" : `${ms(r.maxGapMs)}${r.maxGapCpuMs === undefined ? "" : ` (${ms(r.maxGapCpuMs)} on-CPU)`}`);

/** What the gaps had in them: collections of the main thread's heap, or not. */
const collected = (r) =>
  r === undefined
    ? "n/a"
    : `${r.gapsOver2CpuMsInGc} of ${r.gapsOver2CpuMs} gaps over 2 ms on-CPU had a collection in them; longest gap without one ${ms(r.maxGapOutsideGcMs)} (${ms(r.maxGapCpuOutsideGcMs)} on-CPU); ${r.scavenges} scavenges (longest ${ms(r.longestScavengeMs)}), ${r.fullCollections} full collections`;

/** Each kind of step's longest, where any ran. */
const stepDetail = (r) =>
  Object.entries(r.steps)
    .filter(([, step]) => step.count > 0)
    .map(([kind, step]) => `${kind} ${ms(step.longestCpuMs)} on-CPU / ${ms(step.longestMs)} wall, ${step.over2CpuMs}/${step.over2Ms} of ${step.count} over 2 ms, ${ms(step.totalCpuMs / r.rounds)} / ${ms(step.totalMs / r.rounds)} in all`)
    .join(", ");

/** The main-thread stall goals, each `{ name, want, value, unit, met, detail }`. */
export function stallGoals(stalls) {
  const out = [];
  const find = (contender, series, flood, baseline = false) =>
    stalls.results.find((r) => r.contender === contender && r.series === series && (r.flood ?? 0) === (flood ?? 0) && r.hubOptions === undefined && r.nodeFlags === undefined && (r.baseline === true) === baseline);
  const idle = stalls.results.find((r) => r.contender === "idle");
  for (const series of [10, 1000, 10_000, 100_000]) {
    const ours = find("prom-threads", series);
    const theirs = find("prom-client", series);
    if (ours === undefined) continue;
    out.push({ name: `longest main-thread step of metrics work, scrapes every second, ${series} label sets`, want: "≤ 2 ms", value: ours.maxStepCpuMs, unit: "ms", met: ours.maxStepCpuMs <= 2, detail: `${ms(ours.maxStepCpuMs)} on-CPU, ${ms(ours.maxStepMs)} wall (${stepDetail(ours)}; prom-client ${theirs ? `${ms(theirs.maxStepCpuMs)} on-CPU` : "n/a"})` });
    out.push({ name: `longest setImmediate gap, scrapes every second, ${series} label sets`, want: "≤ 2 ms", value: ours.maxGapMs, unit: "ms", met: ours.maxGapMs <= 2, detail: `${gap(ours)}; ${collected(ours)}; idle baseline ${gap(idle)}; prom-client ${gap(theirs)}` });
    out.push({ name: `event-loop delay p99, scrapes every second, ${series} label sets`, want: "≤ 10 ms", value: ours.eldP99Ms, unit: "ms", met: ours.eldP99Ms <= 10, detail: `${ms(ours.eldP99Ms)} (prom-client ${theirs ? ms(theirs.eldP99Ms) : "n/a"})` });
    if (theirs !== undefined) {
      const x = ours.scrapeP50Ms / theirs.scrapeP50Ms;
      out.push({ name: `scrape time vs prom-client's, ${series} label sets (median)`, want: "≤ 1.2x", value: x, unit: "x", met: x <= 1.2, detail: `${ms(ours.scrapeP50Ms)} vs ${ms(theirs.scrapeP50Ms)}` });
    }
  }
  const flood = find("prom-threads", 3000, 2);
  const floodBase = find("prom-threads", 3000, 2, true);
  const floodSerial = stalls.results.find((r) => r.flood === 2 && r.nodeFlags !== undefined);
  if (flood !== undefined) {
    out.push({ name: "overload (2 workers flat out, 3,000 label sets): longest main-thread step of metrics work", want: "≤ 2 ms", value: flood.maxStepCpuMs, unit: "ms", met: flood.maxStepCpuMs <= 2, detail: `${ms(flood.maxStepCpuMs)} on-CPU, ${ms(flood.maxStepMs)} wall (${stepDetail(flood)})` });
    out.push({ name: "overload: longest setImmediate gap", want: "≤ 2 ms", value: flood.maxGapMs, unit: "ms", met: flood.maxGapMs <= 2, detail: `${gap(flood)}; ${collected(flood)}; same workers, no scrapes: ${gap(floodBase)}; scavenges on the main thread alone (--no-parallel-scavenge): ${gap(floodSerial)}, ${collected(floodSerial)}` });
    out.push({ name: "overload: event-loop delay p99", want: "≤ 10 ms", value: flood.eldP99Ms, unit: "ms", met: flood.eldP99Ms <= 10, detail: `${ms(flood.eldP99Ms)} (same workers, no scrapes: ${floodBase ? ms(floodBase.eldP99Ms) : "n/a"})` });
    out.push({ name: "overload: scrape p99", want: "≤ 100 ms", value: flood.scrapeP99Ms, unit: "ms", met: flood.scrapeP99Ms <= 100, detail: `${ms(flood.scrapeP99Ms)} over ${flood.scrapes} scrapes` });
    out.push({ name: "overload: conservation (counted + dropped = calls)", want: "exact", value: flood.conservation ? 1 : 0, unit: "", met: flood.conservation === true, detail: flood.conservationRuns.map((c) => `${c.counted} + ${c.dropped} = ${c.calls}`).join("; ") });
  }
  return out;
}

/** Print the cases and the goals. */
export function printStalls(stalls, goals = stallGoals(stalls)) {
  console.log(`\nmain-thread stalls (${stalls.rounds} round(s) of ${stalls.seconds} s per case; medians of rounds):`);
  for (const r of stalls.results) {
    const options = `${r.hubOptions === undefined ? "" : ` (${Object.entries(r.hubOptions).map(([k, v]) => `${k}: ${v}`).join(", ")})`}${r.nodeFlags === undefined ? "" : ` (node ${r.nodeFlags.join(" ")})`}`;
    const scraping = r.baseline ? ", no scrapes (baseline)" : r.flood ? ", back-to-back scrapes" : ", scrape every 1 s";
    const what = r.contender === "idle" ? "idle (no scrapes): the machine's own gaps" : `${r.contender}${options}, ${r.series} label sets${r.flood ? `, ${r.flood} workers flat out` : ""}${scraping}`;
    const held = r.conservationRuns.length > 0 ? `; counted + dropped = calls: ${r.conservation ? "exact" : "NOT exact"}` : "";
    const scr = r.scrapes > 0 ? `; scrape p50 ${ms(r.scrapeP50Ms)}, p99 ${ms(r.scrapeP99Ms)} (${r.scrapes}), ${(r.bytes / 1024).toFixed(0)} KiB` : "";
    const steps = stepDetail(r);
    console.log(`  ${what}: longest gap ${gap(r)} [${r.maxGapRange.map(ms).join(" .. ")}], ELD p99 ${ms(r.eldP99Ms)}${scr}${held}`);
    console.log(`    ${collected(r)}`);
    if (steps !== "") console.log(`    longest metrics step ${ms(r.maxStepCpuMs)} on-CPU [${r.maxStepCpuRange.map(ms).join(" .. ")}], ${ms(r.maxStepMs)} wall [${r.maxStepRange.map(ms).join(" .. ")}]: ${steps}`);
  }
  if (goals.length === 0) return;
  console.log("\ngoals:");
  for (const g of goals) console.log(`  ${g.met ? "met   " : "MISSED"} ${g.name}: ${g.detail} (want ${g.want})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = flags();
  const info = machine();
  const stalls = await stallBench(options);
  printStalls(stalls);
  mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
  const part = typeof options.only === "string" ? `-${options.only}` : "";
  writeFileSync(new URL(`./results/stalls${options.quick ? "-quick" : ""}${part}.json`, import.meta.url), `${JSON.stringify({ machine: info, ...stalls, goals: stallGoals(stalls) }, null, 2)}\n`);
}
