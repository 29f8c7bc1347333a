/**
 * The architecture rules of `.dependency-cruiser.cjs`, the Biome rules of `biome.jsonc` and the unused-code
 * check of `knip.jsonc`, run in the test suite so that CI guards them: the repository passes all three, and
 * each layering rule rejects a tree that breaks it.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const depcruise = join(root, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");
const config = join(root, ".dependency-cruiser.cjs");

interface Violation {
  readonly type: string;
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string; readonly severity: string };
}

/** Cruise `src` below `cwd` with the project's rules and return the violations. */
async function cruise(cwd: string): Promise<Violation[]> {
  // The JSON reporter prints the whole graph and exits 0 even with violations: the test reads the summary.
  const { stdout } = await run(process.execPath, [depcruise, "src", "--config", config, "--output-type", "json"], {
    cwd,
    maxBuffer: 64 * 1024 * 1024,
  });
  const result = JSON.parse(stdout) as { summary: { violations: Violation[] } };
  return result.summary.violations;
}

describe("layering (dependency-cruiser)", () => {
  it("finds no circle and no layering violation in src/", async () => {
    const violations = await cruise(root);
    expect(violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([]);
  });

  describe("rejects a tree that breaks a rule", () => {
    let tree: string;
    beforeAll(async () => {
      tree = await mkdtemp(join(tmpdir(), "prom-threads-lint-"));
      // The project's package.json and node_modules, so that prom-client resolves and counts as a package.
      await symlink(join(root, "node_modules"), join(tree, "node_modules"), "dir");
      await symlink(join(root, "package.json"), join(tree, "package.json"));
      await writeFile(join(tree, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext" }, include: ["src"] }));
      const files: Record<string, string> = {
        // Entry points, so that no-orphans has roots.
        "src/main/index.ts": 'import "./discovery/find.js";\nimport "./serve/serve.js";\nimport "./a.js";\n',
        "src/worker/index.ts": 'import "prom-client";\nimport "node:http";\nimport "../main/index.js";\nimport "../shared/transport/ring.js";\n',
        "src/fastify/index.ts": 'import "../main/index.js";\n',
        "src/shared/transport/ring.ts": 'import "../api/wrappers.js";\nimport "../../main/index.js";\nimport "prom-client";\n',
        "src/shared/api/wrappers.ts": "export const wrap = 1;\n",
        "src/main/discovery/find.ts": 'import type { Serve } from "../serve/serve.js";\nexport type Found = Serve;\n',
        "src/main/serve/serve.ts": "export interface Serve { readonly url: string }\n",
        "src/main/a.ts": 'import "./b.js";\nimport "../worker/index.js";\n',
        "src/main/b.ts": 'import "./a.js";\n',
        "src/main/unused.ts": "export const dead = 1;\n",
      };
      for (const [path, text] of Object.entries(files)) {
        await mkdir(dirname(join(tree, path)), { recursive: true });
        await writeFile(join(tree, path), text);
      }
    });
    afterAll(async () => {
      await rm(tree, { recursive: true, force: true });
    });

    it("names each broken rule at the import that breaks it", async () => {
      // node_modules is a symlink to the project's: a package resolves to its real path, shown from node_modules on.
      const found = new Set((await cruise(tree)).map((v) => `${v.rule.name}: ${v.from} -> ${v.to.replace(/^.*node_modules\//, "node_modules/")}`));
      const expected = [
        "no-circular: src/main/a.ts -> src/main/b.ts",
        "worker-no-packages: src/worker/index.ts -> node_modules/prom-client/index.js",
        "worker-no-network: src/worker/index.ts -> http",
        "worker-imports-only-shared: src/worker/index.ts -> src/main/index.ts",
        "shared-imports-only-shared: src/shared/transport/ring.ts -> src/main/index.ts",
        "shared-no-packages: src/shared/transport/ring.ts -> node_modules/prom-client/index.js",
        "transport-not-to-wrappers: src/shared/transport/ring.ts -> src/shared/api/wrappers.ts",
        "discovery-not-to-serve: src/main/discovery/find.ts -> src/main/serve/serve.ts",
        "main-not-to-worker: src/main/a.ts -> src/worker/index.ts",
        "no-orphans: src/main/unused.ts -> src/main/unused.ts",
      ];
      for (const violation of expected) expect(found, [...found].join("\n")).toContain(violation);
    });
  });
});

/** Run a tool's script with this Node in the repository; its exit code and everything it printed. */
async function tool(script: string[], args: string[]): Promise<{ code: number; output: string }> {
  return run(process.execPath, [join(root, "node_modules", ...script), ...args], { cwd: root, maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? -1, output: `${error.stdout ?? ""}${error.stderr ?? ""}` }),
  );
}

describe("code (Biome)", () => {
  it("reports nothing for the repository", async () => {
    const outcome = await tool(["@biomejs", "biome", "bin", "biome"], ["lint", "--error-on-warnings", "--max-diagnostics=50", "."]);
    expect(outcome.output, outcome.output).toMatch(/Checked \d+ files/);
    expect(outcome.code, outcome.output).toBe(0);
  });
});

describe("unused code (knip)", () => {
  it("finds no unused export, exported type or file in src/", async () => {
    const outcome = await tool(["knip", "bin", "knip.js"], ["--no-progress"]);
    expect(outcome.code, outcome.output).toBe(0);
  });
});
