/**
 * Every PromQL expression of monitoring/ against a real Prometheus (Debian's 2.42) that scrapes a demo
 * service (a hub with a busy piscina pool) every second and evaluates the shipped rules file: every
 * dashboard query returns data (no empty panel), every recording rule records, every alert's
 * expression evaluates and its signal, without the threshold, has data.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allPanels, readDashboard } from "../helpers/dashboard.js";
import { query, skipWithoutBinary, startPrometheus, type Daemon } from "../helpers/daemons.js";
import { startDemoHub, type DemoHub } from "../helpers/demo-hub.js";
import { waitFor } from "../helpers/workers.js";

const RULES = fileURLToPath(new URL("../../monitoring/prometheus/prom-threads.rules.yml", import.meta.url));

/** Grafana's variables as the dashboard's defaults set them, with the demo's histogram for the example. */
function substitute(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "15s")
    .replaceAll("$__range", "1m")
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal.
    .replaceAll("${histogram}", "demo_job_seconds")
    .replaceAll("$instance", ".*")
    .replaceAll("$pool", ".*");
}

interface Rule {
  type: "alerting" | "recording";
  name: string;
  query: string;
  health: string;
  lastError?: string;
}

/** An alert's expression split at its top-level `and`s, each part without its threshold comparison. */
function signals(expr: string): string[] {
  return expr.split(/\s+and\s+/).map((part) => {
    const match = /^(.*\S)\s*(>|<|>=|<=)\s*[\d.]+$/s.exec(part.trim());
    if (match === null) throw new Error(`no threshold in ${part}`);
    return match[1] as string;
  });
}

describe.skipIf(skipWithoutBinary("prometheus", "prometheus", "the monitoring queries against a real Prometheus"))("monitoring/ against a real Prometheus", () => {
  let demo: DemoHub;
  let prometheus: Daemon;
  let rules: Rule[] = [];

  beforeAll(async () => {
    demo = await startDemoHub();
    prometheus = await startPrometheus(
      () => `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - ${JSON.stringify(RULES)}
scrape_configs:
  - job_name: demo
    static_configs:
      - targets: ["127.0.0.1:${demo.server.port}"]
`,
    );
    // Enough samples for rates over the dashboard's 15 s and the rules' 5 m windows, and rule rounds.
    const ready = await waitFor(async () => (await query(prometheus, "job_pool:prom_threads_pool_task_run_seconds:p99_5m")).length > 0 && (await query(prometheus, "count_over_time(up[1m])")).some((s) => Number(s.value[1]) >= 12), 45_000);
    if (!ready) throw new Error(`Prometheus did not record the rules:\n${prometheus.log()}`);
    const response = await fetch(`${prometheus.url}/api/v1/rules`);
    const body = (await response.json()) as { data: { groups: { rules: Rule[] }[] } };
    rules = body.data.groups.flatMap((group) => group.rules);
  }, 90_000);

  afterAll(async () => {
    await prometheus?.stop();
    await demo?.stop();
  });

  it("loads every rule of the file and evaluates each without error", () => {
    expect(rules.filter((r) => r.type === "alerting")).toHaveLength(6);
    expect(rules.filter((r) => r.type === "recording")).toHaveLength(11);
    for (const rule of rules) expect(rule.health, `${rule.name}: ${rule.lastError}`).toBe("ok");
  });

  it("records data for every recording rule", async () => {
    for (const rule of rules.filter((r) => r.type === "recording")) {
      const result = await query(prometheus, rule.name);
      expect(result.length, rule.name).toBeGreaterThan(0);
      expect(result.some((s) => Number.isFinite(Number(s.value[1]))), rule.name).toBe(true);
    }
  });

  it("has data behind every alert's threshold, and fires the one the demo provokes", async () => {
    for (const rule of rules.filter((r) => r.type === "alerting")) {
      await query(prometheus, rule.query); // evaluates (may be empty: nothing crossed its threshold)
      for (const signal of signals(rule.query)) expect((await query(prometheus, signal)).length, `${rule.name}: ${signal}`).toBeGreaterThan(0);
    }
    // The demo's workers declare a name the main thread already uses: a conflict, `for: 0m`.
    const firing = await query(prometheus, 'ALERTS{alertname="PromThreadsDeclarationConflict", alertstate="firing"}');
    expect(firing.map((s) => s.metric.metric)).toEqual(["demo_taken_total"]);
  });

  it("returns data for every query of every dashboard panel", async () => {
    const panels = allPanels(readDashboard()).filter((panel) => panel.type !== "row");
    let checked = 0;
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const expr = substitute(target.expr ?? "");
        const result = await query(prometheus, expr);
        expect(result.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
        expect(
          result.some((s) => Number.isFinite(Number(s.value[1]))),
          `${panel.title}: ${expr} gave only ${JSON.stringify(result.map((s) => s.value[1]))}`,
        ).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(25);
  });

  it("returns data for the dashboard's variable queries", async () => {
    const series = async (match: string) => {
      const response = await fetch(`${prometheus.url}/api/v1/label/${match}`);
      return ((await response.json()) as { data: string[] }).data;
    };
    expect(await series("instance/values?match[]=prom_threads_records_drained_total")).toEqual([`127.0.0.1:${demo.server.port}`]);
    expect(await series("pool/values?match[]=prom_threads_pool_tasks_total")).toEqual(["jobs"]);
  });
});
