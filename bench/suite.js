// The contender suite: runs every figure for every contender, each contender in its own child
// process (so one's workers, registries and heap never disturb another's), under Node 20 and, for
// @prometheus-io/client, under Node 22. This process runs the HTTP clients against the children.
import { fork } from "node:child_process";
import http from "node:http";
import autocannon from "autocannon";
import { percentile } from "./lib/workload.js";

/** How long and how often: `--quick` finishes the whole `npm run bench` within a minute. */
export function settingsFor(quick) {
  return {
    cost: { ops: quick ? 200_000 : 1_000_000, rounds: quick ? 4 : 9 },
    contender: {
      workerCounts: [1, 2, 4],
      // Observations per worker and round. postMessage runs at about a millionth of a second per message,
      // so it gets fewer (its rate is steady well before that); the others get enough that start-up and
      // the final scrape are a small part of a round.
      perWorker: quick ? { default: 300_000, postMessage: 60_000 } : { default: 2_000_000, postMessage: 500_000 },
      warmupRounds: 1,
      rounds: quick ? 2 : 7,
      // Half of `seconds` is scraped over HTTP from this process, the other half in the child's own thread.
      // Scrapes 2 ms apart (1-3 ms, random), and 4 s in quick mode (1.9 s of it over HTTP): prom-threads
      // then gets several hundred scrapes even in quick mode, so its p99 is a percentile and not its one
      // worst scrape (at 10 ms apart over 0.7 s it had about 60: its p99 was its maximum).
      busy: { workers: 2, seconds: quick ? 4 : 12, taskMs: 200, everyMs: 0.1, intervalMs: 2 },
      series: { workers: 2, counts: [10, 1000], perSeries: 3, scrapes: quick ? 10 : 100, httpSeconds: quick ? 0.5 : 5, connections: 10 },
      // WorkerRegistry gives up on a dead worker after its own 5 s; quick mode stops waiting sooner.
      crash: { perWorker: 1000, timeoutMs: quick ? 2000 : 6000 },
      selfMetricsOff: !quick,
    },
    // Many short rounds, variants interleaved, so slow drifts of the machine hit every variant alike.
    overhead: { rounds: quick ? 2 : 30, tasks: { noop: quick ? 3000 : 4000, "1ms": quick ? 100 : 200 }, threads: 2 },
  };
}

/** Run one child (`mode` is contender, cost or overhead) under the Node binary `node`. */
export function runChild({ node, mode, contender, settings, figures, log }) {
  const started = performance.now();
  const args = JSON.stringify({ mode, contender, settings: { ...settings, figures } });
  const child = fork(new URL("./lib/contender-run.js", import.meta.url), [args], { execPath: node, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    let settled = false;
    child.on("message", async (message) => {
      if (message?.done) {
        settled = true;
        log?.(`    ${mode}${contender ? ` ${contender}` : ""}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
        if (message.error) reject(new Error(`${mode} ${contender ?? ""}: ${message.error}`));
        else resolve(message.result);
        return;
      }
      try {
        const result = message.kind === "latency" ? await scrapeLatency(message.args) : await requestsPerSecond(message.args);
        child.send({ requestId: message.requestId, result });
      } catch (error) {
        child.send({ requestId: message.requestId, error: String(error?.stack ?? error) });
      }
    });
    child.on("exit", (code) => {
      if (!settled) reject(new Error(`${mode} ${contender ?? ""} exited with ${code} before reporting`));
    });
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      let bytes = 0;
      res.on("data", (chunk) => (bytes += chunk.length));
      res.on("end", () => resolve({ status: res.statusCode, bytes }));
    });
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("scrape took over 10 s")));
  });
}

/**
 * GET /metrics one request at a time, as Prometheus does, and time each response: either `count`
 * requests back to back, or for `seconds` with `intervalMs` between the end of one and the next.
 */
async function scrapeLatency({ url, count, seconds, intervalMs, delayMs = 0 }) {
  if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
  await get(url); // warm-up: connection and first render
  const times = [];
  let errors = 0;
  const end = seconds === undefined ? Infinity : performance.now() + seconds * 1000;
  while (count === undefined ? performance.now() < end : times.length + errors < count) {
    const start = performance.now();
    const { status } = await get(url).catch(() => ({ status: 0 }));
    if (status === 200) times.push(performance.now() - start);
    else errors++;
    if (intervalMs) await new Promise((resolve) => setTimeout(resolve, intervalMs * (0.5 + Math.random())));
  }
  return { scrapes: times.length, errors, p50: percentile(times, 50), p99: percentile(times, 99), max: Math.max(...times) };
}

/** /metrics requests per second with autocannon's programmatic API, on loopback, for a bounded time. */
async function requestsPerSecond({ url, seconds, connections }) {
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  return {
    rps: result.requests.total / Math.max(result.duration, seconds),
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
  };
}

/** Run every figure for `contenders` under `node`; returns raw results keyed by contender. */
export async function runSuite({ node, contenders, costContenders, overheadContenders, quick, withCluster, log }) {
  const settings = settingsFor(quick);
  const out = { contenders: {}, warnings: [] };
  const run = async (args) => {
    const result = await runChild(args);
    out.warnings.push(...(result.warnings ?? []).map((w) => `${args.mode}${args.contender ? ` ${args.contender}` : ""}: ${w}`));
    return result;
  };
  // postMessage's receiving main thread would share a thread with the hub, and its backlog of a million
  // messages (and the garbage they leave) would slow the hub's drain: it gets a child of its own.
  const together = costContenders.filter((c) => c !== "postMessage");
  out.cost = (await run({ node, log, mode: "cost", settings: { ...settings.cost, contenders: together, cluster: withCluster } })).cost;
  if (costContenders.includes("postMessage")) {
    out.cost.push(...(await run({ node, log, mode: "cost", settings: { ...settings.cost, contenders: ["postMessage"], cluster: false } })).cost);
  }
  out.overhead = (await run({ node, log, mode: "overhead", settings: { ...settings.overhead, contenders: overheadContenders } })).overhead;
  for (const contender of contenders) {
    out.contenders[contender] = await run({
      log,
      node,
      mode: "contender",
      contender,
      settings: settings.contender,
      figures: ["throughput", "busyScrapes", "seriesAndMemory", ...(contender === "prom-threads" && settings.contender.selfMetricsOff ? ["seriesWithoutSelfMetrics"] : []), "crash"],
    });
  }
  return out;
}
