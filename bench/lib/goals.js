// The goals of the hot path (performance at the floor, bursts at the floor's speed against an honest floor,
// one writer shape, a drain that outruns a producer, no slower than version 0.1's writer), each with its measured value and whether it is met, computed from one run's results
// (bench/results/latest.json).
//
// Which floor each ratio uses: every "vs the floor" goal divides by the floor measured in the same worker
// thread and the same run, with the same burst shape (bench/lib/floor-ring.js: a ring write at a cached
// limit, its reader in a thread of its own). The worker that recorded before connect() has its own floor
// beside it (bench/lib/early-record.worker.js). The drain goal compares two rates of the main thread.

export const FLOOR = "floor: ring write (3 stores + Atomics.store at a cached limit, reader thread keeping up)";
export const HOT_PATH = ["prom-threads histogram.observe, 5 buckets", "prom-threads histogram.observe, 11 buckets (default)", "prom-threads histogram.observe, 30 buckets", "prom-threads counter.inc"];
export const BURSTS = ["short bursts", "10^6 bursts"];
export const CLOCK = "two performance.now() reads (the clock reads of time())";
export const TIME = "prom-threads time() around a no-op";
/** The early-record worker's cases (bench/lib/early-record.worker.js). */
export const EARLY_FLOOR = "floor: ring write (honest floor)";
export const EARLY_INC = "prom-threads counter.inc, in a worker that recorded before connect()";
/** The "before" of the shared overflow: counter.inc through version 0.1's writer (worker-local spill), bench/lib/v01-writer.js. */
export const BEFORE_INC = "before (0.1): counter.inc through version 0.1's writer";

/** An observation with an exemplar (32-hex trace_id, 16-hex span_id, labels object), in a worker. */
export const EXEMPLAR_OURS = "prom-threads histogram.observe with an exemplar";
export const EXEMPLAR_THEIRS = "prom-client histogram.observe with an exemplar";

const ns = (v) => `${v.toFixed(1)} ns`;
const kib = (v) => (v >= 2 ** 20 ? `${(v / 2 ** 20).toFixed(2)} MiB` : `${(v / 1024).toFixed(0)} KiB`);

/** Every goal with `{ name, want, value, unit, met, detail }`. */
export function goals(result) {
  const { cost, memory } = result.core;
  const f = result.figures;
  const out = [];
  const median = (name) => cost[name]?.median;
  for (const burst of BURSTS) {
    const floor = median(`${FLOOR}, ${burst}`);
    if (floor === undefined) continue;
    out.push({ name: `the floor, ${burst}`, want: "measured in the same run and thread", value: floor, unit: "ns", met: true, detail: ns(floor) });
    for (const shape of HOT_PATH) {
      const ours = median(`${shape}, ${burst}`);
      if (ours === undefined) continue;
      const x = ours / floor;
      out.push({ name: `${shape.replace("prom-threads ", "")}, ${burst}, vs the floor`, want: "≤ 1.5x", value: x, unit: "x", met: x <= 1.5, detail: `${ns(ours)} vs ${ns(floor)}` });
    }
  }
  // One writer shape: a worker whose first record came before connect() keeps a monomorphic call site.
  const early = result.core.early?.cost;
  for (const burst of BURSTS) {
    const floor = early?.[`${EARLY_FLOOR}, ${burst}`]?.median;
    const ours = early?.[`${EARLY_INC}, ${burst}`]?.median;
    if (floor === undefined || ours === undefined) continue;
    const x = ours / floor;
    out.push({ name: `counter.inc in a worker that recorded before connect(), ${burst}, vs the floor`, want: "≤ 1.5x", value: x, unit: "x", met: x <= 1.5, detail: `${ns(ours)} vs ${ns(floor)}` });
  }
  // The drain outruns a producer, with many series.
  const drain = result.core.drain;
  if (drain?.manySeries && drain.producer) {
    const x = drain.manySeries.median / drain.producer.median;
    out.push({
      name: `drain, histograms of 11 buckets and ${drain.seriesCount} label sets, vs one producer's tight loop`,
      want: "≥ 2.0x",
      value: x,
      unit: "x",
      met: x >= 2 && drain.drained === drain.expected,
      detail: `${(drain.manySeries.median / 1e6).toFixed(1)}M vs ${(drain.producer.median / 1e6).toFixed(1)}M records/s; drained ${drain.drained} of ${drain.expected}`,
    });
  }
  // The shared overflow must not make the common case slower than 0.1's writer.
  for (const burst of BURSTS) {
    const after = median(`${HOT_PATH[3]}, ${burst}`);
    const before = median(`${BEFORE_INC}, ${burst}`);
    if (after === undefined || before === undefined) continue;
    const x = after / before;
    out.push({ name: `counter.inc, ${burst}, vs version 0.1's writer`, want: "≤ 1.0x", value: x, unit: "x", met: x <= 1, detail: `${ns(after)} vs ${ns(before)}` });
  }
  const clock = median(CLOCK);
  const observe = median(`${HOT_PATH[1]}, short bursts`);
  const timed = median(TIME);
  if (clock !== undefined && observe !== undefined && timed !== undefined) {
    const x = timed / (clock + observe);
    out.push({ name: "time() around a no-op vs its two clock reads + one observe", want: "≤ 1.0x", value: x, unit: "x", met: x <= 1, detail: `${ns(timed)} vs ${ns(clock)} + ${ns(observe)}` });
  }
  for (const series of [10, 1000]) {
    const find = (k) => f?.series?.find((s) => s.key === k && s.series === series);
    if (!find("prom-client") || !find("prom-threads")) continue;
    const x = find("prom-threads").rps / find("prom-client").rps;
    out.push({ name: `/metrics requests/s vs prom-client, ${series} series`, want: "≥ 1.0x", value: x, unit: "x", met: x >= 1, detail: `${find("prom-threads").rps.toFixed(0)} vs ${find("prom-client").rps.toFixed(0)} req/s` });
  }
  const busy = (k) => f?.busyScrapes?.find((b) => b.key === k);
  for (const [other, ours, label] of [["cluster", "prom-threads", "AggregatorRegistry"], ["worker-registry@22", "prom-threads@22", "WorkerRegistry (Node 22)"]]) {
    if (!busy(other) || !busy(ours)) continue;
    const x = busy(other).p99 / busy(ours).p99;
    out.push({
      name: `scrape p99 under 200 ms CPU tasks vs ${label}`,
      want: "≥ 20x better",
      value: x,
      unit: "x",
      met: x >= 20,
      detail: `${busy(ours).p99.toFixed(2)} ms (${busy(ours).scrapes} scrapes) vs ${busy(other).p99.toFixed(1)} ms (${busy(other).scrapes} scrapes)`,
    });
  }
  if (memory) {
    const met = memory.idleBytes < memory.ringBytes && memory.perWorkerBytes <= memory.ringBytes;
    out.push({
      name: `shared memory follows connected workers (default maxWorkers ${memory.maxWorkers})`,
      want: "idle hub < one ring; + one ring per connected worker",
      value: memory.idleBytes,
      unit: "bytes",
      met,
      detail: `idle ${kib(memory.idleBytes)}, then ${memory.byWorkers.slice(1).map(kib).join(", ")} with 1, 2 workers: ${kib(memory.perWorkerBytes)} per worker`,
    });
  }
  // Exemplars cheap: at most 300 ns in short bursts, at most prom-client's own call in 10^6 bursts.
  const exemplar = (name) => result.native?.cases?.[name]?.median;
  const shortOurs = exemplar(`${EXEMPLAR_OURS}, short bursts`);
  if (shortOurs !== undefined) {
    out.push({ name: "observe with an exemplar, short bursts", want: "≤ 300 ns", value: shortOurs, unit: "ns", met: shortOurs <= 300, detail: ns(shortOurs) });
  }
  const longOurs = exemplar(`${EXEMPLAR_OURS}, 10^6 bursts`);
  const longTheirs = exemplar(`${EXEMPLAR_THEIRS}, 10^6 bursts`);
  if (longOurs !== undefined && longTheirs !== undefined) {
    const x = longOurs / longTheirs;
    out.push({ name: "observe with an exemplar, 10^6 bursts, vs prom-client's", want: "≤ 1.0x", value: x, unit: "x", met: x <= 1, detail: `${ns(longOurs)} vs ${ns(longTheirs)}` });
  }
  const warnings = result.warnings ?? [];
  out.push({ name: "warnings printed during the run", want: "none", value: warnings.length, unit: "", met: warnings.length === 0, detail: warnings.length ? warnings.slice(0, 3).join("; ") : "none" });
  return out;
}

/** One line per goal. */
export function goalLines(list, markdown) {
  return list.map((g) => {
    const value = g.unit === "x" ? `${g.value.toFixed(2)}x` : g.unit === "ms" ? `${g.value.toFixed(2)} ms` : g.unit === "ns" ? `${g.value.toFixed(1)} ns` : g.unit === "bytes" ? kib(g.value) : String(g.value);
    return `${markdown ? "- " : "  "}${g.met ? "met    " : "MISSED "} ${g.name}: want ${g.want}; measured ${value} (${g.detail})`;
  });
}
