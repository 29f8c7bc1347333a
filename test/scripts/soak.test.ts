/** `npm run soak` in short: it runs, shows progress, reports conservation, and its exit code tells. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const soak = new URL("../../scripts/soak.mjs", import.meta.url).pathname;
const run = promisify(execFile);

async function soakRun(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [soak, ...args], { timeout: 120_000 });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "" };
  }
}

describe("npm run soak", () => {
  it("runs for --seconds 5 with progress lines, and ends with a passing conservation report", { timeout: 120_000 }, async () => {
    const { code, stdout } = await soakRun(["--seconds", "5", "--progress", "1", "--crash-rate", "0.02"]);
    expect(stdout).toMatch(/\[\s+\d+ s\] tasks [\d,]+ {2}crashes/);
    expect(stdout.match(/^\[\s+\d+ s\]/gm)?.length ?? 0).toBeGreaterThanOrEqual(3);
    for (const field of ["attempted", "counted", "dropped", "rejected", "in flight", "decreases", "scrape", "memory"]) {
      expect(stdout).toMatch(new RegExp(`^ {2}${field} +\\S`, "m"));
    }
    expect(stdout).toContain("removed_series");
    expect(stdout).toContain("holds");
    expect(stdout).toMatch(/0 counter decreases/);
    expect(stdout).toContain("result       OK");
    expect(code).toBe(0);
  });

  it("exits non-zero when conservation fails", { timeout: 120_000 }, async () => {
    const { code, stdout } = await soakRun(["--tasks", "200", "--simulate-loss"]);
    expect(stdout).toContain("FAILS");
    expect(stdout).toContain("result       FAILED");
    expect(code).toBe(1);
  });
});
