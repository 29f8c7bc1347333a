/**
 * End to end: Debian's real Prometheus (2.42, and 3.5 when .ci/run could fetch it) scrapes `startHttpServer` every second while a piscina pool
 * whose workers are destroyed and recreated between waves records a known workload. Prometheus's own
 * query API is the judge: the target stayed up, the stored totals equal the ground truth, and no counter
 * ever went down.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Piscina } from "piscina";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsHub, startHttpServer, type MetricsServer } from "../../src/main/index.js";
import { PROMETHEUS_2, PROMETHEUS_3, skipWithoutPrometheus } from "../helpers/daemons.js";
import { freePort, sleep } from "../helpers/http.js";

const VALUES = [0.125, 0.5, 2, 8]; // as in test/fixtures/http-task.mjs
const BUCKETS = [0.25, 1, 4];
const WAVES = 4;
const GAP_MS = 1300; // longer than idleTimeout (workers go) and than the scrape interval (a scrape lands)

interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

// The same test against Prometheus 2.42 (Debian bookworm) and 3.5 (Debian sid, fetched by .ci/run).
for (const release of [PROMETHEUS_2, PROMETHEUS_3]) {
describe.skipIf(skipWithoutPrometheus(release, `the end-to-end test with a real Prometheus ${release.major}`))(`a real Prometheus ${release.major} scraping a churning piscina pool`, () => {
  let dir = "";
  let prometheus: ChildProcess | undefined;
  let promLog = "";
  let promUrl = "";
  let hub: MetricsHub;
  let server: MetricsServer;
  let pool: Piscina;

  async function query(expr: string): Promise<PromVector[]> {
    const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as { status: string; error?: string; data: { resultType: string; result: PromVector[] } };
    if (body.status !== "success") throw new Error(`query ${expr} failed: ${body.error}`);
    return body.data.result;
  }

  async function scalarOf(expr: string): Promise<number | undefined> {
    const result = await query(expr);
    return result.length === 0 ? undefined : Number(result[0]!.value[1]);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "prom-threads-e2e-"));
    const registry = new Registry();
    hub = new MetricsHub({ registry });
    server = await startHttpServer({ hub, port: 0 });
    pool = new Piscina({
      filename: new URL("../fixtures/http-task.mjs", import.meta.url).href,
      workerData: hub.workerData,
      minThreads: 0,
      maxThreads: 2,
      idleTimeout: 80,
    });
    hub.attach(pool);

    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(dir, "prometheus.yml"),
      `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: app
    static_configs:
      - targets: ["127.0.0.1:${server.port}"]
`,
    );
    prometheus = spawn(
      release.prometheus,
      [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    // Should the test process die without running afterAll, do not leave Prometheus behind.
    const child = prometheus;
    const killOnExit = (): void => void child.kill("SIGKILL");
    process.once("exit", killOnExit);
    child.once("exit", () => process.off("exit", killOnExit));
    prometheus.stderr?.setEncoding("utf8").on("data", (chunk: string) => (promLog = (promLog + chunk).slice(-4000)));
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ready = await fetch(`${promUrl}/-/ready`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline || prometheus.exitCode !== null) throw new Error(`prometheus did not become ready:\n${promLog}`);
      await sleep(200);
    }
  });

  afterAll(async () => {
    if (prometheus !== undefined && prometheus.exitCode === null && prometheus.signalCode === null) {
      const exited = new Promise((resolve) => prometheus?.once("exit", resolve));
      prometheus.kill("SIGTERM");
      const killer = setTimeout(() => prometheus?.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killer);
    }
    await pool?.destroy();
    await server?.close();
    await hub?.close();
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("stores exactly what the workers recorded, with the target up and no counter reset", async () => {
    let created = 0;
    let destroyed = 0;
    pool.on("workerCreate", () => created++);
    pool.on("workerDestroy", () => destroyed++);
    const truth = new Map<string, { count: number; sum: number; buckets: number[] }>();
    const threads = new Set<number>();

    // Prometheus must have scraped the app at least once before the first wave.
    for (let i = 0; i < 50 && (await scalarOf('up{job="app"}')) !== 1; i++) await sleep(200);

    for (let wave = 0; wave < WAVES; wave++) {
      const tasks = [];
      for (let t = 0; t < 6; t++) {
        const kind = t % 2 === 0 ? "even" : "odd";
        const count = 100 + wave * 37 + t * 11;
        const entry = truth.get(kind) ?? { count: 0, sum: 0, buckets: BUCKETS.map(() => 0) };
        for (let i = 0; i < count; i++) {
          const value = VALUES[i % VALUES.length]!;
          entry.count++;
          entry.sum += value;
          BUCKETS.forEach((bound, b) => {
            if (value <= bound) entry.buckets[b]!++;
          });
        }
        truth.set(kind, entry);
        tasks.push(pool.run({ kind, count }) as Promise<{ threadId: number }>);
      }
      for (const result of await Promise.all(tasks)) threads.add(result.threadId);
      await sleep(GAP_MS);
    }

    // The pool really churned: idle threads were destroyed and new ones created (piscina sometimes keeps
    // one through a gap, so this counts rather than expecting an empty pool after every wave).
    expect(destroyed).toBeGreaterThanOrEqual(2);
    expect(created).toBeGreaterThanOrEqual(WAVES);
    // More threads ran tasks than the pool may hold at once (maxThreads: 2).
    expect(threads.size).toBeGreaterThan(2);

    // Wait for a scrape that started after the last task finished (timestamp() is the scrape's time).
    const finished = Date.now() / 1000;
    let lastScrape = 0;
    for (let i = 0; i < 60 && lastScrape <= finished + 0.1; i++) {
      lastScrape = (await scalarOf('timestamp(up{job="app"})')) ?? 0;
      if (lastScrape <= finished + 0.1) await sleep(250);
    }
    expect(lastScrape).toBeGreaterThan(finished);

    for (const [kind, entry] of truth) {
      expect(await scalarOf(`e2e_jobs_total{kind="${kind}"}`), kind).toBe(entry.count);
      expect(await scalarOf(`e2e_job_seconds_count{kind="${kind}"}`), kind).toBe(entry.count);
      expect(await scalarOf(`e2e_job_seconds_sum{kind="${kind}"}`), kind).toBe(entry.sum);
      // le="1.0", not le="1": Prometheus negotiated OpenMetrics and stored the canonical label values.
      for (const [b, le] of ["0.25", "1.0", "4.0"].entries()) {
        expect(await scalarOf(`e2e_job_seconds_bucket{kind="${kind}",le="${le}"}`), `${kind} le=${le}`).toBe(entry.buckets[b]);
      }
      expect(await scalarOf(`e2e_job_seconds_bucket{kind="${kind}",le="+Inf"}`)).toBe(entry.count);
      // Prometheus saw the totals grow from wave to wave, not only the final value.
      expect(await scalarOf(`changes(e2e_jobs_total{kind="${kind}"}[5m])`)).toBeGreaterThanOrEqual(WAVES - 1);
    }

    expect(await scalarOf('min_over_time(up{job="app"}[5m])')).toBe(1);
    expect(await scalarOf('count_over_time(up{job="app"}[5m])')).toBeGreaterThanOrEqual(WAVES);

    // Every counter-like series (counters, histogram buckets, counts and sums) never went down. resets()
    // drops the metric name, so ask per name.
    const counterNames = (await query('count by (__name__) ({job="app",__name__=~".+_(total|count|bucket|sum)"})')).map((r) => r.metric.__name__ as string);
    expect(counterNames).toEqual(
      expect.arrayContaining(["e2e_job_seconds_bucket", "e2e_job_seconds_count", "e2e_job_seconds_sum", "e2e_jobs_total", "prom_threads_records_drained_total"]),
    );
    for (const name of counterNames) {
      const resets = await query(`resets(${name}{job="app"}[5m])`);
      expect(resets.length, name).toBeGreaterThan(0);
      expect(resets.filter((r) => r.value[1] !== "0"), name).toEqual([]);
    }

    const targets = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as { data: { activeTargets: { health: string; lastError: string }[] } };
    expect(targets.data.activeTargets.map((t) => [t.health, t.lastError])).toEqual([["up", ""]]);
    expect(hub.stats().recordsDropped).toEqual(expect.objectContaining({ ring_full: 0, no_slot: 0, worker_exit: 0, malformed: 0 }));
  });
});
}
