/**
 * The sample lines of a worker histogram's series, written straight from the hub's numbers into the
 * body's bytes for the two text formats: the same bytes as rendering the series' samples
 * (`getMetricsAsJSON()` shape) with text-format.ts or openmetrics.ts, without the sample object, labels
 * object, label text and line text that path builds per bucket line. Counts are written digit by digit,
 * fixed text character by character, so a large render allocates next to nothing: the collector's
 * scavenges and marking steps, which run inside whichever step allocated, are rare in a sliced scrape
 * (see docs/design.md, "A responsive main thread").
 * @module
 */
import type { HistogramSeries } from "../bridge/binding.js";
import { escapeLabelValue, formatCanonical, formatValue } from "./format.js";
import { renderExemplar } from "./openmetrics.js";
import { renderLabels } from "./snapshot.js";

/** A body being written: room on request, and where the next byte goes. */
export interface ByteSink {
  /** Room for `bytes` more bytes from {@link written}: the buffer to write them into. */
  room(bytes: number): Buffer;
  /** Bytes written into the buffer {@link room} returned; the writer moves it on. */
  written: number;
}

/**
 * A body written at once (not in steps): one buffer (`buffer`, or 16 KiB), moved to one twice as large
 * when it runs out of room.
 *
 * @example
 * const sink = new GrowingSink();
 * lines.write(series, sink);
 * const text = sink.buffer.toString("utf8", 0, sink.written);
 */
export class GrowingSink implements ByteSink {
  buffer: Buffer;
  written = 0;
  constructor(buffer: Buffer = Buffer.allocUnsafe(16 * 1024)) {
    this.buffer = buffer;
  }
  room(bytes: number): Buffer {
    if (this.written + bytes > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.buffer.length, this.written + bytes));
      this.buffer.copy(grown, 0, 0, this.written);
      this.buffer = grown;
    }
    return this.buffer;
  }
}

/**
 * The label pairs of a series as both text formats write them (`a="x",b="y"`): made at the series' first
 * scrape and kept by the series (its labels never change), not per scrape.
 */
function labelPairs(series: HistogramSeries): string {
  let pairs = series.linePairs;
  if (pairs === undefined) {
    pairs = renderLabels(series.labels, escapeLabelValue).slice(1, -1);
    series.linePairs = pairs;
  }
  return pairs;
}

/** Which text format a {@link HistogramLines} writes. */
export type LinesFormat = "text" | "openmetrics";

/** Bytes a number written by {@link putNumber} takes at most (`-0.0000012345678901234567`). */
const kNumberBytes = 25;

/**
 * The lines of one classic histogram family's series, in one format. Only for a family whose names are
 * written as they are (no `dots` escaping, no declared UTF-8 names), and whose registry's default labels,
 * if any, are all added after the series' own labels (see {@link appendedDefaultPairs}).
 */
export class HistogramLines {
  readonly #format: LinesFormat;
  /** Each bucket's line up to its labels: `x_bucket{le="0.5"`, the `+Inf` bucket's last. */
  readonly #bucketHeads: readonly string[];
  readonly #sumName: string;
  readonly #countName: string;
  readonly #createdName: string;
  /** OpenMetrics: a histogram with a negative bucket bound has no `_sum` and `_count` (openmetrics.ts). */
  readonly #negativeBucket: boolean;
  readonly #created: boolean;
  /** Bytes a series' lines take at most, apart from its label pairs and exemplars. */
  readonly #fixedBytes: number;
  /** Lines a series has in this format (each writes the label pairs once). */
  readonly #lines: number;
  /** The registry's default labels, written after each series' own (`zone="z1"`), or "". */
  readonly #defaults: string;
  /** Bytes the default labels take at most over a series' lines. */
  readonly #defaultsBytes: number;
  /** What a NaN value is written as. */
  readonly nan: string;

  /**
   * Lines of the histogram `name` with bucket bounds `bounds` (increasing, `+Inf` implied) in `format`;
   * with `created`, OpenMetrics `_created` lines too. A NaN value (a sum of `+Inf` and `-Inf`
   * observations) is written `nan`: `NaN` as both formats spell it, or prom-client's own spelling.
   * `defaults` is written after every line's own labels (from {@link appendedDefaultPairs}).
   */
  constructor(format: LinesFormat, name: string, bounds: readonly number[], created: boolean, nan = "NaN", defaults = "") {
    this.#format = format;
    this.nan = nan;
    // As the renderers write `le`: the text format as prom-client does (String()), OpenMetrics canonical.
    const le = format === "text" ? (bound: number) => String(bound) : formatCanonical;
    this.#bucketHeads = [...bounds.map((bound) => `${name}_bucket{le="${le(bound)}"`), `${name}_bucket{le="+Inf"`];
    this.#sumName = `${name}_sum`;
    this.#countName = `${name}_count`;
    this.#createdName = `${name}_created`;
    this.#negativeBucket = bounds.length > 0 && (bounds[0] as number) < 0;
    this.#created = created;
    this.#lines = this.#bucketHeads.length + 3;
    // Each line: its name (at most 3 bytes per unit), `{`, `,`, `}`, ` `, the number, the line feed.
    let fixed = 3 * (this.#sumName.length + this.#countName.length + this.#createdName.length);
    for (const head of this.#bucketHeads) fixed += 3 * head.length;
    this.#fixedBytes = fixed + this.#lines * (kNumberBytes + 5);
    this.#defaults = defaults;
    this.#defaultsBytes = defaults === "" ? 0 : this.#lines * (1 + 3 * defaults.length);
  }

  /**
   * Write the lines of `series`, in order, into `sink`: as `textSamples()` writes them (each line after
   * a line feed), or as `openMetricsSamples()` does (each line followed by one).
   */
  write(series: readonly HistogramSeries[], sink: ByteSink): void {
    if (this.#format === "text") this.#text(series, sink);
    else this.#openMetrics(series, sink);
  }

  #text(page: readonly HistogramSeries[], sink: ByteSink): void {
    const heads = this.#bucketHeads;
    for (const series of page) {
      const pairs = labelPairs(series);
      const buffer = sink.room(this.#fixedBytes + this.#defaultsBytes + 3 * this.#lines * pairs.length);
      let at = sink.written;
      const buckets = series.buckets;
      let cumulative = 0;
      for (let i = 0; i < heads.length; i++) {
        cumulative += buckets[i] as number;
        buffer[at++] = 0x0a;
        at = putBucket(buffer, at, heads[i] as string, pairs, this.#defaults, cumulative, this.nan);
      }
      buffer[at++] = 0x0a;
      at = putNamed(buffer, at, this.#sumName, pairs, this.#defaults);
      at = putNumber(buffer, at, series.sum, this.nan);
      buffer[at++] = 0x0a;
      at = putNamed(buffer, at, this.#countName, pairs, this.#defaults);
      at = putNumber(buffer, at, cumulative, this.nan);
      sink.written = at;
    }
  }

  #openMetrics(page: readonly HistogramSeries[], sink: ByteSink): void {
    const heads = this.#bucketHeads;
    for (const series of page) {
      const pairs = labelPairs(series);
      const exemplars = series.exemplars === undefined ? undefined : heads.map((_, i) => renderExemplar(series.exemplars?.[i]));
      let bytes = this.#fixedBytes + this.#defaultsBytes + 3 * this.#lines * pairs.length;
      if (exemplars !== undefined) for (const text of exemplars) bytes += 3 * text.length;
      const buffer = sink.room(bytes);
      let at = sink.written;
      const buckets = series.buckets;
      let cumulative = 0;
      for (let i = 0; i < heads.length; i++) {
        cumulative += buckets[i] as number;
        at = putBucket(buffer, at, heads[i] as string, pairs, this.#defaults, cumulative, this.nan);
        if (exemplars !== undefined) at = putText(buffer, at, exemplars[i] as string);
        buffer[at++] = 0x0a;
      }
      // Spec: no sum with negative buckets, a sum is never negative or NaN, `_count` iff `_sum`.
      const sum = series.sum;
      if (!this.#negativeBucket && sum >= 0) {
        at = putNamed(buffer, at, this.#countName, pairs, this.#defaults);
        at = putNumber(buffer, at, cumulative, this.nan);
        buffer[at++] = 0x0a;
        at = putNamed(buffer, at, this.#sumName, pairs, this.#defaults);
        at = putNumber(buffer, at, sum, this.nan);
        buffer[at++] = 0x0a;
      }
      if (this.#created) {
        at = putNamed(buffer, at, this.#createdName, pairs, this.#defaults);
        at = putNumber(buffer, at, series.created, this.nan);
        buffer[at++] = 0x0a;
      }
      sink.written = at;
    }
  }
}

/** Write `text` at `at` as UTF-8; returns where it ends. ASCII (nearly every name and label) is copied unit by unit. */
function putText(buffer: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return putUtf8(buffer, at + i, text, i);
    buffer[at + i] = c;
  }
  return at + text.length;
}

/** Write `text` from unit `from` on at `at`, encoded by Node (surrogate pairs, lone surrogates as U+FFFD). */
function putUtf8(buffer: Buffer, at: number, text: string, from: number): number {
  return at + buffer.write(text.slice(from), at, "utf8");
}

/**
 * A bucket's line without its line feed, `head` being `x_bucket{le="0.5"`: `head,pairs,defaults} count`;
 * returns where it ends.
 */
function putBucket(buffer: Buffer, at: number, head: string, pairs: string, defaults: string, count: number, nan: string): number {
  let end = putText(buffer, at, head);
  if (pairs !== "") {
    buffer[end++] = 0x2c;
    end = putText(buffer, end, pairs);
  }
  if (defaults !== "") {
    buffer[end++] = 0x2c;
    end = putText(buffer, end, defaults);
  }
  buffer[end++] = 0x7d;
  buffer[end++] = 0x20;
  return putNumber(buffer, end, count, nan);
}

/** `name{pairs,defaults} ` (or `name ` without labels) at `at`; returns where it ends. */
function putNamed(buffer: Buffer, at: number, name: string, pairs: string, defaults: string): number {
  let end = putText(buffer, at, name);
  if (pairs !== "" || defaults !== "") {
    buffer[end++] = 0x7b;
    end = putText(buffer, end, pairs);
    if (defaults !== "") {
      if (pairs !== "") buffer[end++] = 0x2c;
      end = putText(buffer, end, defaults);
    }
    buffer[end++] = 0x7d;
  }
  buffer[end++] = 0x20;
  return end;
}

/** A classic label name. */
const kLabelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A registry's default labels as the renderers add them to the samples of a metric whose label names are
 * `labelNames` (after the sample's own labels, in the order they were set), as label pairs
 * (`zone="z1",app="api"`); "" without default labels. Undefined when they cannot all be written that way:
 * a default label that the metric has too (it fills in a sample's own value when that is empty, in
 * place), one named `le` or not a classic label name, or a value that is not a non-empty string or a
 * nonzero finite number.
 */
export function appendedDefaultPairs(defaults: Record<string, unknown> | undefined, labelNames: readonly string[]): string | undefined {
  if (defaults === undefined) return "";
  const appended: Record<string, string | number> = {};
  for (const name in defaults) {
    const value = defaults[name];
    // An integer-like name would come first in the general path's labels object (JavaScript orders such
    // keys first); prom-client does not check default label names.
    if (name === "le" || labelNames.includes(name) || !kLabelName.test(name)) return undefined;
    if (!(typeof value === "string" && value !== "") && !(typeof value === "number" && Number.isFinite(value) && value !== 0)) return undefined;
    appended[name] = value;
  }
  return renderLabels(appended, escapeLabelValue).slice(1, -1);
}

/** Integers up to this are written digit by digit: `String()` writes every one of them without an exponent. */
const kMaxDigitsInteger = 2 ** 53;

/** Write `value` at `at` as {@link formatValue} renders it (NaN as `nan`, ASCII); returns where it ends. */
function putNumber(buffer: Buffer, at: number, value: number, nan: string): number {
  // A count (and a zero of either sign, which String() writes as "0"): its digits, no string.
  if (value >= 0 && value < kMaxDigitsInteger && Math.floor(value) === value) {
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    let rest = value;
    for (let i = at + digits - 1; i >= at; i--) {
      const digit = rest % 10;
      buffer[i] = 0x30 + digit;
      rest = (rest - digit) / 10;
    }
    return at + digits;
  }
  return putAscii(buffer, at, Number.isNaN(value) ? nan : formatValue(value));
}

/**
 * Write `text`, ASCII (a number's text), at `at`; returns where it ends. A loop of its own, not
 * {@link putText}: V8's code for `putText` became about four times slower, for good, once it had seen both
 * a string with characters past U+00FF (a label value) and an internalized string (`"+Inf"`, `"NaN"`).
 */
function putAscii(buffer: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) buffer[at + i] = text.charCodeAt(i);
  return at + text.length;
}
