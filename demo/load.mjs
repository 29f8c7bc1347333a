// Load test of the demo service: `npm run load -- --help`.
import autocannon from "autocannon";
import { parseArgs } from "node:util";
import { KINDS } from "./jobs/kinds.mjs";
import { assertLoopback, isUp, jobCounts, startDemo } from "./service.mjs";

const HELP = `Usage: npm run load -- [options]      (or: node demo/load.mjs [options])

Drives the demo's API with autocannon for a bounded time, one request per job kind in turn, then
prints requests per second and latency percentiles, and checks from a scrape of /metrics that the
demo's job counter of each kind grew by exactly the 2xx responses of that kind. Exit code 1 when
they differ. Starts a demo on free loopback ports when none answers at the default URL (or with
--start), and stops it afterwards; a --url you name that does not answer is an error.

Options:
  --seconds <n>        how long to send requests            default 10
  --connections <n>    concurrent connections               default 8
  --url <url>          API of a running demo                default http://127.0.0.1:3000/
  --metrics-url <url>  its metrics                          default http://127.0.0.1:9464/metrics
  --start              start a demo of our own even if one answers at --url
  --threads <n>        worker threads of a demo we start    default: its own default
  -h, --help           print this help and exit
`;

function usage(message) {
  console.error(`load: ${message}\nRun with --help for the options.`);
  process.exit(2);
}

function integer(values, name, fallback, min, max) {
  const text = values[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) usage(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return value;
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      seconds: { type: "string" },
      connections: { type: "string" },
      url: { type: "string" },
      "metrics-url": { type: "string" },
      start: { type: "boolean" },
      threads: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (error) {
  usage(error.message);
}
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const seconds = integer(values, "seconds", 10, 1, 3600);
const connections = integer(values, "connections", 8, 1, 1000);
const threads = values.threads === undefined ? undefined : integer(values, "threads", 0, 1, 256);
let apiUrl = values.url ?? "http://127.0.0.1:3000/";
let metricsUrl = values["metrics-url"] ?? "http://127.0.0.1:9464/metrics";
try {
  assertLoopback(apiUrl, "--url");
  assertLoopback(metricsUrl, "--metrics-url");
} catch (error) {
  usage(error.message);
}

let demo;
if (values.start || !(await isUp(apiUrl))) {
  if (values.url !== undefined && !values.start) usage(`nothing answers at ${apiUrl}; start the demo (npm start) or drop --url to let the load test start one`);
  console.log("load: starting a demo service on free loopback ports");
  try {
    demo = await startDemo({ threads });
  } catch (error) {
    console.error(`load: ${error.message}`);
    process.exit(3);
  }
  ({ apiUrl, metricsUrl } = demo);
}
console.log(`load: API ${apiUrl}  metrics ${metricsUrl}`);

let exitCode = 0;
try {
  exitCode = await run();
} catch (error) {
  console.error(`load: ${error.message}`);
  exitCode = 3;
} finally {
  if (demo !== undefined) {
    const code = await demo.stop();
    console.log(`load: demo stopped, exit code ${code}`);
    if (code !== 0 && exitCode === 0) exitCode = 3;
  }
}
process.exitCode = exitCode;

async function run() {
  const kinds = Object.keys(KINDS);
  const answered = Object.fromEntries(kinds.map((kind) => [kind, 0]));
  const before = await jobCounts(metricsUrl);
  const started = performance.now();
  let lastResponse = started;
  let stopping = false;

  const instance = autocannon({
    url: apiUrl,
    connections,
    // Our own deadline ends the run (below); this one only bounds a run whose connections never answer.
    duration: seconds + 30,
    timeout: 30,
    // autocannon notices that every connection has finished at its next sample: keep that wait short.
    sampleInt: 200,
    requests: kinds.map((kind) => ({
      method: "GET",
      path: `/jobs/${kind}`,
      onResponse(status) {
        if (status >= 200 && status < 300) answered[kind]++;
      },
    })),
  });

  // Stop sending at the deadline, but let every request in flight finish: autocannon's own stop closes
  // connections with requests in flight, whose jobs would then run without their response being counted.
  // A connection that has sent as many requests as it may (responseMax) closes after its response.
  const deadline = setTimeout(() => {
    stopping = true;
  }, seconds * 1000);
  let responses = 0;
  instance.on("response", (client) => {
    responses++;
    lastResponse = performance.now();
    if (!stopping) return;
    if (typeof client.reqsMade !== "number") throw new Error("this autocannon version has no Client.reqsMade; the graceful stop needs updating");
    client.responseMax = client.reqsMade;
  });
  // One line a second while it runs (autocannon's progress bar needs a terminal; this works in CI too).
  let previous = 0;
  let previousAt = started;
  const progress = setInterval(() => {
    const now = performance.now();
    const perSecond = ((responses - previous) * 1000) / (now - previousAt);
    [previous, previousAt] = [responses, now];
    const total = Object.values(answered).reduce((a, b) => a + b, 0);
    const at = ((now - started) / 1000).toFixed(1);
    console.log(`load: ${at.padStart(5)} s  ${perSecond.toFixed(0).padStart(6)} responses/s  ${total} 2xx so far${stopping ? "  (finishing requests in flight)" : ""}`);
  }, 1000);
  process.once("SIGINT", () => {
    console.log("load: SIGINT: stopping early");
    stopping = true;
  });

  const result = await instance;
  clearTimeout(deadline);
  clearInterval(progress);
  const elapsed = (lastResponse - started) / 1000;
  const after = await jobCounts(metricsUrl);

  const total = result["1xx"] + result["2xx"] + result["3xx"] + result["4xx"] + result["5xx"];
  const { latency } = result;
  console.log("");
  console.log(`load: ${total} responses in ${elapsed.toFixed(2)} s over ${connections} connections: ${(total / elapsed).toFixed(1)} requests/s`);
  console.log(`load: latency ms  p50 ${latency.p50}  p90 ${latency.p90}  p97.5 ${latency.p97_5}  p99 ${latency.p99}  max ${latency.max}  (mean ${latency.mean})`);
  console.log(`load: 2xx ${result["2xx"]}  non-2xx ${result.non2xx}  errors ${result.errors}  timeouts ${result.timeouts}`);
  console.log("");
  console.log("load: kind      2xx seen   demo_jobs_total grew by");
  let mismatches = 0;
  for (const kind of kinds) {
    const grew = (after[kind] ?? 0) - (before[kind] ?? 0);
    const ok = grew === answered[kind];
    if (!ok) mismatches++;
    console.log(`load: ${kind.padEnd(8)} ${String(answered[kind]).padStart(9)}   ${String(grew).padStart(9)}   ${ok ? "ok" : "MISMATCH"}`);
  }
  if (result.errors > 0) console.log(`load: ${result.errors} requests failed without a response; a job may have run for some of them`);
  if (mismatches > 0) {
    console.log(`load: FAIL: the job counters of ${mismatches} kind(s) differ from the 2xx responses`);
    return 1;
  }
  console.log("load: OK: every kind's job counter equals its 2xx responses");
  return 0;
}
