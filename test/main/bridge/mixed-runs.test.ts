import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub } from "../../../src/main/index.js";
import { kOpAdd, kOpDeclareMetric, kOpDeclareSeries, kOpObserve, kOpRemoveSeries, kOpResetMetric, kOpSet } from "../../../src/shared/transport/protocol.js";
import { samples } from "../../helpers/exposition.js";
import { exited, nextMessage, startWorker } from "../../helpers/workers.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

type Step = { op: number; id: number; json?: string; aux?: number; value?: number };

/** A worker that writes the steps it is sent, each batch in one go; `run` resolves once they are written. */
async function startBatchWriter(hub: MetricsHub) {
  const worker = startWorker("hostile-batch.mjs", { workerData: hub.workerData });
  expect(await nextMessage(worker)).toEqual({ ready: true });
  const run = async (steps: Step[]): Promise<void> => {
    const reply = nextMessage<{ ok: boolean; message?: string }>(worker);
    worker.postMessage(steps);
    const answer = await reply;
    if (!answer.ok) throw new Error(answer.message);
  };
  return { worker, run };
}

async function setup(options: Record<string, unknown> = {}) {
  const registry = new Registry();
  const hub = new MetricsHub({ registry, ...options });
  cleanup.push(() => hub.close());
  hub.on("error", () => {});
  const { worker, run } = await startBatchWriter(hub);
  cleanup.push(async () => {
    await worker.terminate();
  });
  return { registry, hub, worker, run };
}

const decl = (id: number, d: object): Step => ({ op: kOpDeclareMetric, id, json: JSON.stringify({ help: "h", labelNames: ["s"], ...d }) });
const series = (id: number, metric: number, s: string): Step => ({ op: kOpDeclareSeries, id, json: JSON.stringify({ metric, values: [s] }) });

describe("runs that mix ops and series", () => {
  it("apply each record once, to its series", async () => {
    const { registry, hub, run } = await setup();
    const steps: Step[] = [
      decl(0, { type: "histogram", name: "h_seconds", buckets: [1, 2] }),
      decl(1, { type: "counter", name: "c_total" }),
      decl(2, { type: "gauge", name: "g" }),
      decl(3, { type: "summary", name: "sm", percentiles: [0.5] }),
      { op: kOpObserve, id: 5, aux: 0, value: 0.5 }, // undeclared: malformed
      series(0, 0, "a"),
      { op: kOpObserve, id: 0, aux: 0, value: 0.5 },
      { op: kOpAdd, id: 1, value: 1 }, // undeclared
      series(1, 1, "a"),
      { op: kOpAdd, id: 1, value: 2 },
      { op: kOpObserve, id: 0, aux: 2, value: 5 },
      { op: kOpObserve, id: 0, aux: 3, value: 5 }, // out of range: malformed
      { op: kOpObserve, id: 0, aux: 1, value: Number.NaN }, // NaN: malformed
      series(2, 2, "a"),
      series(3, 3, "a"),
      series(4, 0, "b"),
      { op: kOpSet, id: 2, value: 7 },
      { op: kOpAdd, id: 2, value: -2 },
      { op: kOpObserve, id: 3, value: 4 },
      { op: kOpObserve, id: 4, aux: 1, value: 1.5 },
      { op: kOpObserve, id: 0, aux: 1, value: -1 },
      { op: kOpAdd, id: 1, value: -1 }, // negative counter: malformed
      { op: kOpAdd, id: 0, value: 1 }, // counter op on a histogram: malformed
      { op: kOpRemoveSeries, id: 0, json: "" },
      { op: kOpObserve, id: 0, aux: 0, value: 0.5 }, // removed
      series(0, 1, "b"), // id 0 reused for a counter series
      { op: kOpAdd, id: 0, value: 10 },
      { op: kOpObserve, id: 0, aux: 0, value: 0.5 }, // observe on a counter: malformed
      { op: kOpObserve, id: 4, aux: 0, value: 0.25 },
    ];
    await run(steps);
    const all = samples(await registry.metrics());
    expect(all.get('h_seconds_bucket{le="1",s="a"}')).toBe(1);
    expect(all.get('h_seconds_bucket{le="2",s="a"}')).toBe(2);
    expect(all.get('h_seconds_bucket{le="+Inf",s="a"}')).toBe(3);
    expect(all.get('h_seconds_sum{s="a"}')).toBe(4.5);
    expect(all.get('h_seconds_count{s="b"}')).toBe(2);
    expect(all.get('h_seconds_bucket{le="1",s="b"}')).toBe(1);
    expect(all.get('h_seconds_sum{s="b"}')).toBe(1.75);
    expect(all.get('c_total{s="a"}')).toBe(2);
    expect(all.get('c_total{s="b"}')).toBe(10);
    expect(all.get('g{s="a"}')).toBe(5);
    expect(all.get('sm_count{s="a"}')).toBe(1);
    const stats = hub.stats();
    expect(stats.recordsDrained).toBe(10);
    expect(stats.recordsDropped.malformed).toBe(7);
    expect(stats.recordsDropped.removed_series).toBe(1);
  });

  it("counts every series right when the arena grows inside one drain", async () => {
    const { registry, run } = await setup({ ringCapacity: 1 << 16 });
    const buckets = Array.from({ length: 30 }, (_, i) => i + 1);
    const steps: Step[] = [decl(0, { type: "histogram", name: "big_seconds", buckets })];
    const n = 600; // 600 * 32 numbers: past 8192 and 16384
    for (let s = 0; s < n; s++) {
      steps.push(series(s, 0, `s${s}`));
      // One observation into every series declared so far, bucket s % 31.
      for (let t = 0; t <= s; t += 37) steps.push({ op: kOpObserve, id: t, aux: t % 31, value: 1 });
    }
    await run(steps);
    const expected = new Map<number, number>();
    for (let s = 0; s < n; s++) for (let t = 0; t <= s; t += 37) expected.set(t, (expected.get(t) ?? 0) + 1);
    const all = samples(await registry.metrics());
    for (let t = 0; t < n; t++) {
      const count = expected.get(t) ?? 0;
      if (count === 0) continue;
      expect(all.get(`big_seconds_count{s="s${t}"}`), `s${t}`).toBe(count);
      expect(all.get(`big_seconds_sum{s="s${t}"}`), `s${t}`).toBe(count);
      const le = t % 31 === 30 ? "+Inf" : String(t % 31 + 1);
      expect(all.get(`big_seconds_bucket{le="${le}",s="s${t}"}`), `s${t}`).toBe(count);
    }
  });
});

describe("slot reuse and exemplars inside runs", () => {
  it("a new owner of the slot starts with no histogram bindings; exemplars land on their series", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, maxWorkers: 1 });
    cleanup.push(() => hub.close());
    hub.on("error", () => {});
    const start = () => startBatchWriter(hub);
    const a = await start();
    await a.run([
      decl(0, { type: "histogram", name: "r_seconds", buckets: [1, 2], enableExemplars: true }),
      decl(1, { type: "counter", name: "r_total", enableExemplars: true }),
      series(0, 0, "a"),
      series(1, 0, "b"),
      { op: kOpObserve, id: 0, aux: 0, value: 1 },
      { op: 20, id: 1, exemplar: { op: kOpObserve, aux: 1, value: 1.5, labels: { t: "x" } } } as Step,
      { op: kOpObserve, id: 1, aux: 2, value: 3 },
      { op: 20, id: 7, exemplar: { op: kOpObserve, aux: 1, value: 1.5, labels: { t: "undeclared" } } } as Step,
    ]);
    await a.worker.terminate();
    await exited(a.worker);
    await registry.metrics();
    const b = await start();
    cleanup.push(() => b.worker.terminate());
    await b.run([
      decl(0, { type: "counter", name: "r_total", enableExemplars: true }),
      { op: kOpObserve, id: 1, aux: 0, value: 1 }, // id 1 was a's histogram series: undeclared now
      series(0, 0, "c"),
      { op: kOpAdd, id: 0, value: 2 },
      { op: kOpObserve, id: 0, aux: 0, value: 1 }, // id 0 was a's histogram series; now a counter
      { op: 20, id: 0, exemplar: { op: kOpAdd, aux: 0, value: 3, labels: { t: "y" } } } as Step,
      { op: kOpResetMetric, id: 0, json: "" },
      { op: kOpAdd, id: 0, value: 4 },
    ]);
    const all = samples(await registry.metrics());
    expect(all.get('r_seconds_count{s="a"}')).toBe(1);
    expect(all.get('r_seconds_count{s="b"}')).toBe(2);
    expect(all.get('r_seconds_bucket{le="2",s="b"}')).toBe(1);
    expect(all.get('r_seconds_sum{s="b"}')).toBe(4.5);
    expect(all.get('r_total{s="c"}')).toBe(4);
    const json = await registry.getMetricsAsJSON();
    const h = json.find((m) => m.name === "r_seconds") as { values: Array<{ labels: Record<string, unknown>; exemplar?: { labelSet: Record<string, string> } | null }> };
    const withExemplar = h.values.filter((v) => v.exemplar != null);
    expect(withExemplar.map((v) => [v.labels.s, v.labels.le, v.exemplar?.labelSet.t])).toEqual([["b", 2, "x"]]);
    const stats = hub.stats();
    // applied: 1 + 1(exemplar) + 1 + 2 + 1(exemplar) + 1 = 7 ; hmm 
    expect(stats.recordsDrained).toBe(6);
    expect(stats.recordsDropped.malformed).toBe(3);
  });
});
