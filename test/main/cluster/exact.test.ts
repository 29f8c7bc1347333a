/**
 * Cluster sums are exact, with real forked cluster worker processes: families are declared from the
 * metric's configuration (a labelled histogram pushed before its first observation no longer conflicts),
 * and a histogram's `_sum` of fractional values never moves when a process leaves.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ClusterAggregator, ErrorCodes, type PromThreadsError } from "../../../src/main/index.js";
import { command, fork, kill, killAll, type Proc } from "../../helpers/cluster.js";
import { samples } from "../../helpers/exposition.js";

let aggregators: ClusterAggregator[] = [];
afterEach(async () => {
  await killAll();
  await Promise.all(aggregators.map((a) => a.close()));
  aggregators = [];
});

function aggregate() {
  const aggregator = new ClusterAggregator({ scrapeWaitMs: 50 });
  const errors: PromThreadsError[] = [];
  aggregator.on("error", (error) => errors.push(error));
  aggregators.push(aggregator);
  return { aggregator, errors, scrape: async () => samples(await aggregator.registry.metrics()) };
}

describe("cluster families are declared from the metric's configuration", () => {
  it("takes every acknowledged batch of a labelled histogram that 4 processes pushed before observing", async () => {
    const { scrape, errors } = aggregate();
    // Each process's first push (at start) lists cl_latency_seconds with no series yet.
    const procs = await Promise.all([1, 2, 3, 4].map((n) => fork({ PROC: `h${n}` })));
    let acked = 0;
    for (let round = 0; round < 8; round++) {
      const answers = await Promise.all(procs.map((p, i) => command(p, { test: "observe", route: `r${(i + round) % 3}`, values: [0.05, 0.7], push: true })));
      acked += answers.filter((a) => a.error === undefined && a.pushed).length;
    }
    expect(acked).toBe(32);
    const all = await scrape();
    let count = 0;
    for (const route of ["r0", "r1", "r2"]) {
      count += all.get(`cl_latency_seconds_count{route="${route}"}`) ?? 0;
      // The configured layout, not one taken from samples.
      expect(all.has(`cl_latency_seconds_bucket{le="0.5",route="${route}"}`)).toBe(true);
    }
    expect(count).toBe(32 * 2);
    expect(errors.filter((e) => e.code === ErrorCodes.DECLARATION_CONFLICT)).toEqual([]);
  });
});

describe("cluster totals never go down when a process leaves", () => {
  it("keeps _sum of fractional observations exactly as published over many joins and exits", async () => {
    const { scrape, errors } = aggregate();
    const sumOf = async (): Promise<number> => (await scrape()).get('cl_latency_seconds_sum{route="a"}') ?? 0;
    const values = [0.7, 0.1, 0.2, 0.3, 0.01, 1 / 3];
    let live: Proc[] = [];
    let serial = 0;
    let expected = 0;
    let previous = 0;
    for (let round = 0; round < 6; round++) {
      // Two join and observe fractions.
      const joined = await Promise.all([0, 1].map(() => fork({ PROC: `j${++serial}` })));
      live.push(...joined);
      for (const [i, proc] of live.entries()) {
        const mine = [values[(round + i) % values.length] as number];
        expected += mine[0] as number;
        expect((await command(proc, { test: "observe", route: "a", values: mine, push: true })).error).toBeUndefined();
      }
      const before = await sumOf();
      expect(before).toBeGreaterThanOrEqual(previous);
      // One leaves (SIGKILL, after its pushes were acknowledged): the published total must not move at all.
      const leaving = live.shift() as Proc;
      await kill(leaving);
      const after = await sumOf();
      expect(after).toBe(before);
      previous = after;
    }
    expect(previous).toBeCloseTo(expected, 9);
    expect(errors).toEqual([]);
    live = [];
  });
});
