// A piscina task, run in worker threads of each cluster worker process.
import { Counter, Histogram, flush, time } from "prom-threads/worker";

const jobs = new Counter({ name: "jobs_total", help: "Jobs run.", labelNames: ["parity"] });
const seconds = new Histogram({ name: "job_seconds", help: "Job duration in seconds." });
const odd = jobs.labels("odd");
const even = jobs.labels("even");

export default time(seconds, async ({ n }) => {
  (n % 2 ? odd : even).inc();
  await flush(); // every record of this task is in the ring before the task returns
  return n * 2;
});
