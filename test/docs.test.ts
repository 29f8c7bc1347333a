import { execFile } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ErrorCodes } from "../src/shared/api/errors.js";

const root = new URL("../", import.meta.url).pathname;
const readme = readFileSync(join(root, "README.md"), "utf8");

function docsText(): string {
  let text = readme;
  try {
    for (const file of readdirSync(join(root, "docs"))) if (file.endsWith(".md")) text += readFileSync(join(root, "docs", file), "utf8");
  } catch {
    // no docs folder yet
  }
  return text;
}

describe("documentation", () => {
  it("documents every error code", () => {
    const text = docsText();
    const missing = Object.values(ErrorCodes).filter((code) => !text.includes(code));
    expect(missing).toEqual([]);
  });

  it("runs the README quick start as pasted", async () => {
    const blocks = [...readme.matchAll(/```js file=(\S+)\n([\s\S]*?)```/g)];
    expect(blocks.map((b) => b[1])).toEqual(["main.mjs", "task.mjs"]);
    // Inside the package folder, so `prom-threads` resolves to this package (self-reference) and
    // piscina and prom-client to its node_modules, as in a user's project.
    mkdirSync(join(root, ".tmp"), { recursive: true });
    const dir = mkdtempSync(join(root, ".tmp", "readme-"));
    try {
      for (const [, file, code] of blocks) writeFileSync(join(dir, file as string), code as string);
      const { stdout } = await promisify(execFile)(process.execPath, ["main.mjs"], { cwd: dir, timeout: 30_000 });
      expect(stdout).toContain('jobs_total{parity="even"} 50');
      expect(stdout).toContain('jobs_total{parity="odd"} 50');
      expect(stdout).toContain("job_seconds_count 100");
      // Pool metrics come with hub.attach(pool): outcomes, and the task wrapper's timings in the workers.
      expect(stdout).toContain('prom_threads_pool_tasks_total{pool="default",outcome="completed"} 100');
      expect(stdout).toContain('prom_threads_pool_task_run_seconds_count{pool="default"} 100');
      // 200 records of the task, 200 of the task wrapper's timings, and the per-thread samples.
      expect(Number(/^prom_threads_records_drained_total (\d+)$/m.exec(stdout)?.[1])).toBeGreaterThanOrEqual(400);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("code shape", () => {
  it("keeps src/worker free of prom-client, node:http and src/main", () => {
    const dir = join(root, "src", "worker");
    const offenders: string[] = [];
    for (const file of readdirSync(dir)) {
      const source = readFileSync(join(dir, file), "utf8");
      // Statements at the start of a line only: TSDoc examples mention "prom-threads/worker" on purpose.
      for (const [, spec] of source.matchAll(/^(?:import|export)(?:[^;"']*?\bfrom)?\s*["']([^"']+)["']/gm)) {
        // Node builtins are fine, except the HTTP ones: serving belongs to the main thread.
        const allowed = spec!.startsWith("../shared/") || spec!.startsWith("./") || (spec!.startsWith("node:") && !/^node:(http|https|http2)$/.test(spec!));
        if (!allowed) offenders.push(`${file}: ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it("lets one file own the shared-memory offsets", () => {
    const offenders: string[] = [];
    for (const side of ["shared", "worker", "main"]) {
      const dir = join(root, "src", side);
      for (const file of readdirSync(dir, { recursive: true }) as string[]) {
        if (!file.endsWith(".ts") || file === "layout.ts") continue;
        const source = readFileSync(join(dir, file), "utf8");
        // Offsets are named constants from layout.ts; a raw `new Uint32Array(buffer, 64` would bypass it.
        if (/new (Uint|Int|Float)\d+Array\([^)]*,\s*\d+\s*[,)]/.test(source.replace(/,\s*0\s*[,)]/g, ")"))) offenders.push(`${side}/${file}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
