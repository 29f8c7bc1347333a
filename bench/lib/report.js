// Turn the raw results of the suite into the figures of bench/results/latest.json, print them as tables
// with ratios against every contender, and check the targets of issue 6.
import { goalLines } from "./goals.js";
import { summarize } from "./stats.js";

/** Column order and names. A key is a contender, suffixed @22 when it ran under Node 22. */
export const COLUMNS = [
  { key: "prom-client", name: "prom-client", long: "prom-client in the thread that observes (one thread)" },
  { key: "postMessage", name: "postMessage", long: "postMessage per observation, observed with prom-client in the main thread" },
  { key: "cluster", name: "AggregatorReg.", long: "prom-client AggregatorRegistry over node:cluster (processes)" },
  { key: "prom-threads", name: "prom-threads", long: "prom-threads (Node 20)" },
  { key: "prom-threads-noself", name: "prom-threads*", long: "prom-threads with selfMetrics: false (serves what prom-client serves)" },
  { key: "worker-registry@22", name: "WorkerReg.@22", long: "@prometheus-io/client 0.16 WorkerRegistry, Node 22" },
  { key: "prom-threads@22", name: "prom-threads@22", long: "prom-threads under the same Node 22" },
  { key: "prom-threads-noself@22", name: "prom-threads*@22", long: "prom-threads with selfMetrics: false, Node 22" },
];
const nameOf = (key) => COLUMNS.find((c) => c.key === key)?.name ?? key;
/** prom-threads' own key for the runtime a contender ran under: ratios compare within one runtime. */
const oursFor = (key) => (key.endsWith("@22") ? "prom-threads@22" : "prom-threads");

/** Normalize the raw suite results of one runtime (`suffix` "" or "@22") into flat figure lists. */
export function figuresOf(raw, suffix) {
  const key = (contender) => `${contender}${suffix}`;
  const out = { cost: [], throughput: [], busyScrapes: [], series: [], memory: [], overhead: [], crash: [] };
  for (const c of raw.cost) out.cost.push({ key: key(c.contender), shape: c.shape, ...summarize(c.values) });
  for (const [kind, o] of Object.entries(raw.overhead)) {
    for (const [variant, s] of Object.entries(o.perTaskUs)) {
      out.overhead.push({ key: variant === "none" ? `bare${suffix}` : key(variant), kind, tasksPerRound: o.tasksPerRound, perTaskUs: s, overheadPercent: variant === "none" ? 0 : o.overheadPercent[variant] });
    }
  }
  for (const [contender, r] of Object.entries(raw.contenders)) {
    for (const t of r.throughput) {
      const rates = t.rounds.map((x) => x.counted / x.seconds);
      const dropped = t.rounds.reduce((a, x) => a + (x.expected - x.counted), 0);
      const reported = t.rounds.reduce((a, x) => a + (x.reportedDropped ?? 0), 0);
      out.throughput.push({ key: key(contender), workers: t.workers, perWorker: t.perWorker, rate: summarize(rates), produced: t.rounds.reduce((a, x) => a + x.expected, 0), dropped, reportedDropped: reported });
    }
    const b = r.busyScrapes;
    out.busyScrapes.push({ key: key(contender), workers: b.workers, taskMs: b.taskMs, p50: b.p50, p99: b.p99, max: b.max, scrapes: b.scrapes, errors: b.errors, inThread: b.inThread });
    for (const s of r.seriesAndMemory.bySeries) {
      out.series.push({ key: key(contender), series: s.series, bytes: s.bytes, p50: s.p50, p99: s.p99, scrapes: s.scrapes, rps: s.http.rps, httpErrors: s.http.errors + s.http.non2xx, httpLatencyP99: s.http.latencyP99 });
    }
    for (const s of r.seriesWithoutSelfMetrics?.bySeries ?? []) {
      out.series.push({ key: key("prom-threads-noself"), series: s.series, bytes: s.bytes, p50: s.p50, p99: s.p99, scrapes: s.scrapes, rps: s.http.rps, httpErrors: s.http.errors + s.http.non2xx, httpLatencyP99: s.http.latencyP99 });
    }
    const m = r.seriesAndMemory.memory;
    const heaps = m.workers.map((w) => w.heap);
    out.memory.push({
      key: key(contender),
      series: m.series,
      workerHeap: heaps.length ? heaps.reduce((a, b) => a + b, 0) / heaps.length : null,
      workerRss: contender === "cluster" && m.workers.length ? m.workers[0].rss : null,
      mainHeap: m.main.heap,
      sharedBytesPerWorker: m.ringBytesPerWorker,
      sharedBytesReserved: m.sharedBytesReserved ?? 0,
    });
    if (r.crash) out.crash.push({ key: key(contender), ...r.crash });
  }
  return out;
}

/** Merge figure lists of several runtimes. */
export function mergeFigures(...parts) {
  const out = {};
  for (const part of parts) for (const [name, list] of Object.entries(part)) (out[name] ??= []).push(...list);
  return out;
}

const fixed = (v, digits = 1) => (v === null || v === undefined || Number.isNaN(v) ? "–" : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(digits) : v.toPrecision(Math.max(2, digits + 1)));
const rate = (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(v >= 1e7 ? 1 : 2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(0)}k` : v.toFixed(0));
const bytes = (v) => (v === null ? "–" : Math.abs(v) >= 2 ** 20 ? `${(v / 2 ** 20).toFixed(1)} MiB` : `${(v / 1024).toFixed(0)} KiB`);
const spread = (s) => `±${((s.spread * 100) / 2).toFixed(0)}%`;
const ratio = (x) => (x >= 10 ? `${x.toFixed(0)}x` : `${x.toFixed(1)}x`);

function textTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `  ${cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join("  ")}`;
  return [line(header), `  ${widths.map((w) => "-".repeat(w)).join("  ")}`, ...rows.map(line)].join("\n");
}

/** The targets of issue 6, each with the measured value and whether it is met. */
export function targets(f) {
  const out = [];
  const busy = (k) => f.busyScrapes.find((b) => b.key === k);
  for (const other of ["cluster", "worker-registry@22"]) {
    const them = busy(other);
    const us = busy(oursFor(other));
    if (!them || !us) continue;
    out.push({ name: `scrape p99 under busy workers vs ${nameOf(other)}`, want: "≥ 20x better", value: them.p99 / us.p99, met: them.p99 / us.p99 >= 20, detail: `${fixed(us.p99)} ms vs ${fixed(them.p99)} ms` });
  }
  for (const workers of [1, 2, 4]) {
    const find = (k) => f.throughput.find((t) => t.key === k && t.workers === workers);
    const them = find("postMessage");
    const us = find("prom-threads");
    if (!them || !us) continue;
    const x = us.rate.median / them.rate.median;
    out.push({ name: `end-to-end throughput vs postMessage, ${workers} worker${workers > 1 ? "s" : ""}`, want: "≥ 5x", value: x, met: x >= 5, detail: `${rate(us.rate.median)}/s vs ${rate(them.rate.median)}/s` });
  }
  const cost = (k) => f.cost.find((c) => c.key === k && c.shape.startsWith("histogram.observe"));
  if (cost("prom-client") && cost("prom-threads")) {
    const x = cost("prom-threads").median / cost("prom-client").median;
    out.push({ name: "worker-side histogram.observe vs prom-client in-thread", want: "≤ 0.10 of its cost", value: x, met: x <= 0.1, detail: `${fixed(cost("prom-threads").median)} ns vs ${fixed(cost("prom-client").median)} ns` });
  }
  for (const series of [10, 1000]) {
    const find = (k) => f.series.find((s) => s.key === k && s.series === series);
    if (!find("prom-client") || !find("prom-threads")) continue;
    const x = find("prom-threads").rps / find("prom-client").rps;
    out.push({ name: `/metrics requests/s vs prom-client, ${series} series`, want: "≥ 1.0x", value: x, met: x >= 1, detail: `${fixed(find("prom-threads").rps)} vs ${fixed(find("prom-client").rps)} req/s` });
  }
  return out;
}

function markdownTable(header, rows) {
  const cell = (c) => String(c).replace(/\|/g, "\\|").replace(/\*/g, "\\*");
  return [`| ${header.map(cell).join(" | ")} |`, `| ${header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

/**
 * Print every figure as tables, with ratios of prom-threads against each contender; with `markdown`,
 * as Markdown (what docs/benchmarks.md shows).
 */
export function printReport(result, log = console.log, { markdown = false } = {}) {
  const f = result.figures;
  const table = markdown ? markdownTable : textTable;
  const heading = (text) => (markdown ? `\n**${text}**\n` : `\n${text}`);
  const keysOf = (list) => COLUMNS.map((c) => c.key).filter((k) => list.some((x) => x.key === k));

  log(heading("Contenders"));
  for (const c of COLUMNS) if (Object.values(f).some((list) => list.some((x) => x.key === c.key))) log(markdown ? `- **${c.name.replace(/\*/g, "\\*")}**: ${c.long}` : `  ${c.name.padEnd(17)} ${c.long}`);
  if (markdown) log("");
  log("Each cell: median ± half the min–max spread over rounds, then (how many times better prom-threads is, on the same Node).");

  log(heading("Worker-side cost per call, ns"));
  const shapes = [...new Set(f.cost.map((c) => c.shape))];
  const costKeys = keysOf(f.cost);
  log(table(["case", ...costKeys.map(nameOf)],
    shapes.map((shape) => {
      const get = (k) => f.cost.find((c) => c.key === k && c.shape === shape);
      const cell = (k) => {
        const c = get(k);
        if (!c) return "–";
        const ours = get(oursFor(k));
        return `${fixed(c.median)} ${spread(c)}${k.startsWith("prom-threads") || !ours ? "" : ` (${ratio(c.median / ours.median)})`}`;
      };
      return [shape, ...costKeys.map(cell)];
    })));

  log(heading("End-to-end observations per second into the registry: each worker records N observations as fast as it can; the clock stops when a scrape shows them all"));
  const tKeys = keysOf(f.throughput);
  log(table(["workers", ...tKeys.map(nameOf), "dropped"],
    [1, 2, 4].map((w) => {
      const get = (k) => f.throughput.find((t) => t.key === k && t.workers === w);
      const dropped = tKeys.map((k) => get(k)?.dropped ?? 0).reduce((a, b) => a + b, 0);
      const cell = (k) => {
        const t = get(k);
        if (!t) return "–";
        const ours = get(oursFor(k));
        return `${rate(t.rate.median)}/s ${spread(t.rate)}${k.startsWith("prom-threads") || !ours ? "" : ` (${ratio(ours.rate.median / t.rate.median)})`}`;
      };
      return [String(w), ...tKeys.map(cell), String(dropped)];
    })));
  log(`${markdown ? "\n" : "  "}N per worker: ${tKeys.map((k) => `${nameOf(k)} ${rate(f.throughput.find((t) => t.key === k).perWorker)}`).join(", ")}; dropped = produced − scraped, all rounds and contenders`);

  const b0 = f.busyScrapes[0];
  log(heading(`Scrape latency over HTTP while ${b0?.workers} workers run ${b0?.taskMs} ms CPU-bound tasks back to back, ms (the same-thread contender runs the tasks itself)`));
  log(table(["contender", "HTTP p50", "p99", "max", "scrapes", "p99: prom-threads better by", "call alone p50", "p99", "calls"],
    keysOf(f.busyScrapes).map((k) => {
      const b = f.busyScrapes.find((x) => x.key === k);
      const us = f.busyScrapes.find((x) => x.key === oursFor(k));
      const t = b.inThread;
      return [nameOf(k), fixed(b.p50, 2), fixed(b.p99, 2), fixed(b.max, 2), `${b.scrapes}${b.errors ? ` (${b.errors} failed)` : ""}`, k.startsWith("prom-threads") ? "" : ratio(b.p99 / us.p99), t ? fixed(t.p50, 2) : "–", t ? fixed(t.p99, 2) : "–", t ? t.scrapes : "–"];
    })));

  log(heading("Idle scrapes and /metrics throughput with 10 and 1000 histogram series (2 workers; autocannon, loopback, 10 connections)"));
  log(table(["contender", "series", "bytes", "scrape p50 ms", "p99 ms", "requests/s", "prom-threads/them"],
    keysOf(f.series).flatMap((k) =>
      f.series.filter((s) => s.key === k).map((s) => {
        const us = f.series.find((x) => x.key === oursFor(k) && x.series === s.series);
        return [nameOf(k), s.series, bytes(s.bytes), fixed(s.p50, 2), fixed(s.p99, 2), `${fixed(s.rps)}${s.httpErrors ? ` (${s.httpErrors} failed)` : ""}`, k.startsWith("prom-threads") ? "" : `${(us.rps / s.rps).toFixed(2)}x`];
      }),
    )));

  log(heading("Memory with 1000 histogram series, 2 workers (live heap after a full GC, over a baseline taken before any metric existed)"));
  log(table(["contender", "per worker (heap)", "main thread (heap)", "shared memory", "note"],
    keysOf(f.memory).map((k) => {
      const m = f.memory.find((x) => x.key === k);
      const note = m.workerRss ? `each worker is a process: ${bytes(m.workerRss)} RSS` : m.sharedBytesReserved ? `in use: control buffer and ${bytes(m.sharedBytesPerWorker)} ring per connected worker` : "";
      return [nameOf(k), m.workerHeap === null ? "– (no workers)" : bytes(m.workerHeap), bytes(m.mainHeap), m.sharedBytesReserved ? bytes(m.sharedBytesReserved) : "–", note];
    })));

  log(heading("Instrumentation overhead in a piscina pool (2 threads): a duration histogram and a task counter per task; µs per task and % over the bare task"));
  const oKeys = ["bare", ...COLUMNS.map((c) => c.key)].flatMap((k) => (k === "bare" ? ["bare", "bare@22"] : [k])).filter((k) => f.overhead.some((o) => o.key === k));
  log(table(["variant", "no-op task µs", "overhead", "1 ms task µs", "overhead", "worker-side cost of the instrumentation", "as % of a no-op task"],
    oKeys.map((k) => {
      const get = (kind) => f.overhead.find((o) => o.key === k && o.kind === kind);
      const pct = (o) => (k.startsWith("bare") ? "" : `${o.overheadPercent >= 0 ? "+" : ""}${o.overheadPercent.toFixed(1)}%`);
      // What the cost table predicts: one time() around the task plus one counter.inc, per task.
      const shapeCost = (prefix) => f.cost.find((c) => c.key === k && c.shape.startsWith(prefix))?.median;
      const predicted = shapeCost("time()") !== undefined && shapeCost("counter.inc") !== undefined ? (shapeCost("time()") + shapeCost("counter.inc")) / 1000 : undefined;
      const bare = f.overhead.find((o) => o.key === (k.endsWith("@22") ? "bare@22" : "bare") && o.kind === "noop");
      return [
        k.startsWith("bare") ? `bare task${k.endsWith("@22") ? " (Node 22)" : ""}` : nameOf(k),
        `${fixed(get("noop").perTaskUs.median, 2)} ${spread(get("noop").perTaskUs)}`,
        pct(get("noop")),
        `${fixed(get("1ms").perTaskUs.median)} ${spread(get("1ms").perTaskUs)}`,
        pct(get("1ms")),
        predicted === undefined ? "" : `${predicted.toFixed(2)} µs${k === "postMessage" ? " + main thread" : ""}`,
        predicted === undefined || !bare ? "" : `${((predicted / bare.perTaskUs.median) * 100).toFixed(1)}%`,
      ];
    })));

  log(heading("One of two workers killed (terminate / SIGKILL) after recording; the next scrape"));
  log(table(["contender", "scrape ms", "observations scraped before → after", "outcome"],
    keysOf(f.crash).map((k) => {
      const c = f.crash.find((x) => x.key === k);
      const outcome = c.error ? `failed: ${c.error}` : c.after >= c.before ? "every count kept" : `${c.before - c.after} observations lost: counts went down`;
      return [nameOf(k), fixed(c.ms, 2), `${c.before} → ${c.after ?? "none"}`, outcome];
    })));

  if (result.goals) {
    log(heading("Goals (issue 14: performance at the floor; issue 19: one writer shape; issue 25: bursts at the floor, drain)"));
    for (const line of goalLines(result.goals, markdown)) log(line);
  }

  log(heading("Targets (issue 6)"));
  for (const t of result.targets) log(`${markdown ? "- " : "  "}${t.met ? "met    " : "MISSED "} ${t.name}: ${t.want}; measured ${t.value.toFixed(t.value < 1 ? 3 : 1)}${t.name.includes("observe") ? "" : "x"} (${t.detail})`);
}
