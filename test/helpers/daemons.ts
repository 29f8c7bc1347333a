/**
 * Debian's Prometheus and Pushgateway as test daemons: started on a free loopback port, waited for until
 * ready, killed on stop (and if the test process dies first). Tests skip with a message naming the
 * package when a binary is missing.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, sleep } from "./http.js";

/** A running daemon. */
export interface Daemon {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** A scratch directory removed on stop. */
  readonly dir: string;
  /** The last few kB of its stderr, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

function installed(binary: string): boolean {
  try {
    return spawnSync(binary, ["--version"], { stdio: "ignore", timeout: 10_000 }).status === 0;
  } catch {
    return false;
  }
}

/** Return true (and warn once) when `binary` is missing: use with `describe.skipIf`. */
export function skipWithoutBinary(binary: string, debianPackage: string, purpose: string): boolean {
  if (installed(binary)) return false;
  console.warn(`skipping ${purpose}: ${binary} not found; install it with \`apt-get install ${debianPackage}\``);
  return true;
}

async function start(binary: string, args: (port: number, dir: string) => string[], readyPath: string, dir: string): Promise<Daemon> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(binary, args(port, dir), { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (log = (log + chunk).slice(-4000)));
  // Should the test process die without stopping it, do not leave the daemon behind.
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  void exited.then(() => process.off("exit", killOnExit));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ready = await fetch(`${url}${readyPath}`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    // Ready and still ours: a daemon that lost its port to someone else exits, and the other one answers.
    if (ready && child.exitCode === null) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`${binary} did not become ready:\n${log}`);
    }
    await sleep(100);
  }
  return { url, dir, log: () => log, stop };
}

/**
 * Start `prometheus-pushgateway` on a free loopback port, keeping metrics in memory only (Debian's binary
 * otherwise persists to /var/lib/prometheus/pushgateway.data, shared by every run on the machine).
 */
export function startPushgateway(): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), "prom-threads-pushgateway-"));
  return start("prometheus-pushgateway", (port) => [`--web.listen-address=127.0.0.1:${port}`, "--persistence.file=", "--log.level=warn"], "/-/ready", dir);
}

/** A Prometheus release the tests run: Debian bookworm's 2.42 on PATH, or Debian sid's 3.5 unpacked by .ci/run. */
export interface PrometheusRelease {
  /** `"2"` or `"3"`. */
  readonly major: string;
  /** The `prometheus` binary. */
  readonly prometheus: string;
  /** The `promtool` binary. */
  readonly promtool: string;
}

/**
 * Where .ci/run unpacks Prometheus 3 (Debian sid's `prometheus` and `promtool`): `PROM_THREADS_PROMETHEUS3_DIR`,
 * else `${XDG_CACHE_HOME:-~/.cache}/prom-threads/prometheus-3`.
 */
function prometheus3Dir(): string {
  return process.env.PROM_THREADS_PROMETHEUS3_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "prom-threads", "prometheus-3");
}

/** Prometheus 2 (`prometheus` on PATH, Debian bookworm's 2.42). */
export const PROMETHEUS_2: PrometheusRelease = { major: "2", prometheus: "prometheus", promtool: "promtool" };
/** Prometheus 3 (Debian sid's 3.5, unpacked into {@link prometheus3Dir} by .ci/run). */
export const PROMETHEUS_3: PrometheusRelease = {
  major: "3",
  prometheus: join(prometheus3Dir(), "usr", "bin", "prometheus"),
  promtool: join(prometheus3Dir(), "usr", "bin", "promtool"),
};

/** Return true (and warn once) when `release` cannot run here: use with `describe.skipIf`. */
export function skipWithoutPrometheus(release: PrometheusRelease, purpose: string): boolean {
  if (release.major === "2") return skipWithoutBinary(release.prometheus, "prometheus", purpose);
  if (installed(release.prometheus) && installed(release.promtool)) return false;
  console.warn(`skipping ${purpose}: Prometheus 3 not found in ${prometheus3Dir()}; .ci/run fetches it (Debian sid's prometheus and promtool, unpacked with dpkg -x)`);
  return true;
}

/**
 * Start `prometheus` with the configuration `config(dir)` writes (dir is its scratch directory) and any
 * extra command-line `flags` (such as `--enable-feature=native-histograms`); `binary` picks the release.
 */
export function startPrometheus(config: (dir: string) => string, flags: readonly string[] = [], binary = "prometheus"): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), "prom-threads-prometheus-"));
  writeFileSync(join(dir, "prometheus.yml"), config(dir));
  return start(
    binary,
    (port, d) => [`--config.file=${join(d, "prometheus.yml")}`, `--storage.tsdb.path=${join(d, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn", ...flags],
    "/-/ready",
    dir,
  );
}

/** An exemplar as Prometheus's `query_exemplars` API returns it. */
export interface QueriedExemplar {
  labels: Record<string, string>;
  value: string;
  timestamp: number;
}

/** The series and exemplars Prometheus's `query_exemplars` API returns for `expr` from `startSeconds` to a minute from now. */
export async function queryExemplars(prometheus: Daemon, expr: string, startSeconds: number): Promise<Array<{ seriesLabels: Record<string, string>; exemplars: QueriedExemplar[] }>> {
  const url = `${prometheus.url}/api/v1/query_exemplars?query=${encodeURIComponent(expr)}&start=${startSeconds}&end=${Date.now() / 1000 + 60}`;
  const body = (await (await fetch(url, { signal: AbortSignal.timeout(5000) })).json()) as {
    status: string;
    data?: Array<{ seriesLabels: Record<string, string>; exemplars: QueriedExemplar[] }>;
    error?: string;
  };
  if (body.status !== "success" || body.data === undefined) throw new Error(`query_exemplars ${expr}: ${body.status} ${body.error ?? ""}`);
  return body.data;
}

/**
 * Start `release` with exemplar storage, scraping `127.0.0.1:port` every second in `format`. Prometheus 2.42
 * asks for protobuf only with native histograms on; 3.x is told the protocol, and takes native histograms on
 * protobuf when `native3` is set.
 */
export function startExemplarPrometheus(release: PrometheusRelease, format: "openmetrics" | "protobuf", port: number, native3 = false): Promise<Daemon> {
  const native = format === "protobuf" && (release.major === "2" || native3);
  const flags = [native ? "--enable-feature=exemplar-storage,native-histograms" : "--enable-feature=exemplar-storage"];
  const protocols = release.major === "2" ? "" : `\n    scrape_protocols: [${format === "protobuf" ? "PrometheusProto" : "OpenMetricsText1.0.0"}]`;
  return startPrometheus(
    () => `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: app${protocols}
    static_configs:
      - targets: ["127.0.0.1:${port}"]
`,
    flags,
    release.prometheus,
  );
}

/** One element of an instant vector from Prometheus's query API. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** Run an instant query against Prometheus's HTTP API. */
export async function query(prometheus: Daemon, expr: string): Promise<PromSample[]> {
  const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(5000) });
  const body = (await response.json()) as { status: string; error?: string; data: { result: PromSample[] } };
  if (body.status !== "success") throw new Error(`query ${expr} failed: ${body.error}`);
  return body.data.result;
}

/** The value of a query that yields one sample, or undefined when it yields none. */
export async function scalar(prometheus: Daemon, expr: string): Promise<number | undefined> {
  const result = await query(prometheus, expr);
  return result.length === 0 ? undefined : Number(result[0]!.value[1]);
}
