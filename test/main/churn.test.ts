import { Piscina } from "piscina";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { samples } from "../helpers/exposition.js";
import { fixture, sleep } from "../helpers/workers.js";

describe("piscina churn", () => {
  it("keeps counters monotonic and exact while idle-timeout destroys and recreates workers", async () => {
    const registry = new Registry();
    // Few slots: churn only works if exited workers hand their slots back.
    const hub = new MetricsHub({ registry, maxWorkers: 3 });
    const pool = new Piscina({
      filename: fixture("pool-task.mjs").href,
      workerData: hub.workerData,
      minThreads: 0,
      maxThreads: 2,
      idleTimeout: 20,
    });
    hub.attach(pool);
    const created = new Set<number>();
    pool.on("workerCreate", (w: { id: number }) => created.add(w.id));

    let last = 0;
    let decreases = 0;
    let scrapes = 0;
    let scraping = true;
    const scraper = (async () => {
      while (scraping) {
        const value = samples(await registry.metrics()).get('pool_jobs_total{kind="a"}') ?? 0;
        if (value < last) decreases++;
        last = value;
        scrapes++;
        await sleep(5);
      }
    })();

    let expected = 0;
    for (let wave = 0; wave < 6; wave++) {
      const counts = Array.from({ length: 12 }, (_, i) => 500 + wave * 100 + i);
      const results = await Promise.all(counts.map((count) => pool.run({ count })));
      expected += results.reduce((a, b) => a + b, 0);
      // Longer than idleTimeout: the pool's workers are destroyed before the next wave.
      await sleep(120);
    }
    scraping = false;
    await scraper;
    await pool.destroy();
    const all = samples(await registry.metrics());
    expect(all.get('pool_jobs_total{kind="a"}')).toBe(expected);
    expect(all.get("pool_job_seconds_count")).toBe(expected);
    expect(all.get("pool_job_seconds_sum")).toBe(expected * 0.5);
    expect(all.get('prom_threads_records_dropped_total{reason="no_slot"}')).toBe(0);
    expect(decreases).toBe(0);
    expect(scrapes).toBeGreaterThan(10);
    // Workers really churned: more were created than the pool ever holds at once, in 3 slots.
    expect(created.size).toBeGreaterThan(3);
    await hub.close();
  });
});
