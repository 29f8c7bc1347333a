// A piscina task, run in worker threads of each cluster worker process.
import { Counter, Histogram, time } from "prom-threads/worker";

const jobs = new Counter({ name: "jobs_total", help: "Jobs run.", labelNames: ["parity"] });
const seconds = new Histogram({ name: "job_seconds", help: "Job duration in seconds." });
const odd = jobs.labels("odd");
const even = jobs.labels("even");

export default time(seconds, async ({ n }) => {
  (n % 2 ? odd : even).inc(); // in shared memory when inc() returns: no flush needed
  return n * 2;
});
