/**
 * `@prometheus-io/client` (the prom-client code base maintained under the Prometheus organization, Node
 * 22+) as the hub's registry, with a real piscina pool; and the error when neither client library is
 * installed.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import { describe, expect, it } from "vitest";
import { MetricsHub, startHttpServer } from "../../src/main/index.js";

const major = Number(process.versions.node.split(".")[0]);
const tooOld = major < 22;
if (tooOld) console.warn(`skipping the @prometheus-io/client tests: it needs Node 22 or later, this is Node ${process.versions.node}`);

describe.skipIf(tooOld)("a MetricsHub on an @prometheus-io/client registry", () => {
  it("places worker metrics in its registry: metrics() and the served scrape include them, exact", async () => {
    const { Registry, Counter } = await import("@prometheus-io/client");
    const registry = new Registry();
    const own = new Counter({ name: "main_thread_total", help: "Counted in the main thread.", registers: [registry] });
    own.inc(2);
    const hub = new MetricsHub({ registry: registry as never });
    const server = await startHttpServer({ hub, port: 0 });
    const pool = new Piscina({ filename: new URL("../fixtures/http-task.mjs", import.meta.url).href, workerData: hub.workerData, maxThreads: 2 });
    hub.attach(pool);
    try {
      await Promise.all([pool.run({ kind: "a", count: 300 }), pool.run({ kind: "a", count: 200 }), pool.run({ kind: "b", count: 7 })]);
      const text = await registry.metrics();
      expect(text).toContain('e2e_jobs_total{kind="a"} 500\n');
      expect(text).toContain('e2e_jobs_total{kind="b"} 7\n');
      expect(text).toContain('e2e_job_seconds_count{kind="a"} 500\n');
      // 500 observations cycling 0.125, 0.5, 2, 8: 125 of each.
      expect(text).toContain(`e2e_job_seconds_sum{kind="a"} ${125 * (0.125 + 0.5 + 2 + 8)}\n`);
      expect(text).toContain("main_thread_total 2\n");
      const scraped = await (await fetch(server.url)).text();
      expect(scraped).toContain('e2e_jobs_total{kind="a"} 500\n');
      expect(scraped).toContain("main_thread_total 2\n");
    } finally {
      await pool.destroy();
      await server.close();
      await hub.close();
    }
  });
});

/** Copy the built package into a fresh folder whose node_modules holds only `packages` (linked from ours). */
function isolatedCopy(packages: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "prom-threads-client-"));
  cpSync(new URL("../../dist", import.meta.url), join(dir, "dist"), { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "isolated", type: "module" }));
  for (const name of packages) {
    mkdirSync(dirname(join(dir, "node_modules", name)), { recursive: true });
    symlinkSync(fileURLToPath(new URL(`../../node_modules/${name}`, import.meta.url)), join(dir, "node_modules", name), "dir");
  }
  return dir;
}

describe.skipIf(tooOld)("with @prometheus-io/client alone installed", () => {
  it("uses it for the default registry and the hub's own metrics; a worker thread's counter and summary arrive exact", () => {
    const dir = isolatedCopy(["@prometheus-io/client"]);
    try {
      writeFileSync(
        join(dir, "worker.mjs"),
        `import { Counter, Summary } from "./dist/worker/index.js";
const jobs = new Counter({ name: "iso_jobs_total", help: "Jobs.", labelNames: ["kind"] });
const time = new Summary({ name: "iso_job_seconds", help: "Time.", percentiles: [0.5] });
for (let i = 0; i < 1000; i++) { jobs.inc({ kind: "a" }); time.observe(0.5); }
`,
      );
      writeFileSync(
        join(dir, "main.mjs"),
        `import { Worker } from "node:worker_threads";
import { MetricsHub } from "./dist/main/index.js";
const hub = new MetricsHub();
const worker = new Worker(new URL("./worker.mjs", import.meta.url), { workerData: hub.workerData });
await new Promise((resolve) => worker.once("exit", resolve));
const client = await import("@prometheus-io/client");
console.log(JSON.stringify({ sameRegistry: hub.registry === client.register, text: await hub.registry.metrics() }));
await hub.close();
`,
      );
      const result = spawnSync(process.execPath, [join(dir, "main.mjs")], { cwd: dir, encoding: "utf8", timeout: 30_000 });
      expect(result.status, result.stderr).toBe(0);
      const { sameRegistry, text } = JSON.parse(result.stdout) as { sameRegistry: boolean; text: string };
      expect(sameRegistry).toBe(true);
      expect(text).toContain('iso_jobs_total{kind="a"} 1000\n');
      expect(text).toContain("iso_job_seconds_count 1000\n");
      expect(text).toContain("iso_job_seconds_sum 500\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("without a client library", () => {
  it("fails to load with ERR_PROM_THREADS_MISSING_PEER_DEPENDENCY, naming the fix", () => {
    const dir = mkdtempSync(join(tmpdir(), "prom-threads-no-client-"));
    try {
      cpSync(new URL("../../dist", import.meta.url), join(dir, "dist"), { recursive: true });
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "no-client", type: "module" }));
      const result = spawnSync(process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(join(dir, "dist", "main", "index.js"))})`], {
        cwd: dir,
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain("ERR_PROM_THREADS_MISSING_PEER_DEPENDENCY");
      expect(result.stderr).toContain("npm install prom-client");
      expect(result.stderr).toContain("@prometheus-io/client");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
