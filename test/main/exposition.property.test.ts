/**
 * Property tests of the exposition: random metrics (all four kinds, random label names and hostile label
 * values and help texts) and random operations spread over three workers, rendered twice per run. Every
 * render must match a model of what was recorded, keep histogram buckets cumulative with `+Inf` equal to
 * `_count` and `_sum` equal to the sum of observations, never lower a counter, and be accepted by
 * `promtool check metrics` and by the Python client's strict parser, which must read back every label
 * value exactly as generated.
 */
import type { Worker } from "node:worker_threads";
import fc from "fast-check";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { MonotonicityWatch } from "../helpers/faults.js";
import { JUDGE_PACKAGES, hasPromtool, hasPythonParser, promtoolCheck, pyNumber, pythonParse, type PyFamily } from "../helpers/strict-parsers.js";
import { nextMessage, startWorker } from "../helpers/workers.js";

const RUNS = Number(process.env.PROM_THREADS_PROPERTY_RUNS ?? 15);
const WORKERS = 3;

type Kind = "counter" | "gauge" | "histogram" | "summary";
interface MetricDef {
  kind: Kind;
  name: string;
  help: string;
  labelNames: string[];
  buckets?: number[];
  percentiles?: number[];
}
interface Op {
  worker: number;
  metric: number;
  values: string[];
  op: "inc" | "dec" | "set" | "observe";
  value: number;
}

// Values are multiples of 1/4 of modest size: every partial sum is exact in binary, in any order.
const quarter = (min: number, max: number) => fc.integer({ min: min * 4, max: max * 4 }).map((n) => n / 4);
const hostile = fc.constantFrom("", " ", '"', "\\", "\n", 'a"b\\c\nd', "ünï", "😀", "0", "-1", "le", "+Inf", "NaN", "a b", "{x=\"y\"}", "#");
const labelValue = fc.oneof(hostile, fc.string({ unit: "grapheme", maxLength: 8 }), fc.string({ unit: "binary-ascii", maxLength: 6 }));
// A help text of blanks only is written as given (as prom-client does), but Prometheus's parser skips the
// blanks after the name, so promtool's linter reports "no help text": such texts are left out of this test.
const helpText = fc.oneof(
  fc.constantFrom("Help.", 'Quotes " and \\ backslash\nnewline.', "ünïcödé ✓"),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }).filter((text) => text.trim() !== ""),
);
const labelNamePool = ["kind", "route", "code", "shard"];

const metricArb = (index: number) =>
  fc
    .record({
      kind: fc.constantFrom<Kind>("counter", "gauge", "histogram", "summary"),
      help: helpText,
      labelNames: fc.subarray(labelNamePool, { maxLength: 2 }),
      buckets: fc.uniqueArray(quarter(-10, 10), { minLength: 1, maxLength: 5 }).map((b) => [...b].sort((x, y) => x - y)),
    })
    .map(({ kind, help, labelNames, buckets }) => {
      const suffix = { counter: "_total", gauge: "_items", histogram: "_seconds", summary: "_bytes" }[kind];
      const def: MetricDef = { kind, name: `m${index}${suffix}`, help, labelNames };
      if (kind === "histogram") def.buckets = buckets;
      if (kind === "summary") def.percentiles = [0.5, 0.9];
      return def;
    });

const scenarioArb = fc.integer({ min: 1, max: 4 }).chain((n) =>
  fc.tuple(...Array.from({ length: n }, (_, i) => metricArb(i))).chain((metrics) => {
    const opArb = fc.integer({ min: 0, max: metrics.length - 1 }).chain((metric) => {
      const def = metrics[metric] as MetricDef;
      const ops: Array<fc.Arbitrary<{ op: Op["op"]; value: number }>> = {
        counter: [quarter(0, 100).map((value) => ({ op: "inc" as const, value }))],
        gauge: [
          quarter(-100, 100).map((value) => ({ op: "set" as const, value })),
          quarter(-100, 100).map((value) => ({ op: "inc" as const, value })),
          quarter(-100, 100).map((value) => ({ op: "dec" as const, value })),
        ],
        histogram: [quarter(-20, 20).map((value) => ({ op: "observe" as const, value }))],
        summary: [quarter(0, 1000).map((value) => ({ op: "observe" as const, value }))],
      }[def.kind];
      return fc.record({
        worker: fc.integer({ min: 0, max: WORKERS - 1 }),
        metric: fc.constant(metric),
        values: fc.tuple(...def.labelNames.map(() => labelValue)).map((v) => [...v]),
        action: fc.oneof(...ops),
      });
    });
    return fc.record({ metrics: fc.constant(metrics), ops: fc.array(opArb, { minLength: 1, maxLength: 60 }) });
  }),
);

/** What the renders must show: the state after the ops applied so far. */
class Model {
  counters = new Map<string, number>();
  gauges = new Map<string, Map<number, number>>();
  histograms = new Map<string, { buckets: number[]; sum: number; count: number }>();
  summaries = new Map<string, { sum: number; count: number }>();
  constructor(readonly metrics: MetricDef[]) {}

  static key(metric: string, labelNames: string[], values: string[]): string {
    return JSON.stringify([metric, Object.fromEntries(labelNames.map((name, i) => [name, values[i]]))]);
  }

  apply(op: Op): void {
    const def = this.metrics[op.metric] as MetricDef;
    const key = Model.key(def.name, def.labelNames, op.values);
    switch (def.kind) {
      case "counter":
        this.counters.set(key, (this.counters.get(key) ?? 0) + op.value);
        break;
      case "gauge": {
        const perWorker = this.gauges.get(key) ?? new Map<number, number>();
        const current = perWorker.get(op.worker) ?? 0;
        perWorker.set(op.worker, op.op === "set" ? op.value : op.op === "inc" ? current + op.value : current - op.value);
        this.gauges.set(key, perWorker);
        break;
      }
      case "histogram": {
        const bounds = def.buckets as number[];
        const h = this.histograms.get(key) ?? { buckets: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 };
        let b = 0;
        while (b < bounds.length && op.value > (bounds[b] as number)) b++;
        h.buckets[b] = (h.buckets[b] as number) + 1;
        h.sum += op.value;
        h.count++;
        this.histograms.set(key, h);
        break;
      }
      case "summary": {
        const s = this.summaries.get(key) ?? { sum: 0, count: 0 };
        s.sum += op.value;
        s.count++;
        this.summaries.set(key, s);
        break;
      }
    }
  }
}

/** Sample values of a Python-parsed render, keyed like the model (metric name + labels without `le`/`quantile`). */
function index(families: PyFamily[]) {
  const values = new Map<string, number>();
  const buckets = new Map<string, Array<[number, number]>>();
  for (const family of families) {
    for (const sample of family.samples) {
      const { le, quantile, ...labels } = sample.labels;
      const key = JSON.stringify([sample.name, labels]);
      if (le !== undefined) {
        const list = buckets.get(key) ?? [];
        list.push([pyNumber(le), pyNumber(sample.value)]);
        buckets.set(key, list);
      } else if (quantile === undefined) {
        values.set(key, pyNumber(sample.value));
      }
    }
  }
  return { values, buckets };
}

let hub: MetricsHub;
let registry: Registry;
let workers: Worker[];

beforeAll(async () => {
  registry = new Registry();
  hub = new MetricsHub({ registry });
  workers = Array.from({ length: WORKERS }, () => startWorker("script-runner.mjs", { workerData: hub.workerData }));
  for (const w of workers) hub.attach(w);
  await Promise.all(workers.map((w) => nextMessage(w)));
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.terminate()));
  await hub.close();
});

async function runOps(metrics: MetricDef[], ops: Op[]): Promise<void> {
  const replies = await Promise.all(
    workers.map((w, i) => {
      const reply = nextMessage<{ ok: boolean; error?: string }>(w);
      w.postMessage({ metrics, ops: ops.filter((op) => op.worker === i) });
      return reply;
    }),
  );
  for (const reply of replies) if (!reply.ok) throw new Error(`worker failed: ${reply.error}`);
}

describe("exposition invariants over random declarations and observations in several workers", () => {
  const renders: string[] = [];
  const expectations: Array<{ render: number; model: Model }> = [];

  it(`match a model, keep histograms consistent and counters monotonic, and pass promtool (${RUNS} runs)`, { timeout: 240_000 }, async () => {
    if (!hasPromtool) console.warn(`[exposition] promtool not found: promtool checks skipped; install ${JUDGE_PACKAGES}`);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ({ metrics, ops: raw }) => {
        // Each run gets its own metric names: one hub and one registry serve every run.
        const prefix = `r${run++}_`;
        const defs = metrics.map((m) => ({ ...m, name: prefix + m.name }));
        const ops: Op[] = raw.map(({ action, ...rest }) => ({ ...rest, ...action }));
        const model = new Model(defs);
        // Histogram observations may be negative here, so only their _sum may go down.
        const watch = new MonotonicityWatch({ sums: false });
        const half = Math.ceil(ops.length / 2);
        for (const part of [ops.slice(0, half), ops.slice(half)]) {
          await runOps(defs, part);
          for (const op of part) model.apply(op);
          const text = await registry.metrics();
          const all = watch.observe(text);
          checkAgainstModel(all, model, prefix);
          checkValues((await registry.getMetricsAsJSON()) as unknown as Parameters<typeof checkValues>[0], model);
          if (hasPromtool) {
            const verdict = await promtoolCheck(text);
            expect(verdict.output, "promtool check metrics").toBe("exit 0");
          }
          renders.push(text);
          expectations.push({ render: renders.length - 1, model: snapshot(model) });
        }
        expect(watch.decreases).toEqual([]);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  });

  it.skipIf(!hasPythonParser)("every render parses with the Python client's strict parser, which reads back every label value and invariant", async () => {
    expect(renders.length).toBeGreaterThan(0);
    const readings = await pythonParse(renders);
    readings.forEach((reading, i) => {
      if ("error" in reading) throw new Error(`python parser rejected render ${i}: ${reading.error}\n${renders[i]}`);
    });
    for (const { render, model } of expectations) {
      const reading = readings[render] as { families: PyFamily[] };
      const { values, buckets } = index(reading.families);
      for (const [key, value] of model.counters) expect(values.get(key), key).toBe(value);
      for (const [key, perWorker] of model.gauges) expect(values.get(key), key).toBe([...perWorker.values()].reduce((a, b) => a + b, 0));
      for (const [key, h] of model.histograms) {
        const [name, labels] = JSON.parse(key) as [string, Record<string, string>];
        const list = buckets.get(JSON.stringify([`${name}_bucket`, labels])) ?? [];
        // Cumulative in le order, ending with +Inf = _count; _sum = the sum of the observations.
        const sorted = [...list].sort((a, b) => a[0] - b[0]);
        expect(sorted.at(-1)?.[0], key).toBe(Infinity);
        for (let i = 1; i < sorted.length; i++) expect(sorted[i]![1], key).toBeGreaterThanOrEqual(sorted[i - 1]![1]);
        expect(sorted.at(-1)?.[1], key).toBe(values.get(JSON.stringify([`${name}_count`, labels])));
        expect(values.get(JSON.stringify([`${name}_count`, labels])), key).toBe(h.count);
        expect(values.get(JSON.stringify([`${name}_sum`, labels])), key).toBe(h.sum);
      }
      for (const [key, s] of model.summaries) {
        const [name, labels] = JSON.parse(key) as [string, Record<string, string>];
        expect(values.get(JSON.stringify([`${name}_count`, labels])), key).toBe(s.count);
        expect(values.get(JSON.stringify([`${name}_sum`, labels])), key).toBe(s.sum);
      }
    }
  });
  if (!hasPythonParser) it.skip(`python parser checks: install ${JUDGE_PACKAGES}`, () => {});
});

/** Compare values with the model through prom-client's JSON, where label values are plain strings. */
function checkValues(json: Array<{ name: string; values: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }> }>, model: Model): void {
  const values = new Map<string, number>();
  for (const metric of json) {
    for (const v of metric.values) {
      if ("quantile" in v.labels || "le" in v.labels) continue;
      values.set(JSON.stringify([v.metricName ?? metric.name, v.labels]), v.value);
    }
  }
  for (const [key, value] of model.counters) expect(values.get(key), key).toBe(value);
  for (const [key, perWorker] of model.gauges) expect(values.get(key), key).toBe([...perWorker.values()].reduce((a, b) => a + b, 0));
  for (const [key, h] of model.histograms) {
    const [name, labels] = JSON.parse(key) as [string, Record<string, string>];
    expect(values.get(JSON.stringify([`${name}_count`, labels])), key).toBe(h.count);
    expect(values.get(JSON.stringify([`${name}_sum`, labels])), key).toBe(h.sum);
  }
}

function snapshot(model: Model): Model {
  const copy = new Model(model.metrics);
  copy.counters = new Map(model.counters);
  copy.gauges = new Map([...model.gauges].map(([k, v]) => [k, new Map(v)]));
  copy.histograms = new Map([...model.histograms].map(([k, h]) => [k, { buckets: [...h.buckets], sum: h.sum, count: h.count }]));
  copy.summaries = new Map([...model.summaries].map(([k, s]) => [k, { ...s }]));
  return copy;
}

/** Check a render (parsed by our own small parser) against the model, through prom-client's JSON too. */
function checkAgainstModel(all: Map<string, number>, model: Model, prefix: string): void {
  // Every series the render shows for this run's metrics is one the model knows, and vice versa.
  const shown = [...all.keys()].filter((k) => k.startsWith(prefix)).length;
  let expected = model.counters.size + model.gauges.size + model.summaries.size * 2;
  for (const h of model.histograms.values()) expected += h.buckets.length + 2;
  for (const s of model.summaries.values()) expected += s.count > 0 ? 2 : 0; // the two quantiles
  expect(shown).toBe(expected);
  // Histogram invariants on our own reading as well: cumulative buckets, +Inf = _count.
  for (const [key, value] of all) {
    if (!key.startsWith(prefix) || !key.includes('_bucket{') || !key.includes('le="+Inf"')) continue;
    const countKey = key.replace("_bucket{", "_count{").replace(/le="\+Inf",?/, "").replace("{}", "");
    expect(value, key).toBe(all.get(countKey));
  }
}
