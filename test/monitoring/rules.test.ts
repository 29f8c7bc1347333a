/**
 * The Prometheus rules shipped in monitoring/: `promtool check rules` accepts them, and `promtool test
 * rules` runs rules.test.yml, where each alert fires on a series past its threshold and stays quiet on
 * one that is not.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { skipWithoutBinary } from "../helpers/daemons.js";

const RULES = fileURLToPath(new URL("../../monitoring/prometheus/prom-threads.rules.yml", import.meta.url));
const TESTS = fileURLToPath(new URL("./rules.test.yml", import.meta.url));

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync("promtool", args, { encoding: "utf8", timeout: 60_000, cwd: fileURLToPath(new URL(".", import.meta.url)) });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe.skipIf(skipWithoutBinary("promtool", "prometheus", "the promtool rule tests"))("monitoring/prometheus rules", () => {
  it("pass promtool check rules, lint included", () => {
    const { status, output } = promtool("check", "rules", "--lint=all", "--lint-fatal", RULES);
    expect(output).toMatch(/SUCCESS: 17 rules found/);
    expect(status, output).toBe(0);
  });

  it("fire and stay quiet as the promtool unit tests expect", () => {
    const { status, output } = promtool("test", "rules", TESTS);
    expect(output).toContain("SUCCESS");
    expect(status, output).toBe(0);
  });

  it("have a firing and a quiet case for every alert", async () => {
    const { readFile } = await import("node:fs/promises");
    const rules = await readFile(RULES, "utf8");
    const tests = await readFile(TESTS, "utf8");
    const alerts = [...rules.matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1] as string);
    expect(alerts).toHaveLength(6);
    for (const alert of alerts) {
      const cases = [...tests.matchAll(new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:(.*)`, "g"))].map((m) => (m[1] as string).trim());
      expect(cases, alert).toContain("[]");
      expect(cases.some((c) => c === ""), alert).toBe(true); // followed by a list of expected alerts
    }
  });
});
