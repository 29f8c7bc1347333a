/**
 * The status page's live part, rendered by one self-contained function that runs twice: in the server
 * for the first paint (so the page works without JavaScript) and, as its own source text, in the
 * browser each time `/status` is polled. One renderer means the two can never disagree.
 * @module
 */
import type { StatusDocument } from "./status-snapshot.js";

/** How far back the rate charts reach, in milliseconds. */
export const kStatusWindowMs = 5 * 60 * 1000;

/**
 * Render the live part of the status page for `doc`, with rate charts drawn from `history` (earlier
 * documents, oldest first, `doc` last; one document draws no rate).
 *
 * Self-contained on purpose: the page ships `renderStatus.toString()` to the browser, so this function
 * may use no import, no module-level name and no TypeScript-only runtime feature.
 */
export function renderStatus(doc: StatusDocument, history: readonly StatusDocument[]): string {
  const windowMs = 5 * 60 * 1000;
  const reasons = ["ring_full", "worker_exit", "no_slot", "declaration_conflict", "removed_series", "malformed"];
  const outcomes = ["completed", "failed", "aborted"];
  const esc = (text: unknown): string => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const num = (value: number): string => {
    if (!Number.isFinite(value)) return "–";
    const abs = Math.abs(value);
    if (abs >= 1e9) return `${(value / 1e9).toFixed(2)} G`;
    if (abs >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
    if (abs >= 1e4) return `${(value / 1e3).toFixed(1)} k`;
    if (abs >= 100 || Number.isInteger(value)) return value.toFixed(0);
    return value.toFixed(abs >= 10 ? 1 : 2);
  };
  const pct = (ratio: number | null): string => (ratio === null ? "–" : `${(ratio * 100).toFixed(1)} %`);
  const seconds = (value: number | null): string => {
    if (value === null || !Number.isFinite(value)) return "–";
    if (value < 0.001) return `${(value * 1e6).toFixed(0)} µs`;
    if (value < 1) return `${(value * 1e3).toFixed(value < 0.01 ? 2 : 1)} ms`;
    return `${value.toFixed(2)} s`;
  };
  const mib = (bytes: number | null): string => (bytes === null ? "–" : `${(bytes / 1048576).toFixed(1)} MiB`);
  const samples = history.filter((h) => h.time >= doc.time - windowMs - 1);
  // The time axis spans the samples held, up to the window: a page open for 20 s shows 20 s.
  const start = Math.max(doc.time - windowMs, samples[0]?.time ?? doc.time);
  const span = Math.max(doc.time - start, 1000);
  const ago = span >= 60_000 ? `−${(span / 60_000).toFixed(1).replace(/\.0$/, "")} min` : `−${Math.round(span / 1000)} s`;

  // Rate of a counter between consecutive samples, per second; a counter that went down (a new hub)
  // counts from 0.
  const rates = (read: (d: StatusDocument) => number | undefined): [number, number][] => {
    const points: [number, number][] = [];
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1] as StatusDocument;
      const b = samples[i] as StatusDocument;
      const va = read(a);
      const vb = read(b);
      const dt = (b.time - a.time) / 1000;
      if (va === undefined || vb === undefined || dt <= 0) continue;
      points.push([b.time, Math.max(0, vb >= va ? vb - va : vb) / dt]);
    }
    return points;
  };

  const chart = (id: string, title: string, unit: string, series: { name: string; points: [number, number][] }[]): string => {
    const drawn = series.filter((s) => s.points.length > 0);
    const max = Math.max(0, ...drawn.flatMap((s) => s.points.map((p) => p[1])));
    const top = max <= 0 ? 1 : max * 1.1;
    const lines = drawn
      .map((s) => {
        const points = s.points.map(([t, v]) => `${(((t - start) / span) * 300).toFixed(1)},${(100 - (v / top) * 100).toFixed(2)}`).join(" ");
        const index = series.indexOf(s);
        return `<polyline class="s${index}" data-series="${esc(s.name)}" points="${points}"/>`;
      })
      .join("");
    const last = (s: { points: [number, number][] }): number => (s.points.length === 0 ? NaN : (s.points[s.points.length - 1] as [number, number])[1]);
    const legend = series.map((s, i) => `<span class="key s${i}">${esc(s.name)} <b>${num(last(s))}</b></span>`).join(" ");
    const empty = drawn.length === 0 ? `<p class="wait">Rates draw from the second sample on, while the page is open (with JavaScript).</p>` : "";
    return `<figure class="chart" data-chart="${esc(id)}" data-points="${drawn.reduce((n, s) => n + s.points.length, 0)}" data-max="${max}">
<figcaption>${esc(title)} <small>${esc(unit)}</small></figcaption>
<div class="plot"><span class="ymax">${num(top)}</span><svg viewBox="0 0 300 100" preserveAspectRatio="none" role="img" aria-label="${esc(title)}">
<line class="grid" x1="0" y1="50" x2="300" y2="50"/><line class="grid" x1="0" y1="100" x2="300" y2="100"/>${lines}</svg></div>
<div class="axis"><span>${ago}</span><span>now</span></div>${empty}<div class="legend">${legend}</div></figure>`;
  };

  // histogram_quantile over classic buckets: linear within the bucket; the +Inf bucket answers its
  // lower bound.
  const quantile = (q: number, le: (number | null)[], counts: number[]): number | null => {
    const total = counts[counts.length - 1] ?? 0;
    if (total <= 0) return null;
    const rank = q * total;
    for (let i = 0; i < counts.length; i++) {
      const count = counts[i] as number;
      if (count < rank) continue;
      const upper = le[i];
      const lower = i === 0 ? 0 : (le[i - 1] as number);
      if (upper === null || upper === undefined) return lower;
      const below = i === 0 ? 0 : (counts[i - 1] as number);
      return count === below ? upper : lower + ((upper - lower) * (rank - below)) / (count - below);
    }
    return null;
  };

  const tile = (id: string, label: string, value: string, note = ""): string =>
    `<div class="tile"><span class="label">${esc(label)}</span><span class="value" id="${id}">${esc(value)}</span>${note === "" ? "" : `<span class="note">${esc(note)}</span>`}</div>`;

  const hub = doc.hub;
  if (hub === null) return `<p>No MetricsHub is attached to this server: it serves the registry's metrics only.</p>`;
  const droppedTotal = reasons.reduce((n, r) => n + ((hub.recordsDropped as Record<string, number>)[r] ?? 0), 0);
  const droppedNow = reasons.filter((r) => ((hub.recordsDropped as Record<string, number>)[r] ?? 0) > 0);
  const parts: string[] = [];
  parts.push(`<section class="tiles">
${tile("state", "Hub", hub.closed ? "closed" : "running", `updated ${new Date(doc.time).toISOString().slice(11, 19)} UTC`)}
${tile("workers", "Connected workers", `${hub.workersConnected} of ${hub.maxWorkers}`, `${hub.ringCapacity} records per ring`)}
${tile("fill", "Fullest ring", pct(hub.ringFill))}
${tile("drained", "Records drained", num(hub.recordsDrained))}
${tile("dropped", "Records dropped", num(droppedTotal), droppedNow.map((r) => `${r}: ${(hub.recordsDropped as Record<string, number>)[r]}`).join(", ") || "none")}
${tile("metrics", "Metrics declared by workers", String(hub.metrics))}
</section>`);
  const dropped = reasons.map((r) => ({ name: r, points: rates((d) => (d.hub?.recordsDropped as Record<string, number> | undefined)?.[r]) }));
  const droppedShown = dropped.filter((s) => s.points.some((p) => p[1] > 0));
  parts.push(`<section class="charts">
${chart("drained", "Records drained", "per second", [{ name: "drained", points: rates((d) => d.hub?.recordsDrained) }])}
${chart("dropped", "Records dropped by reason", "per second", droppedShown.length > 0 ? droppedShown : [{ name: "all reasons", points: rates((d) => (d.hub === null ? undefined : reasons.reduce((n, r) => n + ((d.hub?.recordsDropped as Record<string, number> | undefined)?.[r] ?? 0), 0))) }])}
</section>`);

  const used = doc.slots.filter((s) => s.inUse).length;
  const width = Math.max(doc.slots.length, 1);
  const bars = doc.slots
    .map((s, i) => {
      if (!s.inUse) return `<rect class="free" x="${i + 0.15}" y="98" width="0.7" height="2"><title>slot ${i}: free</title></rect>`;
      const height = Math.max(s.fill * 100, 1.5);
      return `<rect class="${s.fill >= 0.8 ? "hot" : "used"}" x="${i + 0.15}" y="${(100 - height).toFixed(2)}" width="0.7" height="${height.toFixed(2)}"><title>slot ${i}: ${s.threadId === null ? "a worker" : `thread ${s.threadId}`}, ${pct(s.fill)}</title></rect>`;
    })
    .join("");
  parts.push(`<section><h2>Ring fill per worker slot</h2>
<figure class="chart" data-chart="slots" data-used="${used}"><figcaption>${used} of ${hub.maxWorkers} slots in use · fullest ${pct(hub.ringFill)}${doc.slots.length < hub.maxWorkers ? ` · slots 0 to ${doc.slots.length - 1} shown` : ""}</figcaption>
<div class="plot"><span class="ymax">100 %</span><svg class="bars" viewBox="0 0 ${width} 100" preserveAspectRatio="none" role="img" aria-label="ring fill per slot"><line class="grid" x1="0" y1="20" x2="${width}" y2="20"/>${bars}</svg></div>
<div class="axis"><span>slot 0</span><span>dashed: 80 %</span><span>slot ${Math.max(doc.slots.length - 1, 0)}</span></div></figure></section>`);

  for (const pool of doc.pools) {
    const first = samples.find((d) => d.pools.some((p) => p.name === pool.name));
    const before = first?.pools.find((p) => p.name === pool.name);
    const row = (label: string, buckets: typeof pool.wait, earlier: typeof pool.wait | undefined): string => {
      if (buckets === null) return `<tr><th>${label}</th><td colspan="3">no wrapped task yet</td></tr>`;
      let counts = buckets.counts;
      let scope = "since start";
      if (earlier !== null && earlier !== undefined && earlier.counts.length === counts.length && first !== undefined && first.time < doc.time) {
        const delta = counts.map((c, i) => c - (earlier.counts[i] as number));
        if ((delta[delta.length - 1] ?? 0) > 0) {
          counts = delta;
          scope = `last ${Math.round((doc.time - first.time) / 1000)} s`;
        }
      }
      const cells = [0.5, 0.9, 0.99].map((q) => `<td>${seconds(quantile(q, buckets.le, counts))}</td>`).join("");
      return `<tr><th>${label}</th>${cells}<td class="scope">${scope}</td></tr>`;
    };
    const taskRates = outcomes.map((o) => ({ name: o, points: rates((d) => (d.pools.find((p) => p.name === pool.name)?.tasks as Record<string, number> | undefined)?.[o]) }));
    const queueSeries = [{ name: "queued", points: samples.flatMap((d): [number, number][] => {
      const q = d.pools.find((p) => p.name === pool.name)?.queueSize;
      return typeof q === "number" ? [[d.time, q]] : [];
    }) }];
    parts.push(`<section class="pool" data-pool="${esc(pool.name)}"><h2>Pool <q>${esc(pool.name)}</q></h2>
<div class="tiles">
${tile(`pool-${esc(pool.name)}-queue`, "Queue", pool.queueSize === null ? "–" : String(pool.queueSize))}
${tile(`pool-${esc(pool.name)}-threads`, "Threads", String(pool.threads))}
${tile(`pool-${esc(pool.name)}-utilization`, "Utilization", pct(pool.utilization), "piscina's estimate since start")}
${tile(`pool-${esc(pool.name)}-tasks`, "Tasks", num(outcomes.reduce((n, o) => n + ((pool.tasks as Record<string, number>)[o] ?? 0), 0)), outcomes.map((o) => `${o} ${(pool.tasks as Record<string, number>)[o] ?? 0}`).join(" · "))}
</div>
<div class="charts">${chart(`tasks-${pool.name}`, "Tasks settled by outcome", "per second", taskRates)}${samples.length > 1 ? chart(`queue-${pool.name}`, "Queue size", "tasks", queueSeries) : ""}</div>
<table class="quantiles"><thead><tr><th></th><th>p50</th><th>p90</th><th>p99</th><th></th></tr></thead><tbody>
${row("Wait", pool.wait, before?.wait)}
${row("Run", pool.run, before?.run)}
</tbody></table></section>`);
  }

  if (doc.threads.length > 0) {
    const rows = doc.threads
      .map((t) => {
        const elu = t.eventLoopUtilization;
        const bar = elu === null ? "" : `<span class="bar${elu >= 0.9 ? " hot" : ""}"><span style="width:${(Math.min(Math.max(elu, 0), 1) * 100).toFixed(1)}%"></span></span>`;
        return `<tr data-thread="${esc(t.thread)}"><td>${esc(t.pool)}</td><td>${esc(t.thread)}</td><td class="elu">${bar}${pct(elu)}</td><td>${mib(t.heapUsedBytes)}</td></tr>`;
      })
      .join("\n");
    parts.push(`<section><h2>Worker threads</h2><table class="threads"><thead><tr><th>Pool</th><th>Thread</th><th>Event loop utilization</th><th>Heap used</th></tr></thead><tbody>
${rows}
</tbody></table></section>`);
  }
  return parts.join("\n");
}
