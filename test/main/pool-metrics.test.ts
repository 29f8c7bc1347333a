/**
 * Pool metrics with a real piscina pool: every value against ground truth the test keeps itself (its own
 * promise outcomes, piscina's events, clocks read around each call, readings taken inside the workers).
 */
import { Worker } from "node:worker_threads";
import { Piscina } from "piscina";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub, type PoolAttachOptions, type PromThreadsError } from "../../src/main/index.js";
import { ErrorCodes } from "../../src/shared/api/errors.js";
import { samples } from "../helpers/exposition.js";
import { fixture, sleep, waitFor } from "../helpers/workers.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

type PoolOptions = NonNullable<ConstructorParameters<typeof Piscina>[0]>;

function setup(poolOptions: PoolOptions = {}, attach: PoolAttachOptions | false = {}) {
  const registry = new Registry();
  const hub = new MetricsHub({ registry });
  cleanup.push(() => hub.close());
  const pool = new Piscina({ filename: fixture("pool-jobs.mjs").href, workerData: hub.workerData, ...poolOptions });
  // piscina 5.3 emits "Unexpected message from Worker" when a task is aborted just as it finishes.
  pool.on("error", () => {});
  cleanup.push(() => pool.destroy());
  if (attach !== false) hub.attach(pool, attach);
  const scrape = async (): Promise<Map<string, number>> => samples(await registry.metrics());
  return { registry, hub, pool, scrape };
}

function outcomeOf(result: PromiseSettledResult<unknown>): string {
  if (result.status === "fulfilled") return "completed";
  return (result.reason as Error).name === "AbortError" ? "aborted" : "failed";
}

function tally(results: PromiseSettledResult<unknown>[]): Record<string, number> {
  const counts: Record<string, number> = { completed: 0, failed: 0, aborted: 0 };
  for (const result of results) counts[outcomeOf(result)]!++;
  return counts;
}

describe("task outcomes", () => {
  it("counts completed, failed and aborted calls exactly, and the tasks that started and finished in a worker", async () => {
    const { pool, scrape } = setup({ minThreads: 2, maxThreads: 2 }, { name: "outcomes" });
    const announced: unknown[] = [];
    pool.on("message", (message) => announced.push(message));
    // The first two workers exist before attach() and are announced a microtask later: counted once.
    const events = { created: 0, destroyed: 0 };
    pool.on("workerCreate", () => events.created++);
    pool.on("workerDestroy", () => events.destroyed++);
    const all: Array<Promise<unknown>> = [];

    // 30 that complete and 7 that throw in the handler.
    for (let i = 0; i < 30; i++) all.push(pool.run({ ms: 1 }));
    for (let i = 0; i < 7; i++) all.push(pool.run({ fail: true }));
    // One whose module does not exist: it reaches a worker and fails there.
    all.push(pool.run({}, { filename: "/nonexistent/prom-threads-task.mjs" }));
    // One aborted before the call: rejected at once, never queued.
    all.push(pool.run({}, { signal: AbortSignal.abort() }));
    await Promise.allSettled(all);

    // Two that are running (each holds a thread) when aborted, and three aborted while queued behind them.
    const running = [0, 1].map(() => new AbortController());
    for (const controller of running) all.push(pool.run({ hold: 30_000, announce: true }, { signal: controller.signal }));
    expect(await waitFor(() => announced.length === 2)).toBe(true);
    const queued = [0, 1, 2].map(() => new AbortController());
    for (const controller of queued) all.push(pool.run({ ms: 1 }, { signal: controller.signal }));

    const busy = await scrape();
    expect(busy.get('prom_threads_pool_queue_size{pool="outcomes"}')).toBe(pool.queueSize);
    expect(pool.queueSize).toBe(3);
    expect(busy.get('prom_threads_pool_threads{pool="outcomes"}')).toBe(2);

    for (const controller of queued) controller.abort();
    for (const controller of running) controller.abort();
    const results = await Promise.allSettled(all);
    const truth = tally(results);
    expect(truth).toEqual({ completed: 30, failed: 8, aborted: 6 });

    // Tasks that started in a worker: all but the 4 aborted before they started. Finished there: those
    // minus the 2 whose thread was terminated mid-task. The aborted tasks' records arrive with their exit.
    const started = 30 + 8 + 2;
    const finished = 30 + 8;
    expect(await waitFor(async () => (await scrape()).get('prom_threads_pool_task_wait_seconds_count{pool="outcomes"}') === started)).toBe(true);
    const after = await scrape();
    for (const outcome of ["completed", "failed", "aborted"]) {
      expect(after.get(`prom_threads_pool_tasks_total{pool="outcomes",outcome="${outcome}"}`)).toBe(truth[outcome]);
    }
    expect(after.get('prom_threads_pool_task_run_seconds_count{pool="outcomes"}')).toBe(finished);
    expect(after.get('prom_threads_pool_queue_size{pool="outcomes"}')).toBe(0);
    expect(after.get('prom_threads_records_dropped_total{reason="worker_exit"}')).toBe(0);
    // The two aborted running tasks took their threads with them; piscina started replacements.
    expect(events.destroyed).toBe(2);
    expect(after.get('prom_threads_pool_workers_created_total{pool="outcomes"}')).toBe(events.created);
    expect(after.get('prom_threads_pool_workers_destroyed_total{pool="outcomes"}')).toBe(events.destroyed);
  });

  it("leaves results, errors and piscina's own rejections unchanged", async () => {
    const { pool } = setup({ maxThreads: 1 });
    expect(await pool.run({ ms: 0 })).toMatchObject({ threadId: expect.any(Number) });
    await expect(pool.run({ fail: true })).rejects.toThrow("job failed on purpose");
    await expect(pool.run({}, "nope" as never)).rejects.toThrow("options must be an object");
    await expect(pool.run({}, { filename: 5 } as never)).rejects.toThrow("filename argument must be a string");
  });
});

describe("task wait and run time", () => {
  it("measures each task's wait and run so that they add up to what the caller saw", async () => {
    const { pool, scrape } = setup({ minThreads: 1, maxThreads: 1 }, { name: "timing" });
    await pool.run({}); // the thread is up
    const before = await scrape();
    const key = (name: string) => `prom_threads_pool_task_${name}{pool="timing"}`;
    const spans: bigint[] = [];
    const calls: bigint[] = [];
    // Four 60 ms tasks at once on one thread: they wait about 0, 60, 120 and 180 ms.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        const start = process.hrtime.bigint();
        calls.push(start);
        await pool.run({ ms: 60 });
        spans.push(process.hrtime.bigint() - start);
      }),
    );
    const after = await scrape();
    const delta = (name: string) => after.get(key(name))! - (before.get(key(name)) ?? 0);
    expect(delta("wait_seconds_count")).toBe(4);
    expect(delta("run_seconds_count")).toBe(4);
    // Every run took at least 60 ms: none is in a bucket at or below 50 ms.
    expect(after.get('prom_threads_pool_task_run_seconds_bucket{le="0.05",pool="timing"}')).toBe(before.get('prom_threads_pool_task_run_seconds_bucket{le="0.05",pool="timing"}'));
    expect(delta("run_seconds_sum")).toBeGreaterThanOrEqual(0.24);
    // The k-th task (k = 0..3) waited for the k runs before it, less how much later than the first it was
    // called (the first may start in the worker while the main thread still calls the others).
    const late = calls.reduce((sum, call) => sum + Number(call - calls[0]!) / 1e9, 0);
    expect(delta("wait_seconds_sum")).toBeGreaterThanOrEqual(0.06 * (0 + 1 + 2 + 3) - late);
    // Wait + run is the part of each call spent from run() to the end of the handler: never more than the
    // caller's own measurement, and short of it only by the message hops (one clock for all threads).
    const seen = spans.reduce((a, b) => a + b, 0n);
    const measured = delta("wait_seconds_sum") + delta("run_seconds_sum");
    expect(measured).toBeLessThanOrEqual(Number(seen) / 1e9);
    expect(Number(seen) / 1e9 - measured).toBeLessThan(4 * 0.05);
  });
});

describe("workers created and destroyed", () => {
  it("match piscina's workerCreate and workerDestroy events while idle workers come and go", async () => {
    const { pool, scrape } = setup({ minThreads: 0, maxThreads: 2, idleTimeout: 20 }, { name: "churn" });
    let created = 0;
    let destroyed = 0;
    pool.on("workerCreate", () => created++);
    pool.on("workerDestroy", () => destroyed++);
    for (let wave = 0; wave < 3; wave++) {
      await Promise.all(Array.from({ length: 6 }, () => pool.run({ ms: 5 })));
      expect((await scrape()).get('prom_threads_pool_threads{pool="churn"}')).toBe(pool.threads.length);
      await sleep(150); // past idleTimeout: the workers go
    }
    // piscina drops a worker from pool.threads before it emits workerDestroy: wait for both.
    await waitFor(() => pool.threads.length === 0 && destroyed === created);
    const all = await scrape();
    expect(created).toBeGreaterThanOrEqual(3);
    expect(all.get('prom_threads_pool_workers_created_total{pool="churn"}')).toBe(created);
    expect(all.get('prom_threads_pool_workers_destroyed_total{pool="churn"}')).toBe(destroyed);
    expect(destroyed).toBe(created);
    expect(all.get('prom_threads_pool_threads{pool="churn"}')).toBe(0);
  });

  it("counts workers that existed before a late attach once, so created - destroyed = threads", async () => {
    const { hub, pool, scrape } = setup({ minThreads: 2, maxThreads: 2 }, false);
    await Promise.all([pool.run({ ms: 20 }), pool.run({ ms: 20 })]);
    await sleep(20); // the creation events have passed
    hub.attach(pool, { name: "late" });
    expect((await scrape()).get('prom_threads_pool_workers_created_total{pool="late"}')).toBe(2);
    await pool.destroy();
    const all = await scrape();
    expect(all.get('prom_threads_pool_workers_created_total{pool="late"}')).toBe(2);
    expect(all.get('prom_threads_pool_workers_destroyed_total{pool="late"}')).toBe(2);
  });
});

describe("utilization", () => {
  it("exports piscina's own utilization figure", async () => {
    const { pool, scrape } = setup({ minThreads: 1, maxThreads: 1 }, { name: "util" });
    await Promise.all(Array.from({ length: 5 }, () => pool.run({ ms: 20 })));
    const exported = (await scrape()).get('prom_threads_pool_utilization{pool="util"}')!;
    const direct = pool.utilization;
    expect(exported).toBeGreaterThan(0);
    // It depends on the pool's age, read a moment apart.
    expect(Math.abs(exported - direct) / direct).toBeLessThan(0.1);
  });
});

describe("per-thread metrics", () => {
  it("reports each thread's own heap: per isolate, never one process-wide value per thread", async () => {
    const { pool, scrape } = setup({ minThreads: 2, maxThreads: 2 }, { name: "heap", threadMetricsIntervalMs: 10 });
    const announced: Array<{ started: number }> = [];
    pool.on("message", (message) => announced.push(message as { started: number }));
    // Two held tasks at once: one on each thread, so both threads have run a task and sampled.
    const first = await Promise.all([pool.run({ hold: 100, announce: true }), pool.run({ hold: 100, announce: true })]);
    const threads = (first as Array<{ threadId: number }>).map((r) => r.threadId);
    expect(new Set(threads).size).toBe(2);
    // One thread allocates and keeps about 50 MB of objects; its task ends 20 ms later, so a sample is due.
    const big = (await pool.run({ allocObjects: 1_000_000, ms: 20 })) as { threadId: number; heapUsed: number };
    const other = threads.find((t) => t !== big.threadId)!;
    const all = await scrape();
    const heapOf = (thread: number) => all.get(`prom_threads_thread_heap_used_bytes{pool="heap",thread="${thread}"}`)!;
    expect(heapOf(big.threadId)).toBeGreaterThan(30e6);
    expect(Math.abs(heapOf(big.threadId) - big.heapUsed)).toBeLessThan(5e6);
    expect(heapOf(other)).toBeLessThan(heapOf(big.threadId) - 25e6);
    // Default atomics ("sync"): an idle piscina worker waits in Atomics.wait, which Node counts as busy.
    await sleep(300);
    const { threadId } = (await pool.run({ ms: 15 })) as { threadId: number };
    const elu = (await scrape()).get(`prom_threads_thread_event_loop_utilization{pool="heap",thread="${threadId}"}`);
    expect(elu).toBeGreaterThan(0.95);
    await pool.destroy();
    // The threads are gone, and so are their series.
    const gone = await scrape();
    expect([...gone.keys()].filter((k) => k.startsWith("prom_threads_thread_"))).toEqual([]);
  });

  it("reads a low event loop utilization from a worker that idles on its event loop (atomics: async)", async () => {
    const { pool, scrape } = setup({ minThreads: 1, maxThreads: 1, atomics: "async" }, { name: "elu", threadMetricsIntervalMs: 50 });
    const { threadId } = (await pool.run({ ms: 100 })) as { threadId: number };
    await sleep(400); // several samples of an idle loop
    const elu = (await scrape()).get(`prom_threads_thread_event_loop_utilization{pool="elu",thread="${threadId}"}`)!;
    expect(elu).toBeGreaterThanOrEqual(0);
    expect(elu).toBeLessThan(0.5);
  });

  it("is off with threadMetricsIntervalMs: 0", async () => {
    const { pool, scrape } = setup({ maxThreads: 1 }, { name: "quiet", threadMetricsIntervalMs: 0 });
    await pool.run({});
    const keys = [...(await scrape()).keys()];
    expect(keys.filter((k) => k.startsWith("prom_threads_thread_"))).toEqual([]);
    expect(keys).toContain('prom_threads_pool_task_run_seconds_count{pool="quiet"}');
  });
});

describe("what reaches the handler", () => {
  it("is the caller's task, with piscina's name and filename options, as a path or a file URL", async () => {
    const { pool, scrape } = setup({ maxThreads: 1, name: "echo" });
    const task = { a: 1, nested: [1, "two", { three: 3n }] };
    expect(await pool.run(task)).toMatchObject({ echoed: task });
    expect(await pool.run(task, { filename: fixture("pool-jobs.mjs").pathname })).toMatchObject({ echoed: task });
    expect(await pool.run(7, { filename: fixture("pool-jobs.mjs").href, name: "echo" })).toMatchObject({ echoed: 7 });
    expect(await pool.run({ ms: 0 }, { name: "default" })).toMatchObject({ heapUsed: expect.any(Number) });
    // The pool label defaults to piscina's `name` option.
    expect((await scrape()).get('prom_threads_pool_tasks_total{pool="echo",outcome="completed"}')).toBe(4);
  });

  it("is a moved buffer, transferred as piscina would", async () => {
    const { pool } = setup({ maxThreads: 1 }, { name: "move" });
    const view = new Uint8Array([7, 8, 9]);
    expect(await pool.run(Piscina.move(view), { name: "bytes" })).toEqual({ type: "[object Uint8Array]", length: 3, first: 7 });
    expect(view.byteLength).toBe(0); // transferred, not copied
  });

  it("is the caller's task, unwrapped, with wrapTasks: false; then only main-thread metrics are exported", async () => {
    const { pool, scrape } = setup({ maxThreads: 1, name: "echo" }, { name: "plain", wrapTasks: false });
    expect(await pool.run({ b: 2 })).toMatchObject({ echoed: { b: 2 } });
    const all = await scrape();
    expect(all.get('prom_threads_pool_tasks_total{pool="plain",outcome="completed"}')).toBe(1);
    expect([...all.keys()].filter((k) => k.startsWith("prom_threads_pool_task_") || k.startsWith("prom_threads_thread_"))).toEqual([]);
  });
});

describe("attach options and lifecycle", () => {
  it("validates options eagerly, naming them", () => {
    const { hub, pool } = setup({ maxThreads: 1 }, false);
    const bad: Array<[unknown, string]> = [
      [{ name: "" }, "options.name must be a non-empty string"],
      [{ name: 3 }, "options.name must be a non-empty string"],
      [{ wrapTasks: "yes" }, "options.wrapTasks must be a boolean"],
      [{ threadMetricsIntervalMs: 5 }, "options.threadMetricsIntervalMs must be 0 or an integer from 10 to 3600000, got 5"],
      ["fast", "options must be an object"],
    ];
    for (const [options, message] of bad) {
      expect(() => hub.attach(pool, options as PoolAttachOptions)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, message: expect.stringContaining(message) }));
    }
    expect(Object.hasOwn(pool, "run")).toBe(false); // nothing was installed
  });

  it("refuses a second pool with the same name, and ignores a second attach of the same pool", async () => {
    const { hub, pool, scrape } = setup({ maxThreads: 1 }, { name: "one" });
    const other = new Piscina({ filename: fixture("pool-jobs.mjs").href, workerData: hub.workerData, maxThreads: 1 });
    cleanup.push(() => other.destroy());
    expect(() => hub.attach(other, { name: "one" })).toThrow('options.name must differ between attached pools; "one" is taken');
    hub.attach(pool, { name: "one" });
    await pool.run({});
    expect((await scrape()).get('prom_threads_pool_tasks_total{pool="one",outcome="completed"}')).toBe(1);
  });

  it("puts pool.run back on detach, and removes the pool metrics when the hub closes", async () => {
    const { registry, hub, pool, scrape } = setup({ maxThreads: 1 }, false);
    const detach = hub.attach(pool, { name: "temp" });
    expect(pool.run).not.toBe(Piscina.prototype.run);
    await pool.run({});
    detach();
    expect(pool.run).toBe(Piscina.prototype.run);
    await pool.run({});
    expect((await scrape()).get('prom_threads_pool_tasks_total{pool="temp",outcome="completed"}')).toBe(1);
    hub.attach(pool, { name: "again" });
    await hub.close();
    expect(pool.run).toBe(Piscina.prototype.run);
    expect((await registry.getMetricsAsJSON()).filter((m) => m.name.startsWith("prom_threads_pool_"))).toEqual([]);
  });

  it("warns, and still runs every task, when the pool's workers cannot find the hub", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    cleanup.push(() => hub.close());
    const errors: PromThreadsError[] = [];
    hub.on("error", (error) => errors.push(error));
    const pool = new Piscina({ filename: fixture("pool-jobs.mjs").href, maxThreads: 1 });
    cleanup.push(() => pool.destroy());
    hub.attach(pool, { name: "lost" });
    expect(errors.map((e) => e.code)).toEqual([ErrorCodes.INVALID_OPTION]);
    expect(errors[0]!.message).toContain("hub.workerData");
    expect(await pool.run({ ms: 0 })).toMatchObject({ heapUsed: expect.any(Number) });
    expect(samples(await registry.metrics()).get('prom_threads_pool_tasks_total{pool="lost",outcome="completed"}')).toBe(1);
  });
});

describe("attaching a Worker", () => {
  it("takes no pool options", () => {
    const hub = new MetricsHub({ registry: new Registry() });
    cleanup.push(() => hub.close());
    const worker = new Worker("setInterval(() => {}, 1000)", { eval: true });
    cleanup.push(() => worker.terminate());
    expect(() => hub.attach(worker, { name: "w" })).toThrow("options of hub.attach() apply to piscina pools; a Worker takes none");
    expect(() => hub.attach(worker)).not.toThrow();
  });
});
