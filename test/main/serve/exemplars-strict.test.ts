import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub, startHttpServer } from "../../../src/main/index.js";
import { promtoolCheck, pythonParse, skipWithout } from "../../helpers/exposition-checkers.js";
import { get } from "../../helpers/http.js";
import { nextMessage, startWorker } from "../../helpers/workers.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe.skipIf(skipWithout(["promtool", "python"], "the strict parser checks of exemplars"))("exemplars from workers, judged by strict parsers", () => {
  it("OpenMetrics carries them and python's strict parser reads them; the text format has none and promtool accepts it", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    cleanup.push(() => hub.close());
    const server = await startHttpServer({ hub, port: 0 });
    cleanup.push(() => server.close());
    const values = [0.004, 0.04, 0.4, 4, -1, 0];
    const w = startWorker("native.mjs", { workerData: { ...hub.workerData, job: { values, worker: 3, buckets: [0.01, 0.1, 1], traceEvery: 1 } } });
    cleanup.push(() => w.terminate());
    await nextMessage(w);

    const om = await get(`http://127.0.0.1:${server.port}/metrics`, { headers: { Accept: "application/openmetrics-text;version=1.0.0" } });
    const parsed = await pythonParse(om.text, "openmetrics");
    expect(parsed.error).toBeUndefined();
    const samples = parsed.families?.flatMap((f) => f.samples) ?? [];
    const withExemplar = samples.filter((s) => s.exemplar !== undefined).map((s) => [s.name, s.labels.le ?? "", s.exemplar?.labels.trace_id, s.exemplar?.value]);
    // Bucket 0.01 had w3-0 (0.004), w3-4 (-1) and w3-5 (0), and the counter all six: each slot shows the
    // first of its exemplars, or a later one if the hub read the table between them.
    const first = withExemplar[0]?.[2] === "w3-0" ? ["w3-0", "0.004"] : withExemplar[0]?.[2] === "w3-4" ? ["w3-4", "-1.0"] : ["w3-5", "0.0"];
    expect(withExemplar.slice(0, 4)).toEqual([
      ["fx_native_seconds_bucket", "0.01", ...first],
      ["fx_native_seconds_bucket", "0.1", "w3-1", "0.04"],
      ["fx_native_seconds_bucket", "1.0", "w3-2", "0.4"],
      ["fx_native_seconds_bucket", "+Inf", "w3-3", "4.0"],
    ]);
    expect(withExemplar[4]?.slice(0, 2)).toEqual(["fx_native_requests_total", ""]);
    expect(["w3-0", "w3-1", "w3-2", "w3-3", "w3-4", "w3-5"]).toContain(withExemplar[4]?.[2]);
    expect(withExemplar[4]?.[3]).toBe("1.0");
    expect(withExemplar).toHaveLength(5);

    const text = await get(`http://127.0.0.1:${server.port}/metrics`);
    expect(text.text).not.toContain("trace_id");
    const verdict = await promtoolCheck(text.text);
    expect(verdict.error).toBeUndefined();
  });
});
