/**
 * Self-metrics in the docs against what a real hub registers. The README's Self-metrics table lists
 * exactly the `prom_threads_*` metrics a hub registers on its own; docs/pool-metrics.md's Metrics table
 * lists exactly those an attached piscina pool adds (its workers' per-thread samples included); and every
 * `prom_threads_*` name written anywhere in README.md or docs/ is one of them.
 */
import { Piscina } from "piscina";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { docFiles, readDoc, tables } from "../helpers/markdown.js";
import { fixture, waitFor } from "../helpers/workers.js";

/** Metric names in the first column of the table under `heading` in `file`, without label lists. */
function tableNames(file: string, heading: string): string[] {
  const table = tables(readDoc(file)).find((t) => t.heading === heading && t.header[0] === "Metric");
  expect(table, `${file} has a Metric table under "${heading}"`).toBeDefined();
  return table!.rows.map((row) => /^`(prom_threads_\w+)(\{[\w,]*\})?`$/.exec(row[0]!)?.[1] ?? `not a metric name: ${row[0]}`).sort();
}

const names = (registry: Registry): string[] =>
  registry
    .getMetricsAsArray()
    .map((metric) => metric.name)
    .filter((name) => name.startsWith("prom_threads_"))
    .sort();

describe("self-metrics in the docs", () => {
  let hubOnly: string[] = [];
  let withPool: string[] = [];
  let hub: MetricsHub | undefined;
  let pool: Piscina | undefined;

  beforeAll(async () => {
    const registry = new Registry();
    hub = new MetricsHub({ registry });
    hubOnly = names(registry);
    // A real pool with the defaults a user has: attach() and one task, then a scrape.
    pool = new Piscina({ filename: fixture("pool-task.mjs").href, workerData: hub.workerData, minThreads: 1, maxThreads: 1 });
    hub.attach(pool);
    await pool.run({ count: 1 });
    // The worker's per-thread gauges are declared when the task wrapper starts them; a scrape drains.
    await waitFor(async () => {
      await registry.metrics();
      return names(registry).some((name) => name.startsWith("prom_threads_thread_"));
    });
    withPool = names(registry);
  }, 30_000);

  afterAll(async () => {
    await pool?.destroy();
    await hub?.close();
  });

  it("README's Self-metrics table lists exactly what a hub registers", () => {
    expect(hubOnly.length).toBeGreaterThan(5);
    expect(tableNames("README.md", "Self-metrics")).toEqual(hubOnly);
  });

  it("docs/pool-metrics.md's Metrics table lists exactly what an attached pool adds", () => {
    const added = withPool.filter((name) => !hubOnly.includes(name));
    expect(added.some((name) => name.startsWith("prom_threads_thread_"))).toBe(true);
    expect(tableNames("docs/pool-metrics.md", "Metrics")).toEqual(added);
  });

  it("names no prom_threads_ metric that is not registered", () => {
    // The worker OpenTelemetry provider declares its drop counter from the worker that first uses it
    // (test/otel/worker-api.test.ts checks it there).
    const known = new Set([...withPool, "prom_threads_otel_dropped_total"]);
    const unknown: string[] = [];
    for (const file of docFiles()) {
      // Whole names only: not a prefix (`prom_threads_pool_*`), not inside a recording rule's name (`job:name:rate5m`).
      for (const match of readDoc(file).matchAll(/(?<![\w:])prom_threads_\w+(?![\w:*{])/g)) {
        const name = match[0];
        if (name.endsWith("_")) continue;
        const base = name.replace(/_(bucket|sum|count)$/, "");
        if (!known.has(name) && !known.has(base)) unknown.push(`${file}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
  });
});
