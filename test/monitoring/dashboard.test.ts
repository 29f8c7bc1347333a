/**
 * The Grafana dashboard's structure: valid JSON, ids unique, every panel queries something through the
 * `datasource` variable, every variable used exists, panels do not overlap, and the metrics it names are
 * the ones the library exports.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { allPanels, BUILTIN_VARIABLES, readDashboard, variablesIn } from "../helpers/dashboard.js";

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal.
const kDatasourceVariable = "${datasource}";
const dashboard = readDashboard();
const panels = allPanels(dashboard);
const queryPanels = panels.filter((panel) => panel.type !== "row");

describe("the Grafana dashboard", () => {
  it("has the datasource, instance and pool variables, and a current schema", () => {
    const variables = dashboard.templating.list;
    expect(variables.map((v) => v.name)).toEqual(expect.arrayContaining(["datasource", "instance", "pool"]));
    expect(variables.find((v) => v.name === "datasource")).toMatchObject({ type: "datasource", query: "prometheus" });
    // 42: the latest (and last) schema version of Grafana's classic dashboard JSON model.
    expect(dashboard.schemaVersion).toBe(42);
    expect(dashboard.uid).toBe("prom-threads");
  });

  it("gives every panel and row a unique id", () => {
    const ids = panels.map((panel) => panel.id);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("has a query in every panel, each through the datasource variable", () => {
    expect(queryPanels.length).toBeGreaterThanOrEqual(15);
    for (const panel of queryPanels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      expect(panel.datasource?.uid, panel.title).toBe(kDatasourceVariable);
      for (const target of panel.targets ?? []) {
        expect(target.expr?.trim(), panel.title).toBeTruthy();
        expect(target.datasource?.uid, panel.title).toBe(kDatasourceVariable);
      }
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size, panel.title).toBe(refIds.length);
    }
    for (const variable of dashboard.templating.list.filter((v) => v.type === "query")) expect(variable.datasource?.uid).toBe(kDatasourceVariable);
  });

  it("uses only variables it defines (or Grafana's own)", () => {
    const defined = new Set(dashboard.templating.list.map((v) => v.name));
    const texts = [...queryPanels.flatMap((p) => [p.title, ...(p.targets ?? []).map((t) => t.expr ?? "")]), ...dashboard.templating.list.map((v) => JSON.stringify(v.query ?? ""))];
    const used = new Set(texts.flatMap(variablesIn));
    for (const name of used) expect(defined.has(name) || BUILTIN_VARIABLES.has(name), `$${name}`).toBe(true);
    // And each variable is used somewhere: a variable that filters nothing misleads.
    for (const name of defined) if (name !== "datasource") expect(used.has(name), `$${name}`).toBe(true);
  });

  it("lays panels out on the 24-column grid without overlaps", () => {
    const cells = new Set<string>();
    for (const panel of panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x + w, panel.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`), `${panel.title} overlaps at ${i},${j}`).toBe(false);
          cells.add(`${i},${j}`);
        }
      }
    }
  });

  it("covers every self-metric, pool metric and per-thread metric the library exports", () => {
    const exprs = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? "")).join("\n");
    const sources = ["src/main/self-metrics.ts", "src/main/pool-metrics.ts", "src/worker/thread-metrics.ts", "src/shared/transport/pool-task.ts"]
      .map((file) => readFileSync(new URL(`../../${file}`, import.meta.url), "utf8"))
      .join("\n");
    // Families, not samples: a histogram's `_sum`, `_count` and `_bucket` names (self-metrics render them
    // directly) belong to its family.
    const exported = new Set([...sources.matchAll(/"(prom_threads_[a-z_]+)"/g)].map((m) => (m[1] as string).replace(/_(sum|count|bucket)$/, "")));
    expect(exported.size).toBeGreaterThanOrEqual(15);
    for (const name of exported) expect(exprs, name).toMatch(new RegExp(`\\b${name}(_bucket)?\\b`));
  });
});
