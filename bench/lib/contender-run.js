// One benchmark child process: measures every figure of one contender (or the worker-side costs, or the
// piscina overhead) and reports them to the orchestrator (bench/suite.js) over IPC. The orchestrator
// runs the HTTP clients (scrape latency, autocannon), so they never share a thread with the server.
import http from "node:http";
import { openContender } from "./contenders.js";
import { countIn, liveHeap, percentile, sleep } from "./workload.js";

const { mode, contender, settings } = JSON.parse(process.argv[2]);
// Process warnings (a library's, such as a hub's declaration conflict) are reported with the results: a
// clean run prints none.
const warnings = [];
process.on("warning", (warning) => warnings.push(`${warning.code ?? warning.name}: ${warning.message}`));
let nextRequest = 0;
const waiting = new Map();
process.on("message", (message) => {
  const waiter = waiting.get(message?.requestId);
  if (waiter === undefined) return;
  waiting.delete(message.requestId);
  if (message.error) waiter.reject(new Error(message.error));
  else waiter.resolve(message.result);
});
/** Ask the orchestrator to run an HTTP client against our server, and wait for its figures. */
function ask(kind, args) {
  const requestId = ++nextRequest;
  return new Promise((resolve, reject) => {
    waiting.set(requestId, { resolve, reject });
    process.send({ requestId, kind, args });
  });
}

/** Serve the contender's exposition text from a plain node:http handler on loopback. */
async function serve(adapter) {
  const server = http.createServer(async (_req, res) => {
    try {
      const text = await adapter.scrape();
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(text);
    } catch (error) {
      res.writeHead(500);
      res.end(String(error?.message ?? error));
    }
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/metrics`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** End-to-end observations per second into the registry, for each worker count. */
async function throughput() {
  const out = [];
  const perWorker = settings.perWorker[contender] ?? settings.perWorker.default;
  for (const workers of settings.workerCounts) {
    const adapter = await openContender(contender, { workers });
    for (let r = 0; r < settings.warmupRounds; r++) await adapter.produce(perWorker);
    const rounds = [];
    for (let r = 0; r < settings.rounds; r++) rounds.push(await adapter.produce(perWorker));
    await adapter.close();
    out.push({ workers, perWorker, rounds });
  }
  return out;
}

/**
 * Scrape latency while every worker runs CPU-bound tasks: first over HTTP from the orchestrator (what
 * Prometheus sees), then, for the rest of the tasks, the time of the scrape call alone in this thread
 * (what the library itself costs; the OS scheduling the thread is no part of it).
 */
async function busyScrapes() {
  const { workers, seconds, taskMs, everyMs, intervalMs } = settings.busy;
  const adapter = await openContender(contender, { workers });
  const server = await serve(adapter);
  const startedAt = performance.now();
  const halfway = startedAt + (seconds * 1000) / 2;
  // Scraping starts a little after the tasks and ends a little before, so every scrape meets busy workers.
  const overHttp = ask("latency", { url: server.url, delayMs: 100, seconds: seconds / 2 - 0.1, intervalMs }).then(async (http) => {
    const calls = [];
    // The single-thread contender's calls run between its tasks: timing them says nothing; skip it.
    if (contender !== "prom-client") {
      while (performance.now() < halfway) await sleep(1);
      while (performance.now() < startedAt + seconds * 1000 - 200) {
        const start = performance.now();
        await adapter.scrape();
        calls.push(performance.now() - start);
        await sleep(intervalMs * (0.5 + Math.random()));
      }
    }
    return { ...http, inThread: calls.length ? { scrapes: calls.length, p50: percentile(calls, 50), p99: percentile(calls, 99), max: Math.max(...calls) } : null };
  });
  const [latency] = await Promise.all([overHttp, adapter.busy({ seconds, taskMs, everyMs })]);
  await server.close();
  await adapter.close();
  return { workers, taskMs, ...latency };
}

/** Scrape latency and /metrics requests per second with 10 and 1000 series; memory at 1000 series. */
async function seriesAndMemory(options = {}) {
  const { workers, counts, perSeries, scrapes, httpSeconds, connections } = settings.series;
  const mainBaseline = liveHeap();
  const buffersBaseline = process.memoryUsage().arrayBuffers;
  const adapter = await openContender(contender, { workers, ...options });
  const server = await serve(adapter);
  const bySeries = [];
  for (const count of counts) {
    await adapter.series(count, perSeries);
    const text = await adapter.scrape();
    const latency = await ask("latency", { url: server.url, count: scrapes, intervalMs: 0 });
    const rps = await ask("autocannon", { url: server.url, seconds: httpSeconds, connections });
    bySeries.push({ series: count, bytes: Buffer.byteLength(text), lines: text.split("\n").length, ...latency, http: rps });
  }
  const agents = await adapter.heap();
  const main = { heap: liveHeap() - mainBaseline, arrayBuffers: process.memoryUsage().arrayBuffers - buffersBaseline, rss: process.memoryUsage().rss };
  const memory = {
    series: counts.at(-1),
    workers: agents.map((a) => ({ heap: a.now - a.baseline, rss: a.rss })),
    main,
    ringBytesPerWorker: adapter.hub ? adapter.hub.stats().ringCapacity * 16 : 0,
    // Shared memory in use: the control buffer and each claimed slot's buffer as far as it was grown.
    sharedBytesReserved: adapter.hub ? adapter.hub.stats().sharedMemoryBytes : 0,
  };
  await server.close();
  await adapter.close();
  return { bySeries, memory };
}

/** What a scrape shows after one of two workers dies abruptly: how long it takes and what it kept. */
async function crash() {
  const { perWorker, timeoutMs } = settings.crash;
  const adapter = await openContender(contender, { workers: 2 });
  // Counts handed over by workers of earlier figures (WorkerRegistry keeps them) are not this figure's.
  const earlier = countIn(await adapter.scrape());
  await adapter.produce(perWorker);
  const before = countIn(await adapter.scrape()) - earlier;
  await adapter.agents.kill(0);
  await sleep(50);
  const start = performance.now();
  let after = null;
  let error = null;
  try {
    const text = await Promise.race([adapter.scrape(), sleep(timeoutMs).then(() => Promise.reject(new Error(`no answer in ${timeoutMs} ms`)))]);
    after = countIn(text) - earlier;
  } catch (e) {
    error = String(e?.message ?? e);
  }
  const ms = performance.now() - start;
  await adapter.close().catch(() => undefined);
  return { before, after, ms, error };
}

/** The series figures once more with the hub's self-metrics off: the same content as prom-client serves. */
async function seriesWithoutSelfMetrics() {
  const { bySeries } = await seriesAndMemory({ selfMetrics: false });
  return { bySeries };
}

const figures = { throughput, busyScrapes, seriesAndMemory, seriesWithoutSelfMetrics, crash };
const result = {};
try {
  if (mode === "contender") {
    for (const name of settings.figures) {
      if (name === "crash" && contender === "prom-client") continue;
      result[name] = await figures[name]();
    }
  } else if (mode === "cost") {
    result.cost = await (await import("./cost.js")).measureCost(settings);
  } else if (mode === "overhead") {
    result.overhead = await (await import("./overhead.js")).measureOverhead(settings);
  }
  result.warnings = warnings;
  process.send({ done: true, result }, () => process.exit(0));
} catch (error) {
  process.send({ done: true, error: String(error?.stack ?? error) }, () => process.exit(1));
}
