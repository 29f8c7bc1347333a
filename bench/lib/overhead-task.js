// A piscina task file: the same no-op and 1 ms tasks, bare and instrumented by each contender with a
// duration histogram and a task counter, the way a user would instrument a pool task.
import { parentPort, workerData } from "node:worker_threads";
import { HELP } from "./workload.js";

const noop = () => 0;
const oneMs = () => {
  const end = performance.now() + 1;
  let spins = 0;
  while (performance.now() < end) spins++;
  return spins;
};
const bodies = { noop, "1ms": oneMs };

async function instrument(contender) {
  const names = { name: "task_seconds", help: HELP, labelNames: ["kind"] };
  const counted = { name: "tasks_total", help: HELP, labelNames: ["kind"] };
  const out = {};
  switch (contender) {
    case "none":
      for (const [kind, body] of Object.entries(bodies)) out[kind] = body;
      return out;
    case "prom-client":
    case "worker-registry": {
      const client = (await import(contender === "prom-client" ? "prom-client" : "@prometheus-io/client")).default;
      if (contender === "worker-registry") new client.WorkerRegistry();
      const histogram = new client.Histogram(names);
      const counter = new client.Counter(counted);
      for (const [kind, body] of Object.entries(bodies)) {
        const seconds = histogram.labels(kind);
        const tasks = counter.labels(kind);
        out[kind] = () => {
          const end = seconds.startTimer();
          const result = body();
          end();
          tasks.inc();
          return result;
        };
      }
      return out;
    }
    case "postMessage":
      for (const [kind, body] of Object.entries(bodies)) {
        out[kind] = () => {
          const start = performance.now();
          const result = body();
          // One message per observation: the duration, then the count; the main thread applies both.
          parentPort.postMessage([2, kind, (performance.now() - start) / 1000]);
          parentPort.postMessage([0, kind, 1]);
          return result;
        };
      }
      return out;
    case "prom-threads": {
      const worker = await import("../../dist/worker/index.js");
      const histogram = new worker.Histogram(names);
      const counter = new worker.Counter(counted);
      for (const [kind, body] of Object.entries(bodies)) {
        const tasks = counter.labels(kind);
        const timed = worker.time(histogram.labels(kind), body);
        out[kind] = () => {
          const result = timed();
          tasks.inc();
          return result;
        };
      }
      return out;
    }
    default:
      throw new Error(`unknown contender ${contender}`);
  }
}

const runners = {};
for (const contender of ["none", ...workerData.contenders]) runners[contender] = await instrument(contender);

export default function task({ variant, kind }) {
  return runners[variant][kind]();
}
