/**
 * What `npm pack` puts in the tarball (after the build `npm test` runs first): every `exports` target and
 * the typings, the license, changelog and monitoring files; no tests, fixtures, benchmarks, examples or
 * CI files, and no screenshots (they stay in the repository for the docs read there).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

interface PackResult {
  size: number;
  files: { path: string }[];
}

/**
 * Bytes the gzipped tarball may take. Measured at 326,863 bytes without screenshots and source maps
 * (606,460 with them, before the OpenTelemetry and Prometheus 3 code), and at 428,748 once the worker
 * entry became one bundled module beside tsc's files and the docs grew; the bound leaves room for growth
 * but not for the 265 kB of PNGs coming back.
 */
const kMaxTarballBytes = 470_000;

const root = new URL("..", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { exports: Record<string, string | Record<string, string>>; main: string; types: string; license: string };

function pack(): PackResult {
  // --ignore-scripts: the build already ran (pretest); `prepare` would run tsc again for nothing.
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "ignore"] });
  const [result] = JSON.parse(out) as PackResult[];
  return result ?? { size: 0, files: [] };
}

describe("the npm tarball", () => {
  const result = pack();
  const files = result.files.map((f) => f.path);
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

  it("holds no screenshots, and stays under its size bound", () => {
    expect(files.filter((file) => /\.(png|jpe?g|gif|webp)$/i.test(file))).toEqual([]);
    // The screenshots are still in the repository, for the docs read there.
    expect(existsSync(new URL("docs/status-page.png", root))).toBe(true);
    expect(result.size).toBeGreaterThan(100_000);
    expect(result.size).toBeLessThan(kMaxTarballBytes);
  });
});
