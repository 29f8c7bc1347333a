/**
 * End to end: Debian's real Prometheus (2.42, and 3.5 when .ci/run could fetch it) finds three node:cluster
 * worker processes, each serving its own port, twice over (file_sd from their target files, http_sd from the
 * primary's TargetDirectory), and scrapes the primary's ClusterAggregator as a third job. One process is
 * SIGKILLed and replaced. Prometheus's query API is the judge: sum() over the discovered instances equals the
 * ground truth of the live ones, the aggregated job equals everything ever acknowledged and never went down.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterAggregator, TargetDirectory, startHttpServer, type MetricsServer } from "../../src/main/index.js";
import { command, fork, kill, killAll, type Proc } from "../helpers/cluster.js";
import { PROMETHEUS_2, PROMETHEUS_3, query, scalar, skipWithoutPrometheus, startPrometheus, type Daemon } from "../helpers/daemons.js";
import { sleep } from "../helpers/http.js";

// The same test against Prometheus 2.42 (Debian bookworm) and 3.5 (Debian sid, fetched by .ci/run).
for (const release of [PROMETHEUS_2, PROMETHEUS_3]) {
describe.skipIf(skipWithoutPrometheus(release, `the fleet end-to-end test with a real Prometheus ${release.major}`))(`a real Prometheus ${release.major} discovering a fleet`, () => {
  let prometheus: Daemon | undefined;
  let aggregator: ClusterAggregator;
  let server: MetricsServer;
  let stopDirectory: () => void = () => {};
  let sdDir = "";

  beforeAll(async () => {
    aggregator = new ClusterAggregator({ scrapeWaitMs: 200 });
    const directory = new TargetDirectory({ labels: { fleet: "e2e" } });
    stopDirectory = directory.acceptClusterWorkers();
    server = await startHttpServer({ registry: aggregator.registry, port: 0, httpSd: directory });
    prometheus = await startPrometheus((dir) => {
      sdDir = join(dir, "targets");
      mkdirSync(sdDir);
      return `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: file
    file_sd_configs:
      - files: ["${sdDir}/*.json"]
        refresh_interval: 2s
  - job_name: http
    http_sd_configs:
      - url: "http://127.0.0.1:${server.port}/http_sd"
        refresh_interval: 1s
  - job_name: cluster
    static_configs:
      - targets: ["127.0.0.1:${server.port}"]
`;
    }, [], release.prometheus);
  });

  afterAll(async () => {
    await killAll();
    await prometheus?.stop();
    stopDirectory();
    await server?.close();
    await aggregator?.close();
  });

  /** Poll `check` (a PromQL-backed condition) until it holds or `timeoutMs` passes. */
  async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${prometheus?.log() ?? ""}`);
      await sleep(250);
    }
  }

  /** Every target Prometheus currently has for `job`, as "instance health" (a dead one shows as down). */
  async function targets(job: string): Promise<string[]> {
    const body = (await (await fetch(`${prometheus!.url}/api/v1/targets?state=active`)).json()) as {
      data: { activeTargets: Array<{ labels: Record<string, string>; health: string }> };
    };
    return body.data.activeTargets
      .filter((t) => t.labels.job === job)
      .map((t) => `${t.labels.instance} ${t.health}`)
      .sort();
  }

  it("sums the discovered instances to the ground truth, file_sd and http_sd alike, through a SIGKILL and a replacement", async () => {
    const truth = new Map<string, number>();
    const procs = new Map<string, Proc>();
    const start = async (name: string) => procs.set(name, await fork({ PROC: name, SERVE: "1", SD_DIR: sdDir, INTERVAL_MS: "200" }));
    const record = async (name: string, count: number) => {
      await command(procs.get(name)!, { test: "inc", count, push: true });
      truth.set(name, (truth.get(name) ?? 0) + count);
    };
    const upTargetsOf = (names: string[]) => names.map((n) => `127.0.0.1:${procs.get(n)!.port} up`).sort();
    const sumOf = (names: string[]) => names.reduce((total, n) => total + (truth.get(n) ?? 0), 0);

    await Promise.all(["a", "b", "c"].map(start));
    await Promise.all([record("a", 1000), record("b", 2000), record("c", 3000)]);
    let live = ["a", "b", "c"];
    for (const job of ["file", "http"]) {
      await until(`three ${job} targets up`, async () => JSON.stringify(await targets(job)) === JSON.stringify(upTargetsOf(live)));
      await until(`sum over ${job} targets`, async () => (await scalar(prometheus!, `sum(cl_jobs_total{job="${job}"})`)) === sumOf(live));
    }
    await until("the aggregated job", async () => (await scalar(prometheus!, 'sum(cl_jobs_total{job="cluster"})')) === 6000);
    // Each instance is its own series in the discovered jobs; the aggregated job has them all in one target.
    expect((await query(prometheus!, 'cl_jobs_total{job="file"}')).map((s) => s.metric.fleet_proc).sort()).toEqual(["a", "b", "c"]);
    expect(await scalar(prometheus!, 'count(up{job="http",fleet="e2e"} == 1)')).toBe(3);

    // SIGKILL "a" after its counts were acknowledged; "d" replaces it on this host, and its start removes
    // the target file "a" left behind. The primary drops "a" from http_sd when it exits.
    await kill(procs.get("a")!);
    await start("d");
    await Promise.all([record("d", 400), record("b", 50)]);
    live = ["b", "c", "d"];
    for (const job of ["file", "http"]) {
      await until(`${job} targets after the replacement`, async () => JSON.stringify(await targets(job)) === JSON.stringify(upTargetsOf(live)));
      await until(`sum over ${job} targets after the replacement`, async () => (await scalar(prometheus!, `sum(cl_jobs_total{job="${job}"})`)) === sumOf(live));
    }
    // The aggregated job still counts what "a" did, and never went down.
    const everything = sumOf(["a", "b", "c", "d"]);
    await until("the aggregated job after the replacement", async () => (await scalar(prometheus!, 'sum(cl_jobs_total{job="cluster"})')) === everything);
    expect(await scalar(prometheus!, 'max(resets(cl_jobs_total{job="cluster"}[5m]))')).toBe(0);
    expect(await scalar(prometheus!, 'resets(cl_job_seconds_count{job="cluster"}[5m])')).toBe(0);
    expect(await scalar(prometheus!, 'cl_job_seconds_count{job="cluster"}')).toBe(everything);
    expect(await scalar(prometheus!, 'min_over_time(up{job="cluster"}[5m])')).toBe(1);
  });
});
}
