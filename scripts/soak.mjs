#!/usr/bin/env node
// npm run soak -- --minutes N   (or --seconds N, or --tasks N; --seed S; --crash-rate R; --threads T)
//
// Runs the churn workload of scripts/soak/workload.mjs (piscina pools with idle-timeout churn, tasks that
// crash their workers five ways, a scrape every 50 ms) for the given time, printing a progress line every
// few seconds, then a conservation report. Exits 1 when conservation fails, a counter went down, a slot
// or gauge leaked, or a record was malformed. Everything runs in this process; no network.
import { parseArgs } from "node:util";
import { runWorkload } from "./soak/workload.mjs";

const { values } = parseArgs({
  options: {
    minutes: { type: "string" },
    seconds: { type: "string" },
    tasks: { type: "string" },
    seed: { type: "string" },
    "crash-rate": { type: "string", default: "0.01" },
    threads: { type: "string", default: "2" },
    "stall-every": { type: "string", default: "2" },
    "stall-ms": { type: "string", default: "500" },
    "overflow-records": { type: "string", default: "20000" },
    progress: { type: "string", default: "5" },
    json: { type: "boolean", default: false },
    "no-firehose": { type: "boolean", default: false },
    "simulate-loss": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

if (values.help) {
  console.log(
    [
      "usage: npm run soak -- [--minutes N | --seconds N | --tasks N] [options]",
      "  --seed S            replay a run",
      "  --crash-rate R      share of tasks that crash their worker (default 0.01)",
      "  --threads T         pool threads (default 2)",
      "  --stall-every S     block the main thread every S seconds (default 2; 0: never)",
      "  --stall-ms MS       for MS milliseconds (default 500)",
      "  --overflow-records N   the hub's overflowRecords (default 20000, small, so drops happen)",
      "  --no-firehose       no worker that records without pause (it makes stalls overflow its ring)",
      "  --progress S        a progress line every S seconds (default 5)",
      "  --json              print the report as JSON",
    ].join("\n"),
  );
  process.exit(0);
}

function number(name, text) {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`soak: --${name} must be a non-negative number, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}

const durationMs =
  values.minutes !== undefined ? number("minutes", values.minutes) * 60_000 : values.seconds !== undefined ? number("seconds", values.seconds) * 1000 : undefined;
const tasks = values.tasks !== undefined ? number("tasks", values.tasks) : undefined;
const options = {
  durationMs: durationMs ?? (tasks === undefined ? 60_000 : Infinity),
  tasks: tasks ?? Infinity,
  crashRate: number("crash-rate", values["crash-rate"]),
  maxThreads: number("threads", values.threads),
  progressIntervalMs: number("progress", values.progress) * 1000,
  stallEveryMs: number("stall-every", values["stall-every"]) * 1000,
  stallMs: number("stall-ms", values["stall-ms"]),
  overflowRecords: number("overflow-records", values["overflow-records"]),
  firehose: !values["no-firehose"],
  simulateLoss: values["simulate-loss"],
  ...(values.seed !== undefined ? { seed: number("seed", values.seed) } : {}),
};

const fmt = (n) => Math.round(n).toLocaleString("en-US");
console.log(
  `soak: ${options.durationMs === Infinity ? "" : `${options.durationMs / 1000} s`}${options.tasks === Infinity ? "" : ` ${options.tasks} tasks`}, crash rate ${options.crashRate}, ${options.maxThreads} threads, ` +
    `main-thread stall ${options.stallMs} ms every ${options.stallEveryMs / 1000} s, overflowRecords ${options.overflowRecords}`,
);
// A hard stop: the workload stops submitting at its deadline and waits for running tasks; if anything hangs,
// do not hang with it.
const hardStopMs = (options.durationMs === Infinity ? 600_000 : options.durationMs) + 120_000;
const hardStop = setTimeout(() => {
  console.error(`soak: still running ${hardStopMs / 1000} s after the start; giving up`);
  process.exit(1);
}, hardStopMs);
hardStop.unref();

const report = await runWorkload({
  ...options,
  onProgress: (p) => {
    const dropped = Object.values(p.dropped).reduce((a, b) => a + b, 0);
    const crashes = Object.values(p.crashes).reduce((a, b) => a + b, 0);
    console.log(
      `[${(p.elapsedMs / 1000).toFixed(0).padStart(5)} s] tasks ${fmt(p.tasks)}  crashes ${fmt(crashes)}  counted ${fmt(p.counted)}  dropped ${fmt(dropped)}  scrapes ${fmt(p.scrapes)} (p99 ${p.scrapeP99Ms.toFixed(1)} ms)  rss ${p.rssMiB.toFixed(0)} MiB  decreases ${p.decreases}`,
    );
  },
});
clearTimeout(hardStop);

if (values.json) {
  console.log(JSON.stringify(report));
} else {
  const dropped = Object.entries(report.dropped)
    .map(([reason, n]) => `${reason} ${fmt(n)}`)
    .join(", ");
  const lines = [
    "",
    `conservation report (seed ${report.seed}, ${(report.elapsedMs / 1000).toFixed(1)} s)`,
    `  tasks        ${fmt(report.tasks)} (${fmt(report.completed)} completed; crashed: ${Object.entries(report.crashes).map(([k, n]) => `${k} ${n}`).join(", ")})`,
    `  attempted    ${fmt(report.attempted)} observation calls`,
    `  counted      ${fmt(report.counted)}`,
    `  dropped      ${fmt(Object.values(report.dropped).reduce((a, b) => a + b, 0))} (${dropped})`,
    `  rejected     ${fmt(report.rejected)} (threw at the call)`,
    `  in flight    ${fmt(report.inFlight)} calls of killed tasks; ${fmt(report.unresolved)} of them never arrived`,
    `  rule         ${report.conservation.rule}: ${report.conservation.ok ? "holds" : "FAILS"}`,
    `  stalls       ${report.stalls} main-thread stalls`,
    `  decreases    ${report.decreases.length} counter decreases across ${fmt(report.scrapes)} scrapes${report.decreases.length ? `: ${report.decreases.slice(0, 5).join("; ")}` : ""}`,
    `  scrape       p50 ${report.scrapeMs.p50.toFixed(1)} ms, p99 ${report.scrapeMs.p99.toFixed(1)} ms, max ${report.scrapeMs.max.toFixed(1)} ms`,
    `  memory       max rss ${report.maxRssMiB.toFixed(0)} MiB`,
    `  leaks        workers connected ${report.workersConnected}, soak_tasks_running ${report.gaugeLeft ?? "absent"}`,
    `  cardinality  soak_task_calls_total: ${report.taskSeries} series, ${fmt(report.seriesOverflow)} label sets folded`,
    `  result       ${report.ok ? "OK" : "FAILED"}`,
  ];
  console.log(lines.join("\n"));
}
process.exit(report.ok ? 0 : 1);
