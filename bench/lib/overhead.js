// Overhead of instrumentation as a share of a piscina task: the same pool runs bare and instrumented
// tasks, variants alternating round by round (their order rotating), and each figure is a median.
import { Piscina } from "piscina";
import { summarize } from "../lib/stats.js";

/** Time per task (µs) of each variant and kind, and the overhead of each contender over the bare task. */
export async function measureOverhead({ contenders, rounds, tasks, threads }) {
  const client = (await import("prom-client")).default;
  const registry = new client.Registry();
  let hub;
  let data = { contenders };
  if (contenders.includes("prom-threads")) {
    const { MetricsHub } = await import("../../dist/main/index.js");
    hub = new MetricsHub({ registry });
    data = { ...data, ...hub.workerData };
  }
  if (contenders.includes("worker-registry")) {
    const next = (await import("@prometheus-io/client")).default;
    new next.WorkerRegistry();
  }
  const pool = new Piscina({ filename: new URL("./overhead-task.js", import.meta.url).href, workerData: data, minThreads: threads, maxThreads: threads, idleTimeout: 60_000 });
  hub?.attach(pool);
  const posted = { applied: 0 };
  if (contenders.includes("postMessage")) {
    // A registry of its own: the hub's registry holds prom-threads' metrics of the same names, and two
    // contenders declaring one name in one registry is a conflict (the hub warns about it).
    const postedRegistry = new client.Registry();
    const seconds = new client.Histogram({ name: "task_seconds", help: "h", labelNames: ["kind"], registers: [postedRegistry] });
    const total = new client.Counter({ name: "tasks_total", help: "h", labelNames: ["kind"], registers: [postedRegistry] });
    pool.on("message", (message) => {
      if (!Array.isArray(message)) return;
      posted.applied++;
      if (message[0] === 2) seconds.labels(message[1]).observe(message[2]);
      else total.labels(message[1]).inc(message[2]);
    });
  }
  const variants = ["none", ...contenders];
  const out = {};
  for (const kind of ["noop", "1ms"]) {
    const n = tasks[kind];
    const samples = Object.fromEntries(variants.map((v) => [v, []]));
    for (let round = -1; round < rounds; round++) {
      for (let k = 0; k < variants.length; k++) {
        const variant = variants[(k + Math.max(round, 0)) % variants.length];
        const arg = { variant, kind };
        const expected = posted.applied + (variant === "postMessage" ? 2 * n : 0);
        const start = performance.now();
        const pending = new Array(n);
        for (let i = 0; i < n; i++) pending[i] = pool.run(arg);
        await Promise.all(pending);
        // For postMessage, the work is done when its observations are applied: wait for the main thread.
        while (posted.applied < expected) await new Promise((resolve) => setImmediate(resolve));
        const us = ((performance.now() - start) * 1000) / n;
        if (round >= 0) samples[variant].push(us);
      }
    }
    const bare = summarize(samples.none);
    out[kind] = { tasksPerRound: n, perTaskUs: Object.fromEntries(variants.map((v) => [v, summarize(samples[v])])) };
    out[kind].overheadPercent = Object.fromEntries(contenders.map((v) => [v, ((out[kind].perTaskUs[v].median - bare.median) / bare.median) * 100]));
  }
  await pool.destroy();
  await hub?.close();
  return out;
}
