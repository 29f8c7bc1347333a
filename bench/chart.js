// Draw docs/benchmarks.svg from bench/results/latest.json: four panels of horizontal bars, one bar per
// contender, prom-threads highlighted. `node bench/chart.js [results.json] [out.svg]`.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const NAMES = {
  "prom-client": "prom-client, same thread",
  postMessage: "postMessage per observation",
  cluster: "AggregatorRegistry (cluster)",
  "prom-threads": "prom-threads",
  "prom-threads-noself": "prom-threads*",
  "worker-registry@22": "WorkerRegistry (Node 22)",
  "prom-threads@22": "prom-threads (Node 22)",
  "prom-threads-noself@22": "prom-threads* (Node 22)",
};
const ORDER = Object.keys(NAMES);
const ours = (key) => key.startsWith("prom-threads");

const escapeXml = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const number = (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(v >= 1e7 ? 0 : 1)}M` : v >= 1e4 ? `${(v / 1e3).toFixed(0)}k` : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/**
 * One panel: a title, then a bar per row, on a linear scale unless `log` (log10, for values that span
 * decades; the panels here use linear scales so that bar lengths compare as the figures do);
 * each bar carries data-* attributes so tests and readers can check what it stands for.
 */
function panel({ id, x, y, width, title, note, rows, unit, log = false }) {
  const labelWidth = 210;
  const barArea = width - labelWidth - 70;
  const rowHeight = 20;
  const values = rows.map((r) => r.value).filter((v) => v > 0);
  const max = Math.max(...values);
  const min = Math.min(...values);
  // Log bars start one decade below the smallest value, so the smallest bar is still visible.
  const floor = log ? 10 ** (Math.floor(Math.log10(min)) - 1) : 0;
  // A bar is never thinner than one pixel, so the smallest value stays visible on a linear scale.
  const length = (v) => (v <= 0 ? 0 : Math.max(1, log ? (barArea * Math.log10(v / floor)) / Math.log10(max / floor) : (barArea * v) / max));
  const parts = [`<g id="${id}" transform="translate(${x},${y})">`, `<text class="title" x="0" y="0">${escapeXml(title)}</text>`];
  if (note) parts.push(`<text class="note" x="0" y="16">${escapeXml(note)}</text>`);
  rows.forEach((row, i) => {
    const top = 28 + i * rowHeight;
    const w = length(row.value);
    parts.push(
      `<text class="label" x="${labelWidth - 8}" y="${top + 13}" text-anchor="end">${escapeXml(row.label)}</text>`,
      `<rect class="${ours(row.key) ? "ours" : "them"}" data-key="${escapeXml(row.key)}" data-value="${row.value}" x="${labelWidth}" y="${top + 2}" width="${w.toFixed(1)}" height="${rowHeight - 6}"/>`,
      `<text class="value" x="${(labelWidth + w + 5).toFixed(1)}" y="${top + 13}">${escapeXml(`${number(row.value)} ${unit}`)}</text>`,
    );
  });
  parts.push("</g>");
  return { svg: parts.join("\n"), height: 36 + rows.length * rowHeight };
}

const sortRows = (rows) => rows.sort((a, b) => ORDER.indexOf(a.key) - ORDER.indexOf(b.key));

/** Render the SVG for a results object (bench/results/latest.json). Throws when a figure is missing. */
export function renderChart(result) {
  const f = result?.figures;
  for (const name of ["busyScrapes", "throughput", "cost", "series"]) {
    if (!Array.isArray(f?.[name]) || f[name].length === 0) throw new Error(`results have no figures.${name}: run \`npm run bench\` first`);
  }
  const width = 1100;
  const column = (width - 60) / 2;
  const busy = f.busyScrapes;
  const workers = Math.max(...f.throughput.map((t) => t.workers));
  const specs = [
    {
      id: "busy-scrape-p99",
      title: `Scrape p99, workers busy with ${busy[0].taskMs} ms tasks`,
      note: `ms, lower is better; ${busy[0].workers} workers running CPU-bound tasks back to back; /metrics over HTTP`,
      unit: "ms",
      rows: sortRows(busy.map((b) => ({ key: b.key, label: NAMES[b.key] ?? b.key, value: b.p99 }))),
    },
    {
      id: "throughput",
      title: `End-to-end observations per second, ${workers} workers`,
      note: "higher is better; workers record as fast as they can, until a scrape shows every observation",
      unit: "/s",
      rows: sortRows(f.throughput.filter((t) => t.workers === workers).map((t) => ({ key: t.key, label: NAMES[t.key] ?? t.key, value: t.rate.median }))),
    },
    {
      id: "observe-cost",
      title: "Worker-side cost of histogram.observe",
      note: "ns per call, lower is better; stored child, 2 labels; median of rounds",
      unit: "ns",
      rows: sortRows(f.cost.filter((c) => c.shape.startsWith("histogram.observe")).map((c) => ({ key: c.key, label: NAMES[c.key] ?? c.key, value: c.median }))),
    },
    {
      id: "metrics-rps",
      title: "/metrics requests per second, 1000 histogram series",
      note: "higher is better; autocannon, loopback, 10 connections, node:http; * selfMetrics: false",
      unit: "req/s",
      rows: sortRows(f.series.filter((s) => s.series === 1000).map((s) => ({ key: s.key, label: NAMES[s.key] ?? s.key, value: s.rps }))),
    },
  ];
  const top = 62;
  const heightOf = (spec) => 36 + spec.rows.length * 20;
  const rowOne = Math.max(heightOf(specs[0]), heightOf(specs[1]));
  const rowTwo = Math.max(heightOf(specs[2]), heightOf(specs[3]));
  const at = [
    [20, top],
    [40 + column, top],
    [20, top + rowOne + 24],
    [40 + column, top + rowOne + 24],
  ];
  const panels = specs.map((spec, i) => panel({ ...spec, x: at[i][0], y: at[i][1], width: column }));
  const height = top + rowOne + 24 + rowTwo + 16;
  const m = result.machine ?? {};
  const load = m.loadAverageAtStart ? `, load average ${m.loadAverageAtStart.map((l) => l.toFixed(2)).join(" ")} at start` : "";
  const subtitle = `${m.cpu ?? "?"}, ${m.cores ?? "?"} cores, Node ${m.node ?? "?"}${m.node22 ? ` (and ${m.node22})` : ""}, ${m.date ? m.date.slice(0, 10) : ""}${load}${result.quick ? "; quick run" : ""}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">`,
    "<style>.title{font-weight:600;font-size:13px}.note{fill:#555;font-size:11px}.label{fill:#222}.value{fill:#222;font-size:11px}.ours{fill:#1f77b4}.them{fill:#b0b0b0}.heading{font-weight:700;font-size:16px}</style>",
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text class="heading" x="20" y="26">prom-threads against what a user would pick instead: same workload, one run</text>`,
    `<text class="note" x="20" y="44">${escapeXml(subtitle)}</text>`,
    ...panels.map((p) => p.svg),
    "</svg>",
    "",
  ].join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const input = process.argv[2] ?? fileURLToPath(new URL("./results/latest.json", import.meta.url));
  const output = process.argv[3] ?? fileURLToPath(new URL("../docs/benchmarks.svg", import.meta.url));
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, renderChart(JSON.parse(readFileSync(input, "utf8"))));
  console.log(`wrote ${output}`);
}
