/**
 * Exemplars and native histograms through the cluster aggregator, with real cluster worker processes
 * (each a MetricsHub with a worker thread and a ClusterPublisher) and the primary's own HTTP server:
 * - a native histogram declared at three bucket factors (schemas 3, 1 and -1) and three zero thresholds
 *   in three processes is served as the exact sum of what each recorded, at the coarsest schema and the
 *   widest zero threshold, over two rounds of pushes;
 * - the exemplar of a counter series and of a histogram bucket is the latest recorded in any process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterAggregator, startHttpServer, type MetricsServer } from "../../../src/main/index.js";
import { command, fork, killAll, type Proc } from "../../helpers/cluster.js";
import { PROMETHEUS_ACCEPT, get, sleep } from "../../helpers/http.js";
import { decodeMetricFamilies, type DecodedMetric } from "../../helpers/protobuf.js";

const PROTOBUF = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

let aggregator: ClusterAggregator;
let server: MetricsServer;
let procs: Proc[] = [];

/** The three processes: bucket factor (schema) and zero threshold of their native histogram `ct_sizes`. */
const SETUPS = [
  { FACTOR: "1.1", ZERO: String(2 ** -128) }, // schema 3
  { FACTOR: "1.5", ZERO: String(2 ** -20) }, // schema 1
  { FACTOR: "4", ZERO: String(2 ** -10) }, // schema -1
];
const COARSEST = -1;
const WIDEST = 2 ** -10;

beforeAll(async () => {
  aggregator = new ClusterAggregator({ scrapeWaitMs: 200 });
  server = await startHttpServer({ registry: aggregator.registry, port: 0 });
  procs = await Promise.all(SETUPS.map((env) => fork(env, "cluster-traced-process.mjs")));
}, 60_000);

afterAll(async () => {
  await killAll();
  await server?.close();
  await aggregator?.close();
});

/** Seeded values: both signs, zeros, values inside the narrower zero buckets, and magnitudes 2^-12 .. 2^12. */
function values(seed: number, n: number): number[] {
  let state = seed >>> 0;
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: n }, (_, i) => {
    if (i % 17 === 0) return 0;
    if (i % 13 === 0) return (random() < 0.5 ? -1 : 1) * 2 ** -15; // inside 2^-10, outside 2^-20
    // A multiple of 2^-24 so every sum is exact in any order.
    const magnitude = Math.round(2 ** (random() * 24 - 12) * 2 ** 24) / 2 ** 24;
    return random() < 0.25 ? -magnitude : magnitude;
  });
}

/** The bucket of `|v|` at schema -1, from the definition: the smallest i with |v| <= 4^i. */
function indexAtSchemaMinus1(v: number): number {
  let i = -40;
  while (2 ** (2 * i) < v) i++;
  return i;
}

function expected(all: number[]): { zero: number; positive: Map<number, number>; negative: Map<number, number>; sum: number } {
  const out = { zero: 0, positive: new Map<number, number>(), negative: new Map<number, number>(), sum: 0 };
  for (const v of all) {
    out.sum += v;
    if (Math.abs(v) <= WIDEST) out.zero++;
    else {
      const side = v > 0 ? out.positive : out.negative;
      const index = indexAtSchemaMinus1(Math.abs(v));
      side.set(index, (side.get(index) ?? 0) + 1);
    }
  }
  return out;
}

function countsOf(spans: Array<[number, number]>, deltas: number[]): Map<number, number> {
  const out = new Map<number, number>();
  let index = 0;
  let count = 0;
  let d = 0;
  for (const [offset, length] of spans) {
    index += offset;
    for (let i = 0; i < length; i++, index++) {
      count += deltas[d++] as number;
      if (count !== 0) out.set(index, count);
    }
  }
  return out;
}

async function scrapeProtobuf(): Promise<Map<string, DecodedMetric[]>> {
  const res = await fetch(server.url, { headers: { accept: PROTOBUF }, signal: AbortSignal.timeout(10_000) });
  expect(res.headers.get("content-type")).toContain("application/vnd.google.protobuf");
  return new Map(decodeMetricFamilies(new Uint8Array(await res.arrayBuffer())).map((f) => [f.name, f.metrics]));
}

describe("exemplars and native histograms through the cluster aggregator", () => {
  it("serves the exact sum of native histograms recorded at three schemas and zero thresholds, at the coarsest schema and the widest threshold", async () => {
    const recorded: number[] = [];
    for (const round of [1, 2]) {
      await Promise.all(
        procs.map((proc, p) => {
          const mine = values(round * 100 + p, 400);
          recorded.push(...mine);
          return command(proc, { test: "observe", values: mine, push: true });
        }),
      );
      const want = expected(recorded);
      const histogram = (await scrapeProtobuf()).get("ct_sizes")?.[0]?.histogram;
      expect(histogram?.schema).toBe(COARSEST);
      expect(histogram?.zeroThreshold).toBe(WIDEST);
      expect(histogram?.count).toBe(recorded.length);
      expect(histogram?.sum).toBe(want.sum);
      expect(histogram?.zeroCount).toBe(want.zero);
      expect(countsOf(histogram?.positiveSpans ?? [], histogram?.positiveDeltas ?? [])).toEqual(want.positive);
      expect(countsOf(histogram?.negativeSpans ?? [], histogram?.negativeDeltas ?? [])).toEqual(want.negative);
    }
    expect(aggregator.stats()).toEqual(expect.objectContaining({ malformedMessages: 0, rejectedFamilies: 0, rejectedSeries: 0 }));
  }, 60_000);

  it("shows the latest exemplar of a counter series and of a histogram bucket recorded in any process", async () => {
    const [p1, p2, p3] = procs as [Proc, Proc, Proc];
    // Recorded one after the other, a few milliseconds apart: p2, then p3, then p1.
    for (const [proc, trace] of [
      [p2, "t2"],
      [p3, "t3"],
      [p1, "t1"],
    ] as const) {
      await command(proc, { test: "trace", trace, push: true });
      await command(proc, { test: "observe", values: [3], trace: `s${trace}`, push: true });
      await sleep(5);
    }
    let families = await scrapeProtobuf();
    expect(families.get("ct_requests_total")?.[0]?.counter?.exemplar?.labels).toEqual({ trace_id: "t1" });
    // A native-only histogram keeps its exemplar on its +Inf bucket.
    const inf = () => families.get("ct_sizes")?.[0]?.histogram?.buckets.find((b) => b.le === Number.POSITIVE_INFINITY)?.exemplar;
    expect(inf()?.labels).toEqual({ trace_id: "st1" });
    expect(inf()?.value).toBe(3);
    // A process pushing again without a newer exemplar leaves the latest in place; a newer one replaces it.
    await command(p2, { test: "observe", values: [1], push: true });
    families = await scrapeProtobuf();
    expect(inf()?.labels).toEqual({ trace_id: "st1" });
    await command(p3, { test: "trace", trace: "t3b", push: true });
    families = await scrapeProtobuf();
    expect(families.get("ct_requests_total")?.[0]?.counter?.exemplar?.labels).toEqual({ trace_id: "t3b" });
    expect(families.get("ct_requests_total")?.[0]?.counter?.value).toBe(4);
    // The same exemplar over OpenMetrics.
    const text = (await get(server.url, { headers: { accept: PROMETHEUS_ACCEPT } })).text;
    expect(text).toMatch(/^ct_requests_total\{route="\/a"\} 4 # \{trace_id="t3b"\} 1 \d+(\.\d+)?$/m);
  }, 60_000);
});
