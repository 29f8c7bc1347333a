// `node bench/publish.js [results.json]`: from bench/results/latest.json, write docs/benchmarks.svg and
// the results section of docs/benchmarks.md (between its `results:start` and `results:end` markers),
// so the docs always show one run's figures exactly as measured.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderChart } from "./chart.js";
import { printReport } from "./lib/report.js";
import { fmt } from "./lib/stats.js";

const input = process.argv[2] ?? fileURLToPath(new URL("./results/latest.json", import.meta.url));
const docs = fileURLToPath(new URL("../docs/benchmarks.md", import.meta.url));
const svg = fileURLToPath(new URL("../docs/benchmarks.svg", import.meta.url));
const result = JSON.parse(readFileSync(input, "utf8"));

const lines = [];
const m = result.machine;
const load = (l) => l.map((x) => x.toFixed(2)).join(", ");
lines.push(
  `Run of ${m.date.slice(0, 16).replace("T", " ")} UTC${result.quick ? " (quick mode: fewer, shorter rounds)" : ""}: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node} and ${m.node22}. ` +
    `Load average (1, 5, 15 min) ${load(m.loadAverageAtStart)} at the start and ${load(m.loadAverageAtEnd)} at the end; the run took ${m.seconds.toFixed(0)} s.`,
);
printReport(result, (line) => lines.push(line), { markdown: true });

const { cost, drain, load: sustained } = result.core;
lines.push("", "**Core figures (same thread, prom-client's own metrics beside prom-threads'; these back the README)**", "");
lines.push("| case | median | min–max | rounds |", "| --- | ---: | ---: | ---: |");
for (const [name, s] of Object.entries(cost)) lines.push(`| ${name} | ${fmt(s.median)} ns | ${fmt(s.min)}–${fmt(s.max)} | ${s.rounds} |`);
for (const [name, s] of Object.entries(result.core.breakdown?.cases ?? {})) lines.push(`| breakdown: ${name} | ${fmt(s.median)} ns | ${fmt(s.min)}–${fmt(s.max)} | ${s.rounds} |`);
lines.push(`| hub drain, records/s (main thread) | ${fmt(drain.hub.median)} | ${fmt(drain.hub.min)}–${fmt(drain.hub.max)} | ${drain.hub.rounds} |`);
lines.push(`| prom-client observe() once per record, records/s | ${fmt(drain.promClient.median)} | ${fmt(drain.promClient.min)}–${fmt(drain.promClient.max)} | ${drain.promClient.rounds} |`);
if (drain.manySeries) {
  lines.push(`| hub drain, histograms of 11 buckets, ${drain.seriesCount} label sets, records/s | ${fmt(drain.manySeries.median)} | ${fmt(drain.manySeries.min)}–${fmt(drain.manySeries.max)} | ${drain.manySeries.rounds} |`);
  lines.push(`| one producer's tight loop (histogram.observe, stored child), records/s | ${fmt(drain.producer.median)} | ${fmt(drain.producer.min)}–${fmt(drain.producer.max)} | ${drain.producer.rounds} |`);
}
for (const [name, s] of Object.entries(result.core.early?.cost ?? {})) lines.push(`| early record: ${name} | ${fmt(s.median)} ns | ${fmt(s.min)}–${fmt(s.max)} | ${s.rounds} |`);
const mem = result.core.memory;
if (mem) {
  lines.push("", `Shared memory with default options (maxWorkers ${mem.maxWorkers}): ${mem.idleBytes} bytes for an idle hub, ${mem.byWorkers[1]} with one worker connected, ${mem.byWorkers[2]} with two (${mem.perWorkerBytes} bytes, one ring, per connected worker).`);
}
/** What the floor lost or waited, as the run recorded it (runs before the lossless floor recorded drops). */
function floorSentence(core) {
  const f = core.floor;
  if (f === undefined) return `The floor dropped ${core.floorDropped} records on a full ring (it had no overflow; its reader thread did not keep up for those)`;
  return `The floor wrote ${f.written} records and its reader read ${f.read}; it found its ring full ${f.waits} times and waited ${f.waitedMs.toFixed(1)} ms in all for its reader, time taken out of its figures`;
}
const costSettings = result.core.costSettings;
if (costSettings) {
  lines.push("", `Short bursts: ${costSettings.bursts} bursts of ${costSettings.burst} records per round, 2 ms apart, only the bursts timed; 10^6 bursts: one burst of 1,000,000 records per round; everything drained between cases. ${floorSentence(result.core)}${result.core.beforeDropped === undefined ? "" : `; version 0.1's writer dropped ${result.core.beforeDropped}`}; prom-threads dropped ${result.core.promThreadsDropped}.`);
}
lines.push(
  "",
  `Sustained: ${sustained.workers} workers × ${fmt(sustained.ratePerWorker)} observations/s for ${sustained.seconds} s: ${sustained.produced} produced, ${sustained.counted} counted, ${sustained.dropped} dropped; scrapes during the run took ${sustained.scrapesMs.map((t) => t.toFixed(1)).join(", ")} ms.`,
);

const text = readFileSync(docs, "utf8");
const start = text.indexOf("<!-- results:start -->");
const end = text.indexOf("<!-- results:end -->");
if (start < 0 || end < start) throw new Error("docs/benchmarks.md needs <!-- results:start --> and <!-- results:end --> markers");
writeFileSync(docs, `${text.slice(0, start)}<!-- results:start -->\n<!-- written by bench/publish.js from bench/results/latest.json; do not edit by hand -->\n\n${lines.join("\n")}\n\n${text.slice(end)}`);
writeFileSync(svg, renderChart(result));
console.log(`wrote ${docs} (results section) and ${svg}`);
