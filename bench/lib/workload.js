// The workload every contender runs: the same metric names, label sets, values and CPU-bound task.
import vm from "node:vm";
import v8 from "node:v8";

/** Histogram every contender records into; one label, `series`. */
export const HISTOGRAM = "bench_seconds";
/** Counter every contender records into. */
export const COUNTER = "bench_total";
/** Histogram that timed no-ops observe into. */
export const TIMED = "bench_noop_seconds";
/** Two labels, as in `route` and `status`: the second is always "ok". */
export const LABELS = ["series", "status"];
export const HELP = "Benchmark workload.";

/** Label values of series `i`. */
export const seriesLabels = (i) => [`s${i}`, "ok"];
/** Observed value number `i`: spread over the default buckets, no allocation. */
export const valueAt = (i) => (i & 1023) / 1000;

/**
 * Run one CPU-bound task of `ms` milliseconds, recording an observation every `everyMs` milliseconds of
 * it on `child`, as instrumented application code would. Returns the number of observations.
 */
export function busyTask(ms, child, everyMs) {
  const start = performance.now();
  let next = start + everyMs;
  let x = 1;
  let observed = 0;
  for (;;) {
    for (let i = 0; i < 500; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
    const now = performance.now();
    if (now >= next) {
      child.observe(valueAt(observed++ + (x & 1)));
      next += everyMs;
    }
    if (now - start >= ms) break;
  }
  return observed;
}

let gcFunction;
/** Run a full garbage collection (V8's gc, exposed at run time) so heap figures show live memory only. */
export function collectGarbage() {
  if (gcFunction === undefined) {
    v8.setFlagsFromString("--expose-gc");
    gcFunction = vm.runInNewContext("gc");
  }
  gcFunction();
  gcFunction();
}

/** Heap in use after a full collection, in bytes. */
export function liveHeap() {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Sum of every `bench_seconds_count` sample in an exposition text: observations a scrape sees. */
export function countIn(text, metric = HISTOGRAM) {
  const prefix = `${metric}_count`;
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(prefix)) total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/** p-th percentile (0..100) of numbers, nearest rank. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
