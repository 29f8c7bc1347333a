/**
 * Churn with faults: 20,000 piscina tasks on pools with idle-timeout churn, about 1% of which kill their
 * worker (uncaught error, process.exit(), heap limit, terminate(), AbortSignal), scraped every 50 ms.
 * The driver is the soak's (scripts/soak/workload.mjs, where the exactness argument is written out);
 * this test recomputes the conservation from the raw numbers instead of trusting the report's verdict.
 */
import { describe, expect, it } from "vitest";
import { kDefaultMaxSeries } from "../../src/shared/model/limits.js";
import { runWorkload, type WorkloadReport } from "../../scripts/soak/workload.mjs";

function sum(values: Record<string, number>): number {
  return Object.values(values).reduce((a, b) => a + b, 0);
}

describe("piscina churn with worker faults", () => {
  it("20,000 tasks, ~200 crashes of five kinds: no counter ever decreases, every call is accounted for", { timeout: 240_000 }, async () => {
    const seed = Number(process.env.PROM_THREADS_SEED ?? Date.now() % 1_000_000);
    const report: WorkloadReport = await runWorkload({ tasks: 20_000, crashRate: 0.01, seed, scrapeIntervalMs: 50 });
    const why = `seed ${seed}: ${JSON.stringify({ ...report, decreases: report.decreases.slice(0, 5) })}`;
    console.log(
      `[churn] ${report.tasks} tasks, crashes ${JSON.stringify(report.crashes)}, ${report.attempted} calls, ${report.scrapes} scrapes, scrape p99 ${report.scrapeMs.p99.toFixed(1)} ms, ${(report.elapsedMs / 1000).toFixed(1)} s`,
    );

    expect(report.tasks, why).toBe(20_000);
    for (const kind of ["throw", "exit", "oom", "terminate", "abort"] as const) expect(report.crashes[kind], why).toBeGreaterThan(0);
    expect(report.completed + sum(report.crashes), why).toBe(report.tasks);
    expect(report.decreases, why).toEqual([]);
    expect(report.scrapes, why).toBeGreaterThan(20);

    // Conservation: every call that returned is counted or dropped; beyond that, only the one call a
    // killed task may have had in flight. attempted = counted + dropped + rejected + unresolved, with the
    // unresolved calls (their records never arrived) bounded by the in-flight calls of killed tasks.
    const dropped = sum(report.dropped);
    expect(report.counted + dropped, why).toBeGreaterThanOrEqual(report.returned);
    expect(report.counted + dropped, why).toBeLessThanOrEqual(report.returned + report.inFlight);
    const unresolved = report.attempted - (report.counted + dropped + report.rejected);
    expect(unresolved, why).toBeGreaterThanOrEqual(0);
    expect(unresolved, why).toBeLessThanOrEqual(report.inFlight);
    // Only terminate() and abort can stop a task in the middle of a call; the other deaths come between calls.
    expect(report.inFlight, why).toBeLessThanOrEqual(report.crashes.terminate + report.crashes.abort);
    expect(report.resultMismatches, why).toBe(0);
    expect(report.rejected, why).toBeGreaterThan(0);
    // Each completed task records once on a removed label set: dropped, and counted as such.
    expect(report.dropped.removed_series, why).toBe(report.completed);
    expect(report.dropped.malformed, why).toBe(0);
    expect(report.dropped.no_slot, why).toBe(0);

    // Every worker is gone: no slot held, no gauge contribution left (killed tasks never decremented).
    expect(report.workersConnected, why).toBe(0);
    expect(report.gaugeLeft === null || report.gaugeLeft === 0, why).toBe(true);
    // One label value per task: the label sets stay at the limit, the rest fold (and are counted).
    expect(report.taskSeries, why).toBe(kDefaultMaxSeries + 1);
    expect(report.seriesOverflow, why).toBeGreaterThan(0);
    expect(report.seriesOverflow, why).toBeLessThanOrEqual(report.tasks - kDefaultMaxSeries);
    expect(report.ok, why).toBe(true);
  });

  it("fails its report when a call is unaccounted for (the check can fail)", { timeout: 60_000 }, async () => {
    const report = await runWorkload({ tasks: 300, crashRate: 0.02, simulateLoss: true });
    expect(report.conservation.ok).toBe(false);
    expect(report.ok).toBe(false);
  });
});
