// The pool's task module: runs one job and records it with prom-threads' worker-side metrics.
import { Counter, Histogram } from "prom-threads/worker";
import { hash } from "./hash.mjs";
import { json } from "./json.mjs";
import { pixels } from "./pixels.mjs";

const kinds = { hash, json, pixels };

const completed = new Counter({ name: "demo_jobs_total", help: "Jobs completed, by kind.", labelNames: ["kind"] });
const failed = new Counter({ name: "demo_job_failures_total", help: "Jobs that threw, by kind.", labelNames: ["kind"] });
const seconds = new Histogram({
  name: "demo_job_seconds",
  help: "Time a job computed, by kind.",
  labelNames: ["kind"],
  buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
});

// Bound children, made once: recording on them is a few stores into this thread's ring.
const metrics = Object.fromEntries(
  Object.keys(kinds).map((kind) => [kind, { completed: completed.labels(kind), failed: failed.labels(kind), seconds: seconds.labels(kind) }]),
);

/** Run the job `kind` with `params`; counted as completed only once it has returned its result. */
export default function run({ kind, params }) {
  const job = kinds[kind];
  const m = metrics[kind];
  if (job === undefined || m === undefined) throw new Error(`unknown job kind ${JSON.stringify(kind)}`);
  const end = m.seconds.startTimer();
  try {
    const result = job(params);
    m.completed.inc();
    return result;
  } catch (error) {
    m.failed.inc();
    throw error;
  } finally {
    end();
  }
}
