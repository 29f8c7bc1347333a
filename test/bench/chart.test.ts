import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url).pathname;
const fixture = join(root, "test/fixtures/bench-results.json");
const run = promisify(execFile);

/** The bars of one panel: contender key, value it stands for, drawn width. */
function bars(svg: string, panel: string): Array<{ key: string; value: number; width: number }> {
  const group = svg.match(new RegExp(`<g id="${panel}"[\\s\\S]*?</g>`))?.[0];
  if (group === undefined) throw new Error(`no panel ${panel}`);
  return [...group.matchAll(/<rect class="(?:ours|them)" data-key="([^"]+)" data-value="([^"]+)"[^>]* width="([^"]+)"/g)].map((m) => ({
    key: m[1] as string,
    value: Number(m[2]),
    width: Number(m[3]),
  }));
}

async function chart(input: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "chart-"));
  try {
    const out = join(dir, "out.svg");
    await run(process.execPath, [join(root, "bench/chart.js"), input, out], { timeout: 20_000 });
    return readFileSync(out, "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("bench/chart.js", () => {
  it("draws one bar per contender and figure from the results JSON, scaled to the values", async () => {
    const svg = await chart(fixture);
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("Test CPU, 2 cores, Node v20.0.0 (and v22.0.0), 2026-01-02, load average 0.10 0.20 0.30 at start");

    const busy = bars(svg, "busy-scrape-p99");
    expect(busy.map((b) => b.key)).toEqual(["cluster", "prom-threads", "worker-registry@22"]);
    const [cluster, ours] = busy as [(typeof busy)[0], (typeof busy)[0]];
    // Linear scale: a 99x smaller value gets a 99x shorter bar, but never an invisible one.
    expect(ours.width).toBeGreaterThanOrEqual(1);
    expect(cluster.width / ours.width).toBeGreaterThan(95);
    expect(cluster.width / ours.width).toBeLessThan(103);

    // Linear scale, at the largest worker count only: widths proportional to values.
    const throughput = bars(svg, "throughput");
    expect(throughput.map((b) => b.key)).toEqual(["postMessage", "cluster", "prom-threads"]);
    const [postMessage, , fastest] = throughput as [(typeof throughput)[0], (typeof throughput)[0], (typeof throughput)[0]];
    expect(postMessage.width / fastest.width).toBeCloseTo(1 / 32, 2);
    expect(svg).toContain(">32M /s<");

    expect(bars(svg, "observe-cost").map((b) => b.key)).toEqual(["prom-client", "postMessage", "prom-threads"]);
    expect(bars(svg, "metrics-rps").map((b) => [b.key, b.value])).toEqual([
      ["prom-client", 80],
      ["prom-threads", 100],
    ]);
    expect(svg.match(/class="ours"/g)).toHaveLength(4);
  });

  it("fails with a clear message when the results lack a figure", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chart-bad-"));
    try {
      const bad = join(dir, "bad.json");
      const results = JSON.parse(readFileSync(fixture, "utf8"));
      delete results.figures.busyScrapes;
      writeFileSync(bad, JSON.stringify(results));
      await expect(chart(bad)).rejects.toThrow(/figures\.busyScrapes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
