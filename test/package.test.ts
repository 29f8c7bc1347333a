/**
 * What `npm pack` puts in the tarball (after the build `npm test` runs first): every `exports` target and
 * the typings, the license, changelog and monitoring files; no tests, fixtures, benchmarks, examples or
 * CI files.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

interface PackResult {
  files: { path: string }[];
}

const root = new URL("..", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { exports: Record<string, string | Record<string, string>>; main: string; types: string; license: string };

function packedFiles(): string[] {
  // --ignore-scripts: the build already ran (pretest); `prepare` would run tsc again for nothing.
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "ignore"] });
  const [result] = JSON.parse(out) as PackResult[];
  return (result?.files ?? []).map((f) => f.path);
}

describe("the npm tarball", () => {
  const files = packedFiles();
  const packed = new Set(files);

  it("holds every exports target, main and types", () => {
    const targets = Object.values(pkg.exports).flatMap((target) => (typeof target === "string" ? [target] : Object.values(target)));
    expect(targets.length).toBeGreaterThanOrEqual(7);
    for (const target of [...targets, pkg.main, pkg.types]) expect(packed.has(target.replace(/^\.\//, "")), target).toBe(true);
  });

  it("holds the license, the changelog, the docs and the monitoring files", () => {
    for (const file of ["LICENSE", "README.md", "CHANGELOG.md", "package.json", "monitoring/grafana/prom-threads-dashboard.json", "monitoring/prometheus/prom-threads.rules.yml", "docs/serving.md"]) {
      expect(packed.has(file), file).toBe(true);
    }
    expect(readFileSync(new URL("LICENSE", root), "utf8")).toMatch(/^MIT License\n/);
    expect(pkg.license).toBe("MIT");
  });

  it("holds no tests, fixtures, benchmarks, examples, scripts or CI files", () => {
    const unwanted = files.filter((file) => /^(test|bench|examples|scripts|demo|ci|\.ci|src)\//.test(file) || /(\.test\.|fixtures?\/|\.tsbuildinfo$)/.test(file));
    expect(unwanted).toEqual([]);
    expect(files.every((file) => /^(dist|docs|monitoring)\//.test(file) || ["LICENSE", "README.md", "CHANGELOG.md", "package.json"].includes(file)), files.join("\n")).toBe(true);
  });
});
