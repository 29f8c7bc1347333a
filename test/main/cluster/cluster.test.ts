/**
 * node:cluster aggregation with real worker processes (each with its own MetricsHub and worker thread)
 * forked by this test, which is the cluster primary. Processes are SIGKILLed mid-run and replaced.
 */
import { Counter, Gauge, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { ClusterAggregator, ErrorCodes, MetricsHub, type PromThreadsError, startHttpServer } from "../../../src/main/index.js";
import { command, fork, kill, killAll } from "../../helpers/cluster.js";
import { samples } from "../../helpers/exposition.js";
import { sleep, waitFor } from "../../helpers/workers.js";

const VALUES = [0.125, 0.5, 2, 8]; // as in test/fixtures/cluster-thread.mjs

let aggregators: ClusterAggregator[] = [];
afterEach(async () => {
  await killAll();
  await Promise.all(aggregators.map((a) => a.close()));
  aggregators = [];
});

function aggregate(options: ConstructorParameters<typeof ClusterAggregator>[0] = {}) {
  const aggregator = new ClusterAggregator(options);
  const errors: PromThreadsError[] = [];
  aggregator.on("error", (error) => errors.push(error));
  aggregators.push(aggregator);
  return { aggregator, errors, scrape: async () => samples(await aggregator.registry.metrics()) };
}

/** What `count` inc commands record in cl_job_seconds. */
function histogramOf(count: number) {
  let sum = 0;
  const buckets = [0, 0, 0];
  for (let i = 0; i < count; i++) {
    const value = VALUES[i % VALUES.length]!;
    sum += value;
    [0.25, 1, 4].forEach((bound, b) => {
      if (value <= bound) buckets[b]!++;
    });
  }
  return { sum, buckets };
}

describe("ClusterAggregator with real cluster worker processes", () => {
  it("sums counters and histograms of every process, worker threads and main thread alike", async () => {
    const { scrape, errors } = aggregate();
    const procs = await Promise.all([1, 2, 3].map((n) => fork({ PROC: `p${n}`, SELF_METRICS: "1" })));
    const counts = [1000, 2001, 3002];
    await Promise.all(procs.map((p, i) => command(p, { test: "inc", count: counts[i], push: true })));
    await Promise.all(procs.map((p, i) => command(p, { test: "main", count: i + 1, push: true })));
    const all = await scrape();
    counts.forEach((count, i) => {
      expect(all.get(`cl_jobs_total{proc="p${i + 1}"}`)).toBe(count);
    });
    expect(all.get("cl_main_total")).toBe(6);
    const total = counts.reduce((a, b) => a + b, 0);
    const expected = counts.map(histogramOf).reduce((a, h) => ({ sum: a.sum + h.sum, buckets: a.buckets.map((b, i) => b + h.buckets[i]!) }));
    expect(all.get("cl_job_seconds_count")).toBe(total);
    expect(all.get('cl_job_seconds_bucket{le="+Inf"}')).toBe(total);
    expect(all.get("cl_job_seconds_sum")).toBe(expected.sum);
    expect([0.25, 1, 4].map((le) => all.get(`cl_job_seconds_bucket{le="${le}"}`))).toEqual(expected.buckets);
    // The processes' self-metrics add up too: every observation record was drained once.
    expect(all.get("prom_threads_records_drained_total")).toBe(2 * total);
    expect(errors).toEqual([]);
  });

  it("conserves every acknowledged count and never goes down while processes are SIGKILLed and replaced", async () => {
    const { aggregator, scrape, errors } = aggregate({ scrapeWaitMs: 50 });
    let serial = 0;
    const start = async () => {
      const name = `q${++serial}`;
      return { proc: await fork({ PROC: name, INTERVAL_MS: "50" }), name, acked: 0, sent: 0 };
    };
    const slots = await Promise.all([start(), start(), start()]);
    const finished: Array<{ name: string; acked: number; sent: number }> = [];
    const seen = new Map<string, number>();
    const checkMonotonic = async (): Promise<Map<string, number>> => {
      const all = await scrape();
      for (const [key, value] of all) {
        if (!/_total|_count|_bucket/.test(key)) continue;
        expect(value, key).toBeGreaterThanOrEqual(seen.get(key) ?? 0);
        seen.set(key, value);
      }
      return all;
    };
    let random = 7;
    const next = (n: number): number => {
      random = (random * 1103515245 + 12345) % 2 ** 31;
      return random % n;
    };

    for (let round = 0; round < 8; round++) {
      // Every live process gets a batch; one of them is killed while its batch may be anywhere between
      // recorded and pushed.
      const victim = next(slots.length);
      const batches = slots.map(async (slot, i) => {
        const count = 200 + next(800);
        slot.sent += count;
        const answer = command(slot.proc, { test: "inc", count, push: true });
        if (i === victim) {
          await sleep(next(30));
          await kill(slot.proc);
          await answer.then(
            () => (slot.acked += count),
            () => {},
          );
          return;
        }
        await answer;
        slot.acked += count;
      });
      await Promise.all(batches);
      await checkMonotonic();
      finished.push(slots[victim]!);
      slots[victim] = await start();
    }
    for (const slot of slots) await command(slot.proc, { test: "inc", count: 0, push: true });
    const all = await checkMonotonic();
    // Killed processes: everything acknowledged is there; nothing was counted twice.
    for (const { name, acked, sent } of finished) {
      const value = all.get(`cl_jobs_total{proc="${name}"}`) ?? 0;
      expect(value, name).toBeGreaterThanOrEqual(acked);
      expect(value, name).toBeLessThanOrEqual(sent);
    }
    // Live processes: exact. A process that got no batch has no series: like prom-client, a label set
    // is exported from its first record, not from labels().
    for (const { name, sent } of slots) expect(all.get(`cl_jobs_total{proc="${name}"}`) ?? 0, name).toBe(sent);
    // The histogram agrees with the counter, process by process summed: exactly, except that a process
    // killed between a job's inc() and its observe() leaves one more count than observation.
    let counted = 0;
    for (const [key, value] of all) if (key.startsWith("cl_jobs_total{")) counted += value;
    const observed = all.get("cl_job_seconds_count") ?? 0;
    expect(observed).toBeLessThanOrEqual(counted);
    expect(observed).toBeGreaterThanOrEqual(counted - finished.length);
    // Killed processes were forgotten once their channels were read to the end; their counts stayed.
    expect(aggregator.stats().processes.map((p) => p.live)).toEqual([true, true, true]);
    expect(finished.length).toBe(8);
    expect(errors).toEqual([]);
  });

  it("loses at most about one push interval of records at a SIGKILL", async () => {
    const INTERVAL = 100;
    const { scrape } = aggregate({ scrapeWaitMs: 0 });
    const procs = await Promise.all([1, 2].map((n) => fork({ PROC: `c${n}`, INTERVAL_MS: String(INTERVAL) })));
    const t0 = Date.now();
    await Promise.all(procs.map((p) => command(p, { test: "clock", t0 })));
    await sleep(1500);
    const killedAt = Date.now();
    await Promise.all(procs.map((p) => kill(p)));
    const deadAt = Date.now();
    const all = await scrape();
    for (const n of [1, 2]) {
      // The counter reads (time of its last record − t0): how long before the kill the last pushed record was made.
      const lastPushed = t0 + (all.get(`cl_clock_ms_total{proc="c${n}"}`) ?? 0);
      // The process keeps recording until the signal lands, so its last record can be a little after
      // killedAt, never after it was seen dead.
      expect(lastPushed, `c${n}`).toBeLessThanOrEqual(deadAt);
      const lost = killedAt - lastPushed;
      // One interval, plus a generous margin for timers on a busy machine; without periodic pushes it
      // would be the whole 1.5 s.
      expect(lost, `c${n}`).toBeLessThan(INTERVAL + 600);
    }
  });

  it("combines live processes' gauges by their aggregate, and drops a killed process's value", async () => {
    const { scrape } = aggregate();
    const procs = await Promise.all([1, 2, 3].map((n) => fork({ PROC: `g${n}` })));
    for (const [i, value] of [5, 20, 11].entries()) await command(procs[i]!, { test: "set", value, push: true });
    let all = await scrape();
    expect(["sum", "max", "min", "last"].map((a) => all.get(`cl_level_${a}`))).toEqual([36, 20, 5, 11]);
    await command(procs[1]!, { test: "set", value: 1, push: true }); // now the latest value
    all = await scrape();
    expect(["sum", "max", "min", "last"].map((a) => all.get(`cl_level_${a}`))).toEqual([17, 11, 1, 1]);
    await kill(procs[1]!);
    all = await scrape();
    expect(["sum", "max", "min", "last"].map((a) => all.get(`cl_level_${a}`))).toEqual([16, 11, 5, 11]);
    await Promise.all([kill(procs[0]!), kill(procs[2]!)]);
    all = await scrape();
    expect(["sum", "max", "min", "last"].map((a) => all.get(`cl_level_${a}`))).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("shows summaries per process with a cluster_worker label, gone with their process", async () => {
    const { scrape } = aggregate();
    const procs = await Promise.all([1, 2].map(() => fork()));
    await command(procs[0]!, { test: "main", count: 0, sizes: [10, 20, 30], push: true });
    await command(procs[1]!, { test: "main", count: 0, sizes: [100], push: true });
    const [a, b] = procs.map((p) => String(p.worker.id));
    let all = await scrape();
    expect(all.get(`cl_size_bytes_count{cluster_worker="${a}"}`)).toBe(3);
    expect(all.get(`cl_size_bytes_sum{cluster_worker="${a}"}`)).toBe(60);
    expect(all.get(`cl_size_bytes{quantile="0.5",cluster_worker="${a}"}`)).toBe(20);
    expect(all.get(`cl_size_bytes{quantile="0.9",cluster_worker="${b}"}`)).toBe(100);
    await kill(procs[0]!);
    all = await scrape();
    expect(all.get(`cl_size_bytes_count{cluster_worker="${a}"}`)).toBeUndefined();
    expect(all.get(`cl_size_bytes_count{cluster_worker="${b}"}`)).toBe(1);
  });

  it("answers a scrape with fresh values by asking the processes, without waiting for the interval", async () => {
    const { scrape } = aggregate({ scrapeWaitMs: 5000 });
    const procs = await Promise.all([1, 2].map((n) => fork({ PROC: `f${n}`, INTERVAL_MS: "3600000" })));
    await waitFor(async () => (await scrape()).has("cl_main_total"), 5000); // the first push of each
    await waitFor(async () => (await scrape()).has('cl_jobs_total{proc="f2"}'), 5000);
    await command(procs[0]!, { test: "inc", count: 123 });
    await command(procs[1]!, { test: "inc", count: 45 });
    // A metric the process declares only now: the scrape lists it although it learns of it while collecting.
    await command(procs[1]!, { test: "fresh", count: 6 });
    const started = Date.now();
    const all = await scrape();
    expect(all.get('cl_jobs_total{proc="f1"}')).toBe(123);
    expect(all.get('cl_jobs_total{proc="f2"}')).toBe(45);
    expect(all.get("cl_fresh_total")).toBe(6);
    // Both answered: the scrape did not sit out its 5 s wait.
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it("asks the processes and reads the primary's registries for a scrape served by startHttpServer too", async () => {
    const local = new Registry();
    const primary = new Counter({ name: "cl_primary_total", help: "The primary's own counter.", registers: [local] });
    primary.inc(7);
    const { aggregator } = aggregate({ scrapeWaitMs: 5000, localRegistries: [local] });
    const server = await startHttpServer({ registry: aggregator.registry, port: 0, host: "127.0.0.1" });
    try {
      const served = async () => samples(await (await fetch(server.url)).text());
      const [proc] = await Promise.all([fork({ PROC: "h1", INTERVAL_MS: "3600000" })]);
      await waitFor(async () => (await served()).has("cl_main_total"), 5000); // its first push
      await command(proc!, { test: "inc", count: 123 }); // recorded, not pushed
      primary.inc(3);
      const started = Date.now();
      const all = await served();
      expect(all.get('cl_jobs_total{proc="h1"}')).toBe(123);
      expect(all.get("cl_primary_total")).toBe(10);
      // It answered: the scrape did not sit out its 5 s wait.
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      await server.close();
    }
  });

  it("does not wait longer than scrapeWaitMs for a busy process, and shows what it pushed last", async () => {
    const { scrape } = aggregate({ scrapeWaitMs: 150 });
    const procs = await Promise.all([1, 2].map((n) => fork({ PROC: `b${n}`, INTERVAL_MS: "3600000" })));
    await command(procs[0]!, { test: "inc", count: 10, push: true });
    await command(procs[1]!, { test: "inc", count: 20, push: true });
    await command(procs[1]!, { test: "inc", count: 5 }); // recorded, not pushed
    await command(procs[0]!, { test: "block", ms: 3000 }); // its event loop is stuck from now on
    const started = Date.now();
    const all = await scrape();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(100);
    expect(took).toBeLessThan(1500);
    expect(all.get('cl_jobs_total{proc="b1"}')).toBe(10);
    expect(all.get('cl_jobs_total{proc="b2"}')).toBe(25);
  });

  it("shows a record within one push interval when scrapes do not ask (scrapeWaitMs: 0)", async () => {
    const { scrape } = aggregate({ scrapeWaitMs: 0 });
    const [proc] = await Promise.all([fork({ PROC: "i1", INTERVAL_MS: "200" })]);
    await command(proc!, { test: "inc", count: 77 });
    const recorded = Date.now();
    expect(await waitFor(async () => (await scrape()).get('cl_jobs_total{proc="i1"}') === 77, 3000)).toBe(true);
    expect(Date.now() - recorded).toBeLessThan(200 + 500);
  });

  it("ignores a push older than one already applied (a replay cannot count twice or turn back a gauge)", async () => {
    const { aggregator, scrape } = aggregate();
    const [proc] = await Promise.all([fork({ PROC: "r1", INTERVAL_MS: "3600000" })]);
    await command(proc!, { test: "set", value: 3, push: true });
    await command(proc!, { test: "inc", count: 50, push: true });
    const before = aggregator.stats().pushesIgnored;
    await command(proc!, { test: "set", value: 9, push: true });
    await command(proc!, { test: "inc", count: 7, push: true });
    // Replay the push that carried cl_jobs_total 50 and the gauge at 3.
    const { sent } = await command(proc!, { test: "replay", index: 1, push: true });
    expect(sent).toBeGreaterThanOrEqual(4);
    const all = await scrape();
    expect(all.get('cl_jobs_total{proc="r1"}')).toBe(57);
    expect(all.get("cl_level_sum")).toBe(9);
    expect(aggregator.stats().pushesIgnored).toBe(before + 1);
  });

  it("gets every series from processes that pushed before the aggregator existed", async () => {
    const [proc] = await Promise.all([fork({ PROC: "l1", INTERVAL_MS: "50" })]);
    await command(proc!, { test: "inc", count: 31 });
    await command(proc!, { test: "set", value: 4 });
    await command(proc!, { test: "main", count: 2 });
    await sleep(400); // pushed, to no one
    const { scrape } = aggregate({ scrapeWaitMs: 2000 });
    // The process's next push lists nothing new; the aggregator has no baseline for it, so it asks for
    // every series.
    expect(await waitFor(async () => (await scrape()).get('cl_jobs_total{proc="l1"}') === 31, 5000)).toBe(true);
    const all = await scrape();
    expect(all.get("cl_level_sum")).toBe(4);
    expect(all.get("cl_main_total")).toBe(2);
  });

  it("keeps counts of a process whose publisher closed gracefully, and refuses a second publisher", async () => {
    const { scrape } = aggregate();
    const [proc] = await Promise.all([fork({ PROC: "s1", INTERVAL_MS: "3600000" })]);
    expect((await command(proc!, { test: "second" })).error).toBe(ErrorCodes.INVALID_OPTION);
    await command(proc!, { test: "inc", count: 12 });
    await command(proc!, { test: "close" }); // a last push, acknowledged
    await kill(proc!);
    expect((await scrape()).get('cl_jobs_total{proc="s1"}')).toBe(12);
  });

  it("adds the primary's own registries as the process \"primary\"", async () => {
    const local = new Registry();
    const hub = new MetricsHub({ registry: local, selfMetrics: false });
    try {
      const { Counter, Summary } = await import("prom-client");
      new Counter({ name: "cl_main_total", help: "Main-thread counter.", registers: [local] }).inc(100);
      new Summary({ name: "cl_size_bytes", help: "Sizes.", percentiles: [0.5, 0.9], registers: [local] }).observe(1);
      const { scrape } = aggregate({ localRegistries: [local] });
      const [proc] = await Promise.all([fork({ PROC: "m1" })]);
      await command(proc!, { test: "main", count: 1, push: true });
      const all = await scrape();
      expect(all.get("cl_main_total")).toBe(101);
      expect(all.get('cl_size_bytes_count{cluster_worker="primary"}')).toBe(1);
    } finally {
      await hub.close();
    }
  });

  it("gives a gauge aggregated by `first` the value set last, whether the primary or a process set it", async () => {
    const local = new Registry();
    const { Gauge } = await import("prom-client");
    // As the processes' worker gauge with aggregate "last" declares it.
    const level = new Gauge({ name: "cl_level_last", help: "Level (last).", aggregator: "first", registers: [local] });
    const { scrape } = aggregate({ localRegistries: [local] });
    const [proc] = await Promise.all([fork({ PROC: "v1", INTERVAL_MS: "3600000" })]);
    await command(proc!, { test: "set", value: 1, push: true });
    level.set(99);
    expect((await scrape()).get("cl_level_last")).toBe(99);
    await command(proc!, { test: "set", value: 20, push: true });
    expect((await scrape()).get("cl_level_last")).toBe(20);
    expect((await scrape()).get("cl_level_last")).toBe(20);
    level.set(55);
    expect((await scrape()).get("cl_level_last")).toBe(55);
  });

  it("puts nothing back into its registry when closed while it reads the primary's registries", async () => {
    const local = new Registry();
    new Gauge({
      name: "cl_slow_level",
      help: "Read slowly.",
      registers: [local],
      async collect() {
        await sleep(50);
        this.set(1);
      },
    });
    const { aggregator } = aggregate({ localRegistries: [local] });
    const collecting = aggregator.collect();
    await sleep(10);
    await aggregator.close();
    await collecting;
    expect(aggregator.registry.getMetricsAsArray().map((m) => m.name)).toEqual([]);
    expect(aggregator.stats().families).toBe(0);
  });

  it("reports malformed messages and conflicting declarations, and keeps going", async () => {
    const { scrape, errors } = aggregate();
    // x1 has a counter cl_level_sum in its registry; x2 a gauge of that name in its worker thread.
    const [proc] = await Promise.all([fork({ PROC: "x1", CONFLICT: "1" })]);
    await command(proc!, { test: "main", count: 0, push: true });
    const other = await fork({ PROC: "x2" });
    await command(other, { test: "set", value: 2, push: true });
    await command(proc!, { test: "raw", message: { type: "prom-threads:cluster", v: 1, kind: "push", session: "s", seq: "one", full: true, families: [] } });
    await command(proc!, { test: "raw", message: { type: "prom-threads:cluster", v: 99, kind: "push" } });
    await command(proc!, { test: "inc", count: 3, push: true });
    const all = await scrape();
    expect(all.get('cl_jobs_total{proc="x1"}')).toBe(3);
    expect(all.get("cl_level_sum")).toBe(1); // the first declaration, the counter, won
    const codes = errors.map((e) => e.code);
    expect(codes.filter((c) => c === ErrorCodes.MALFORMED_CLUSTER_MESSAGE)).toHaveLength(2);
    expect(codes).toContain(ErrorCodes.DECLARATION_CONFLICT);
    expect(errors.find((e) => e.code === ErrorCodes.MALFORMED_CLUSTER_MESSAGE)?.message).toMatch(/session, seq/);
  });
});

describe("ClusterPublisher outside a cluster worker", () => {
  it("throws ERR_PROM_THREADS_CLUSTER_ROLE without an IPC channel", async () => {
    const { ClusterPublisher } = await import("../../../src/main/index.js");
    const send = process.send;
    try {
      (process as { send?: unknown }).send = undefined;
      expect(() => new ClusterPublisher({ registries: [new Registry()] })).toThrow(expect.objectContaining({ code: ErrorCodes.CLUSTER_ROLE }));
    } finally {
      process.send = send;
    }
  });
});
