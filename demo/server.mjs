// The prom-threads demo service: `npm start`. See `npm start -- --help`.
import { Piscina } from "piscina";
import { collectDefaultMetrics, register } from "prom-client";
import { MetricsHub, startHttpServer } from "prom-threads";
import { startApi } from "./api.mjs";
import { HELP, UsageError, parseConfig } from "./config.mjs";

let config;
try {
  config = parseConfig(process.argv.slice(2), process.env);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`demo: ${error.message}\nRun with --help for the options.`);
  process.exit(2);
}
if (config.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

collectDefaultMetrics(); // the main process's own figures, next to the workers'
const hub = new MetricsHub(); // aggregates into prom-client's default register
hub.on("error", (error) => console.error(`demo: metrics: ${error.code}: ${error.message}`));
const pool = new Piscina({
  filename: new URL("./jobs/index.mjs", import.meta.url).href,
  workerData: hub.workerData,
  minThreads: config.threads,
  maxThreads: config.threads,
  maxQueue: config.threads * 64, // past it the API answers 503
  // Idle workers wait on their event loop, not in Atomics.wait: their event loop utilization then means
  // something, and their per-thread metrics are sampled on time.
  atomics: "async",
});
hub.attach(pool, { name: "jobs" });

let api;
let metrics;
try {
  api = await startApi({ pool, host: config.host, port: config.port, registry: register });
  metrics = await startHttpServer({ hub, host: config.host, port: config.metricsPort });
} catch (error) {
  console.error(`demo: cannot start: ${error.message}`);
  await api?.close();
  await pool.destroy();
  await hub.close();
  process.exit(1);
}
console.log(`demo: API     ${api.url}  (try ${api.url}jobs/hash)`);
console.log(`demo: metrics ${metrics.url}`);
console.log(`demo: ${config.threads} worker threads; stop with Ctrl-C`);

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`demo: ${signal}: finishing requests in progress, then stopping`);
  // Bounded: a stop that hangs ends the process with an error instead.
  setTimeout(() => {
    console.error("demo: did not stop within 15 s; exiting");
    process.exit(1);
  }, 15_000).unref();
  await api.close(); // no new requests; those in progress finish
  await pool.close(); // every queued and running job finishes
  await metrics.close();
  await hub.close();
  console.log("demo: stopped");
}
process.once("SIGINT", () => void stop("SIGINT"));
process.once("SIGTERM", () => void stop("SIGTERM"));
