/**
 * `registry.metrics()` for worker histograms in a registry in text mode: their lines are written by
 * serve/histogram-lines.ts (counts digit by digit into one buffer) instead of by prom-client's formatter
 * over a sample object, a labels object and a label string per line. The text is prom-client's, byte for
 * byte: before the first use with a registry's `getMetricsAsString`, that very method writes a histogram
 * made up for the check (escaped label values, number label values, an unlabelled series, counts past
 * 2^53, NaN and infinite sums, bounds written with exponents) and this path is taken only if both agree;
 * a metric this path does not cover (default labels, UTF-8 names, OpenMetrics) is left to prom-client.
 * @module
 */
import type { Registry } from "prom-client";
import { HistogramArena, HistogramCounts, HistogramSeries } from "./bridge/binding.js";
import { BridgeHistogram, promStringValues } from "./bridge/histogram.js";
import { escapeTextHelp } from "./serve/format.js";
import { GrowingSink, HistogramLines } from "./serve/histogram-lines.js";

/** A registry's own `getMetricsAsString` (prom-client's method, or whatever was there before the hook), called as the registry. */
type Original = (this: unknown, metric: unknown) => unknown;

/** Series read per page. */
const kSeriesPerPage = 1024;

/** A body buffer larger than this is not kept for the next call. */
const kKeptSinkBytes = 1024 * 1024;

/**
 * Per `getMetricsAsString` function (prom-client's, `@prometheus-io/client`'s): the pending check, then
 * how it writes NaN when it writes what {@link HistogramLines} writes, or `null` when it does not.
 */
const agreements = new WeakMap<Original, Promise<void> | { nan: string } | null>();

/** `original` called as `registry` for `metric`. */
function theirText(registry: Registry, original: Original, metric: unknown): Promise<string> {
  return Promise.resolve(original.call(registry, metric)) as Promise<string>;
}

/** The lines of each metric, made once (per NaN spelling). */
const linesOf = new WeakMap<BridgeHistogram, HistogramLines>();

let sink = new GrowingSink();

/**
 * `registry.getMetricsAsString(metric)` written here for a worker histogram (see the module's text), or
 * `undefined` for prom-client to write (`original`, the registry's own method, which the check calls as
 * the registry; the same function each call, since the check's outcome is kept per function).
 */
export function histogramPromText(registry: Registry, metric: unknown, original: Original): Promise<string> | undefined {
  if (!(metric instanceof BridgeHistogram) || metric.utf8 !== undefined) return undefined;
  const { contentType, _defaultLabels: defaults } = registry as unknown as { contentType?: unknown; _defaultLabels?: Record<string, unknown> };
  if (typeof contentType !== "string" || !contentType.startsWith("text/plain")) return undefined;
  if (defaults !== undefined) for (const _ in defaults) return undefined;
  const agreement = agreements.get(original);
  if (agreement === undefined) {
    agreements.set(original, check(registry, original));
    return undefined;
  }
  if (agreement === null || agreement instanceof Promise) return undefined;
  let lines = linesOf.get(metric);
  if (lines === undefined || lines.nan !== agreement.nan) {
    lines = new HistogramLines("text", metric.name, metric.bounds, false, agreement.nan);
    linesOf.set(metric, lines);
  }
  // Drained as prom-client's call of getForPromString() would, in the same synchronous turn.
  metric.beforeRead();
  const text = write(metric, lines);
  return Promise.resolve(`# HELP ${escapeTextHelp(metric.name)} ${escapeTextHelp(metric.help)}\n# TYPE ${escapeTextHelp(metric.name)} histogram${text}`);
}

/** The lines of every exported series. */
function write(metric: BridgeHistogram, lines: HistogramLines): string {
  sink.written = 0;
  const pages = metric.seriesPages();
  for (let page = pages(kSeriesPerPage); page !== undefined; page = pages(kSeriesPerPage)) lines.write(page, sink);
  const text = sink.buffer.toString("utf8", 0, sink.written);
  if (sink.buffer.length > kKeptSinkBytes) sink = new GrowingSink();
  return text;
}

/** Whether `original` writes a made-up histogram as {@link HistogramLines} does, and its NaN. */
async function check(registry: Registry, original: Original): Promise<void> {
  let agreement: { nan: string } | null = null;
  try {
    const nanText = await theirText(registry, original, { get: () => ({ name: "nan_check", help: "NaN.", type: "gauge", values: [{ labels: {}, value: Number.NaN }] }) });
    const nan = nanText.slice(nanText.lastIndexOf(" ") + 1);
    // Written unit by unit as ASCII (histogram-lines.ts).
    if (!/^[\x21-\x7e]+$/.test(nan)) throw new Error(`NaN written as ${JSON.stringify(nan)}`);
    const name = "prom_text_check_seconds";
    const bounds = [-1, 2.5e-7, 0.5, 1e21];
    const made: Array<[Record<string, string | number>, number[], number]> = [
      [{}, [1, 0, 2, 0, 3], 1.5],
      [{ path: 'q"b\\s\nl', code: 200, unicode: "é☃🙂" }, [0, 0, 0, 0, 2 ** 53 + 2], Number.NaN],
      [{ a: "" }, [0, 0, 0, 1, 0], Number.POSITIVE_INFINITY],
      [{ b: "x" }, [1, 0, 0, 0, 0], Number.NEGATIVE_INFINITY],
      [{ c: "y", d: "z" }, [0, 1, 0, 0, 0], 0.1 + 0.2],
      [{ e: "-0" }, [3, 0, 0, 0, 0], -0],
      [{ f: "big" }, [0, 0, 1, 0, 0], 1e21],
    ];
    // In an arena, as the hub's series are: the lines' code then sees one kind of typed array. A check
    // with counts in a plain ArrayBuffer made the writing of every later page about four times slower (V8
    // reads typed arrays over a growable SharedArrayBuffer through a path of their own once both kinds met).
    const counts = new HistogramCounts(bounds.length, new HistogramArena(made.length * (bounds.length + 2)));
    const series = made.map(([labels, buckets, sum]) => {
      const one = new HistogramSeries(labels, bounds.length, true, counts);
      one.buckets.set(buckets);
      one.sum = sum;
      return one;
    });
    const leLabels = [...bounds.map((le) => ({ le })), { le: "+Inf" }];
    const values = promStringValues(name, leLabels, series.map((target) => ({ target })));
    const help = "A made-up\\histogram,\nchecked.";
    const theirs = await theirText(registry, original, { get: () => ({ name, help, type: "histogram", values }) });
    const lines = new HistogramLines("text", name, bounds, false, nan);
    const own = new GrowingSink();
    lines.write(series, own);
    const ours = `# HELP ${name} ${escapeTextHelp(help)}\n# TYPE ${name} histogram${own.buffer.toString("utf8", 0, own.written)}`;
    if (ours === theirs) agreement = { nan };
  } catch {
    // Whatever failed, prom-client writes these metrics as it always did.
  }
  agreements.set(original, agreement);
}
