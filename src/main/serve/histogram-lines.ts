/**
 * The sample lines of a worker histogram's series, written straight from the hub's numbers for the two
 * text formats: the same bytes as rendering the series' samples (`getMetricsAsJSON()` shape) with
 * text-format.ts or openmetrics.ts, without the sample object, labels object and label text per bucket
 * line that path builds. A sliced scrape of a large registry builds less garbage, so the collector's
 * pauses inside its steps are fewer and shorter (see docs/design.md, "A responsive main thread").
 * @module
 */
import type { HistogramSeries, SeriesLabels } from "../bridge/binding.js";
import { escapeLabelValue, formatCanonical, formatValue } from "./format.js";
import { renderExemplar } from "./openmetrics.js";
import { renderLabels } from "./snapshot.js";

/**
 * The label pairs of a series as both text formats write them (`a="x",b="y"`), by its labels object: the
 * hub makes one labels object per series and never changes it, so its text is made once, not per scrape.
 */
const pairsOf = new WeakMap<SeriesLabels, string>();

function labelPairs(labels: SeriesLabels): string {
  let pairs = pairsOf.get(labels);
  if (pairs === undefined) {
    pairs = renderLabels(labels, escapeLabelValue).slice(1, -1);
    pairsOf.set(labels, pairs);
  }
  return pairs;
}

/** Which text format a {@link HistogramLines} writes. */
export type LinesFormat = "text" | "openmetrics";

/**
 * The lines of one classic histogram family's series, in one format. Only for a family whose names are
 * written as they are (no `dots` escaping, no declared UTF-8 names, no registry default labels).
 */
export class HistogramLines {
  readonly #format: LinesFormat;
  readonly #name: string;
  /** Each bucket's line up to its labels: `x_bucket{le="0.5"`, the `+Inf` bucket's last. */
  readonly #bucketHeads: readonly string[];
  /** OpenMetrics: a histogram with a negative bucket bound has no `_sum` and `_count` (openmetrics.ts). */
  readonly #negativeBucket: boolean;
  readonly #created: boolean;

  /**
   * Lines of the histogram `name` with bucket bounds `bounds` (increasing, `+Inf` implied) in `format`;
   * with `created`, OpenMetrics `_created` lines too.
   */
  constructor(format: LinesFormat, name: string, bounds: readonly number[], created: boolean) {
    this.#format = format;
    this.#name = name;
    // As the renderers write `le`: the text format as prom-client does (String()), OpenMetrics canonical.
    const le = format === "text" ? (bound: number) => String(bound) : formatCanonical;
    this.#bucketHeads = [...bounds.map((bound) => `${name}_bucket{le="${le(bound)}"`), `${name}_bucket{le="+Inf"`];
    this.#negativeBucket = bounds.length > 0 && (bounds[0] as number) < 0;
    this.#created = created;
  }

  /** The lines of `series`, in order: as `textSamples()` writes them, or as `openMetricsSamples()` does. */
  page(series: readonly HistogramSeries[]): string {
    return this.#format === "text" ? this.#text(series) : this.#openMetrics(series);
  }

  #text(page: readonly HistogramSeries[]): string {
    const heads = this.#bucketHeads;
    const name = this.#name;
    let out = "";
    for (const series of page) {
      const pairs = labelPairs(series.labels);
      const rest = pairs === "" ? "}" : `,${pairs}}`;
      const braces = pairs === "" ? "" : `{${pairs}}`;
      const buckets = series.buckets;
      let cumulative = 0;
      for (let i = 0; i < heads.length; i++) {
        cumulative += buckets[i] as number;
        out += `\n${heads[i] as string}${rest} ${formatValue(cumulative)}`;
      }
      out += `\n${name}_sum${braces} ${formatValue(series.sum)}\n${name}_count${braces} ${formatValue(cumulative)}`;
    }
    return out;
  }

  #openMetrics(page: readonly HistogramSeries[]): string {
    const heads = this.#bucketHeads;
    const name = this.#name;
    let out = "";
    for (const series of page) {
      const pairs = labelPairs(series.labels);
      const rest = pairs === "" ? "}" : `,${pairs}}`;
      const braces = pairs === "" ? "" : `{${pairs}}`;
      const buckets = series.buckets;
      const exemplars = series.exemplars;
      let cumulative = 0;
      for (let i = 0; i < heads.length; i++) {
        cumulative += buckets[i] as number;
        out += `${heads[i] as string}${rest} ${formatValue(cumulative)}${exemplars === undefined ? "" : renderExemplar(exemplars[i])}\n`;
      }
      // Spec: no sum with negative buckets, a sum is never negative or NaN, `_count` iff `_sum`.
      const sum = series.sum;
      if (!this.#negativeBucket && sum >= 0) out += `${name}_count${braces} ${formatValue(cumulative)}\n${name}_sum${braces} ${formatValue(sum)}\n`;
      if (this.#created) out += `${name}_created${braces} ${formatValue(series.created)}\n`;
    }
    return out;
  }
}
