// `npm run bench [-- --quick]`: the core benchmarks (worker-side cost, drain, sustained load) and the
// contender suite, side by side in one run. Prints every figure with ratios and writes
// bench/results/latest.json (and the core figures to results/core*.json, as before).
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { burstBreakdown, drainThroughput, earlyRecordCost, observeCost, printCore, sharedMemory, sustainedLoad } from "./core.js";
import { goals } from "./lib/goals.js";
import { nativeCost, printNative, printRender, renderCost } from "./native.js";
import { otelCost, printOtel } from "./otel.js";
import { figuresOf, mergeFigures, printReport, targets } from "./lib/report.js";
import { flags, machine } from "./lib/stats.js";
import { ensureBenchDependencies } from "./setup.js";
import { printStalls, stallBench, stallGoals } from "./stalls.js";
import { printStartup, startupBench, startupGoals } from "./startup.js";
import { runSuite, settingsFor } from "./suite.js";

const options = flags();
// Warnings of this process (the core benchmarks' hubs); the suite's children report their own.
const warnings = [];
process.on("warning", (warning) => warnings.push(`core: ${warning.code ?? warning.name}: ${warning.message}`));
const started = performance.now();
const info = machine();
info.loadAverageAtStart = os.loadavg();
const log = (line) => console.log(line);
const { node22, version: node22Version } = ensureBenchDependencies(log);
info.node22 = node22Version;
console.log(`prom-threads benchmarks${options.quick ? " (quick)" : ""} on ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, Node ${info.node} (and ${node22Version} for @prometheus-io/client)`);
console.log(`load average at start: ${info.loadAverageAtStart.map((l) => l.toFixed(2)).join(" ")}`);

console.log("\ncore benchmarks ...");
const costRun = await observeCost(options);
const { cost } = costRun;
const breakdown = await burstBreakdown(options);
const early = await earlyRecordCost(options);
const memory = await sharedMemory();
const drain = await drainThroughput(options);
const load = await sustainedLoad(options);
const native = await nativeCost(options);
native.render = await renderCost(options);
const otel = await otelCost(options);

console.log(`contender suite under Node ${info.node} ...`);
const node20 = await runSuite({
  node: process.execPath,
  contenders: ["prom-client", "postMessage", "cluster", "prom-threads"],
  costContenders: ["prom-client", "postMessage", "prom-threads"],
  overheadContenders: ["prom-client", "postMessage", "prom-threads"],
  withCluster: true,
  quick: options.quick,
  log,
});
console.log(`contender suite under Node ${node22Version} ...`);
const next = await runSuite({
  node: node22,
  contenders: ["worker-registry", "prom-threads"],
  costContenders: ["worker-registry", "prom-threads"],
  overheadContenders: ["worker-registry", "prom-threads"],
  withCluster: false,
  quick: options.quick,
  log,
});

console.log("main-thread stalls while scraped ...");
const stalls = await stallBench(options);
const startup = await startupBench(options);

const figures = mergeFigures(figuresOf(node20, ""), figuresOf(next, "@22"));
info.loadAverageAtEnd = os.loadavg();
info.seconds = (performance.now() - started) / 1000;
const result = {
  machine: info,
  quick: options.quick,
  settings: settingsFor(options.quick),
  core: { cost, costSettings: costRun.settings, floor: costRun.floor, beforeDropped: costRun.beforeDropped, promThreadsDropped: costRun.promThreadsDropped, breakdown, early, drain, load, memory },
  native,
  otel,
  figures,
  warnings: [...warnings, ...node20.warnings, ...next.warnings],
};
result.targets = targets(figures);
result.goals = [...goals(result), ...stallGoals(stalls), ...startupGoals(startup)];

printCore({ cost, drain, load, memory, costRun, breakdown, early });
printNative(native);
printRender(native.render);
printStalls(stalls, []);
printStartup(startup);
printOtel(otel);
printReport(result);
console.log(`\nload average at end: ${info.loadAverageAtEnd.map((l) => l.toFixed(2)).join(" ")}; took ${info.seconds.toFixed(0)} s`);

mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const suffix = options.quick ? "-quick" : "";
writeFileSync(new URL(`./results/core${suffix}.json`, import.meta.url), `${JSON.stringify({ machine: info, ...result.core }, null, 2)}\n`);
const latest = new URL("./results/latest.json", import.meta.url);
writeFileSync(latest, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote bench/results/latest.json and bench/results/core${suffix}.json; \`node bench/chart.js\` draws docs/benchmarks.svg from it`);
const lost = load.counted !== load.produced || load.dropped !== 0 || drain.drained !== drain.expected;
process.exitCode = lost ? 1 : 0;
