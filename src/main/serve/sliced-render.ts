/**
 * Rendering a registry in slices: the work of a scrape is cut into steps of about half a millisecond, between
 * which the event loop runs, so a scrape of any size never holds the main thread long. Worker metrics are
 * read a few series at a time, each series whole in one step (a histogram's buckets, `_count` and `_sum`
 * agree); any other metric of the registry (prom-client's own, `collectDefaultMetrics()`, a summary) is
 * read by its own `get()`, in one step, and costs what it costs in prom-client.
 * @module
 */
import type { Registry } from "prom-client";
import { BridgeHistogram } from "../bridge/histogram.js";
import type { MetricsHub } from "../hub.js";
import { scrapeAccess } from "../hub/internal.js";
import { endStep, startStep, stepTiming, type StepStart } from "../hub/step-timing.js";
import { SpareBuffer } from "./body-lease.js";
import { appendedDefaultPairs, type ByteSink, HistogramLines, type LinesFormat } from "./histogram-lines.js";
import type { Negotiated } from "./negotiation.js";
import { kOpenmetricsContentType, openMetricsFamilyHead, openMetricsSamples } from "./openmetrics.js";
import { kProtobufContentType, protobufFamilyHead, protobufMetrics } from "./protobuf/render.js";
import { filterFamilies, nameFamilies, type FamilySnapshot, type SampleSnapshot } from "./snapshot.js";
import { kText1ContentType, kTextContentType, textFamilyHead, textSamples } from "./text-format.js";

/** Worker series read per page: a page of histogram series renders in well under a slice. */
const kSeriesPerPage = 32;

/** Bytes of the body copied per step when the slices are joined into one buffer. */
const kCopyBytesPerStep = 1024 * 1024;

/** A scrape stopped because every client that waited for it went away. */
export class ScrapeAborted extends Error {
  constructor() {
    super("scrape aborted: its clients went away");
    this.name = "ScrapeAborted";
  }
}

/** Steps of bounded length: {@link pause} yields to the event loop once a step has run its time. */
export class Slicer {
  readonly #sliceMs: number;
  readonly #signal: { readonly aborted: boolean } | undefined;
  #deadline: number;
  /** When the current step began, while step timing is on (see step-timing.ts). */
  #step: StepStart | undefined;
  /** Turns of the event loop this slicer gave back so far. */
  yields = 0;

  /** Steps of `sliceMs`; {@link pause} throws {@link ScrapeAborted} once `signal` aborts. */
  constructor(sliceMs: number, signal?: { readonly aborted: boolean }) {
    this.#sliceMs = sliceMs;
    this.#signal = signal;
    this.#step = stepTiming.enabled ? startStep() : undefined;
    this.#deadline = performance.now() + sliceMs;
  }

  /** When the current step has run its time: a `performance.now()` time. */
  get deadline(): number {
    return this.#deadline;
  }

  /**
   * A step begins now (after an await the slicer did not make): its time runs from here, or it ends by
   * `deadline` when the turn it runs in already did other work of the same request.
   */
  begin(deadline: number = performance.now() + this.#sliceMs): void {
    this.#step = stepTiming.enabled ? startStep() : undefined;
    this.#deadline = deadline;
  }

  /** The current step ends here (before an await the slicer does not make): timed as a render step. */
  end(): void {
    if (this.#step !== undefined) endStep("render", this.#step);
    this.#step = undefined;
  }

  /** Throw {@link ScrapeAborted} when the signal aborted. */
  check(): void {
    if (this.#signal?.aborted === true) throw new ScrapeAborted();
  }

  /**
   * Let the event loop run when this step has run its time: a promise to await then, `undefined` while
   * the step may go on (so a small render costs no await per metric). Throws {@link ScrapeAborted} when
   * aborted; the promise rejects with it when the signal aborted during the pause.
   */
  pause(): Promise<void> | undefined {
    this.check();
    if (performance.now() < this.#deadline) return undefined;
    return this.#yield();
  }

  async #yield(): Promise<void> {
    this.end();
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.yields++;
    this.check();
    this.begin();
  }
}

/** Where a sliced render reads from. */
export interface SlicedSource {
  readonly registry: Registry;
  readonly hub: MetricsHub | undefined;
}

/** One format's renderer of families in parts. */
interface PartWriter {
  readonly contentType: string;
  /** A family begins; `values` is its first part (whole series). */
  begin(family: FamilySnapshot): void;
  /** More whole series of the current family. */
  part(family: FamilySnapshot, values: readonly SampleSnapshot[]): void;
  /** The current family is complete. */
  end(family: FamilySnapshot): void;
  /** The text format whose sample lines {@link sink} takes (see histogram-lines.ts); none for protobuf. */
  readonly linesFormat: LinesFormat | undefined;
  /** Where sample lines of whole series of the current family are written, in {@link linesFormat}. */
  readonly sink: ByteSink | undefined;
  /** The chunks of the body, in order. */
  finish(): Buffer[];
  /** The render stopped before {@link finish}: nobody reads what was written. */
  abandon(): void;
}

/**
 * A text body, encoded into one buffer as it is written: each part's text is short-lived garbage that the
 * next scavenge frees, instead of text kept across the render's steps (which the collector would move to
 * the old space, and mark again and again), and no join copies the parts together at the end. The buffer
 * has room for the last body of its kind and more (see {@link spare}), so it is rarely outgrown (then
 * the parts are joined in steps); it is a buffer a finished body gave back when one is large enough
 * (see {@link releaseBody}).
 */
class TextBytes implements ByteSink {
  #buffer: Buffer;
  /** Bytes written into the current buffer. */
  written = 0;
  /** Buffers filled before the body outgrew them: joined a bounded number of bytes per step. */
  readonly #filled: Buffer[] = [];
  #filledBytes = 0;
  readonly #hint: { bytes: number };
  /** `hint` holds the size of the last body of this kind, and is updated by {@link finish}. */
  constructor(hint: { bytes: number }) {
    this.#hint = hint;
    this.#buffer = spare.take(hint.bytes, kMinBodyBytes);
  }
  room(bytes: number): Buffer {
    if (this.written + bytes > this.#buffer.length) {
      // Outgrown (the body is larger than the last one): a new buffer goes on where this one ends, rather
      // than a copy of everything so far in this step.
      this.#filled.push(this.#buffer.subarray(0, this.written));
      this.#filledBytes += this.written;
      // At least as large as everything before it: a body that outgrew its first buffer by much takes few more.
      this.#buffer = Buffer.allocUnsafe(Math.max(bytes, this.#buffer.length, this.#filledBytes));
      this.written = 0;
    }
    return this.#buffer;
  }
  add(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: room for that is room enough for a short text. A long
    // one (a metric prom-client wrote, megabytes of it) asks for its exact size, or its last add would
    // outgrow a buffer that has room for it. room() may start a new buffer, so `written` is read after it.
    const buffer = this.room(text.length <= kExactSizeFrom ? 3 * text.length : Buffer.byteLength(text, "utf8"));
    this.written += buffer.write(text, this.written, "utf8");
  }
  finish(): Buffer[] {
    this.#hint.bytes = this.#filledBytes + this.written;
    const body = this.#buffer.subarray(0, this.written);
    if (this.#filled.length > 0) return [...this.#filled, body];
    issued.set(body, this.#buffer);
    return [body];
  }
  /** Nothing written is read: the buffer goes back for the next render (the largest, if it was outgrown). */
  abandon(): void {
    spare.give(this.#buffer);
  }
}

/** Texts longer than this are measured before they are written (see {@link TextBytes.add}). */
const kExactSizeFrom = 4096;

/** The smallest buffer a text body starts with. */
const kMinBodyBytes = 16 * 1024;

/** The size of the last body of each text format (see {@link TextBytes}). */
const textHint = { bytes: 0 };
const openMetricsHint = { bytes: 0 };

/** The whole buffer of each text body rendered, by the body (a view of its start). */
const issued = new WeakMap<Buffer, Buffer>();

/**
 * The buffer of a body nobody reads any more (text, or protobuf joined from its parts), kept for the next
 * render (body-lease.ts). The text writers ask for room for a page of lines before they write it, so a
 * buffer that held the last body exactly would be outgrown at its last page: then a second buffer and a
 * join, 132 MB of new memory for a 66 MB body. The spare's margin keeps that from happening.
 */
const spare = new SpareBuffer();

/**
 * `body` (a body this module rendered) is read no more, by anyone: the next render may write over
 * it. Called once the compressed copy of a body exists and the body itself is not sent, or once every
 * write of a body that was sent is done.
 */
export function releaseBody(body: Buffer): void {
  const whole = issued.get(body);
  if (whole === undefined) return;
  issued.delete(body);
  spare.give(whole);
}

class TextWriter implements PartWriter {
  readonly contentType: string;
  readonly linesFormat = "text";
  readonly sink = new TextBytes(textHint);
  #families = 0;
  constructor(contentType: string) {
    this.contentType = contentType;
  }
  begin(family: FamilySnapshot): void {
    this.sink.add(`${this.#families++ === 0 ? "" : "\n\n"}${textFamilyHead(family)}`);
  }
  part(family: FamilySnapshot, values: readonly SampleSnapshot[]): void {
    if (values.length > 0) this.sink.add(textSamples(family, values));
  }
  end(): void {}
  finish(): Buffer[] {
    this.sink.add("\n");
    return this.sink.finish();
  }
  abandon(): void {
    this.sink.abandon();
  }
}

class OpenMetricsWriter implements PartWriter {
  readonly contentType: string;
  readonly linesFormat = "openmetrics";
  readonly sink = new TextBytes(openMetricsHint);
  readonly #created: boolean;
  constructor(contentType: string, created: boolean) {
    this.contentType = contentType;
    this.#created = created;
  }
  begin(family: FamilySnapshot): void {
    this.sink.add(openMetricsFamilyHead(family));
  }
  part(family: FamilySnapshot, values: readonly SampleSnapshot[]): void {
    if (values.length > 0) this.sink.add(openMetricsSamples(family, values, this.#created));
  }
  end(): void {}
  finish(): Buffer[] {
    this.sink.add("# EOF\n");
    return this.sink.finish();
  }
  abandon(): void {
    this.sink.abandon();
  }
}

class ProtobufWriter implements PartWriter {
  readonly contentType: string;
  readonly linesFormat = undefined;
  readonly sink = undefined;
  readonly #chunks: Buffer[] = [];
  constructor(contentType: string) {
    this.contentType = contentType;
  }
  #family: Uint8Array[] = [];
  #familyBytes = 0;
  begin(): void {
    this.#family = [];
    this.#familyBytes = 0;
  }
  part(family: FamilySnapshot, values: readonly SampleSnapshot[]): void {
    if (values.length === 0) return;
    const bytes = protobufMetrics(family, values);
    this.#family.push(bytes);
    this.#familyBytes += bytes.length;
  }
  end(family: FamilySnapshot): void {
    // Prometheus skips families without metrics; leaving them out saves the bytes.
    if (this.#family.length === 0) return;
    this.#chunks.push(bufferOf(protobufFamilyHead(family, this.#familyBytes)));
    for (const bytes of this.#family) this.#chunks.push(bufferOf(bytes));
    this.#family = [];
  }
  finish(): Buffer[] {
    return this.#chunks;
  }
  /** Its parts are new memory, not a kept buffer: nothing to give back. */
  abandon(): void {}
}

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** What a render writes: the negotiated format and names, the families asked for, `_created` samples. */
export interface RenderRequest {
  readonly negotiated: Negotiated;
  /** The `name[]` query parameters: render only these families. */
  readonly names: readonly string[] | undefined;
  readonly createdSamples: boolean;
}

function writerFor(request: RenderRequest): PartWriter {
  const { negotiated } = request;
  // The Content-Type names the scheme used whenever the scraper named one, and always for text 1.0.0;
  // a scraper that never heard of escaping gets the Content-Type it always got.
  const escaping = negotiated.escapingNamed ? `; escaping=${negotiated.escaping}` : "";
  if (negotiated.format === "openmetrics") return new OpenMetricsWriter(kOpenmetricsContentType + escaping, request.createdSamples);
  if (negotiated.format === "protobuf") return new ProtobufWriter(kProtobufContentType + escaping);
  if (negotiated.version === "1.0.0") return new TextWriter(`${kText1ContentType}; escaping=${negotiated.escaping}`);
  return new TextWriter(kTextContentType + escaping);
}

/** What `registry.getMetricsAsJSON()` does to a metric's values when the registry has default labels. */
function withDefaultLabels(values: readonly SampleSnapshot[], defaults: Record<string, unknown> | undefined): readonly SampleSnapshot[] {
  if (defaults === undefined) return values;
  return values.map((value) => {
    const labels: Record<string, string | number | undefined> = { ...value.labels };
    for (const name in defaults) labels[name] = labels[name] || (defaults[name] as string | number | undefined);
    // A worker series' created time is a getter of its sample (bridge-metric.ts), which a spread leaves out.
    const created = value.created;
    return created === undefined ? { ...value, labels } : { ...value, labels, created };
  });
}

interface ListedMetric {
  name: string;
  help: string;
  type: string;
  /** A worker metric's declared UTF-8 names (bridge-metric.ts). */
  utf8?: FamilySnapshot["utf8"];
  get(): Promise<FamilySnapshot> | FamilySnapshot;
}

/**
 * Render every metric of `source.registry` as `request` asks, in steps that each end with
 * {@link Slicer.pause}: the same bytes as rendering `registry.getMetricsAsJSON()` at once, apart from
 * records applied while the render runs (a series read later may include them; a series read earlier
 * shows them in the next scrape). The hub is not drained here: call its `drainPublished()` first.
 * Rejects with {@link ScrapeAborted}.
 */
export async function renderSliced(request: RenderRequest, source: SlicedSource, slicer: Slicer): Promise<{ body: Buffer; contentType: string }> {
  const writer = writerFor(request);
  let chunks: Buffer[];
  try {
    await writeFamilies(writer, request, source, slicer);
    chunks = writer.finish();
  } catch (cause) {
    // Stopped (every client went away, or a collect failed): the buffer written so far is the next render's.
    writer.abandon();
    throw cause;
  }
  // A body in parts (a text body that outgrew its buffer, a protobuf body) is joined into a buffer with
  // room to spare, given back like a text body: the next body of its size is written there.
  let whole: Buffer | undefined;
  try {
    const body = await join(chunks, slicer, (bytes) => (whole = spare.take(bytes, kMinBodyBytes)));
    if (whole !== undefined) issued.set(body, whole);
    return { body, contentType: writer.contentType };
  } catch (cause) {
    // Stopped while joining: nobody reads the joined buffer.
    if (whole !== undefined) spare.give(whole);
    throw cause;
  }
}

/** Write every family `source.registry` lists into `writer`, a few series per step (see {@link renderSliced}). */
async function writeFamilies(writer: PartWriter, request: RenderRequest, source: SlicedSource, slicer: Slicer): Promise<void> {
  const { registry, hub } = source;
  const scheme = request.negotiated.escaping;
  const defaultLabels = (registry as unknown as { _defaultLabels?: Record<string, unknown> })._defaultLabels;
  const defaults = defaultLabels !== undefined && Object.keys(defaultLabels).length > 0 ? defaultLabels : undefined;
  const access = hub === undefined ? undefined : scrapeAccess(hub);
  // Listed quietly: the hub's registry hook would drain everything at once.
  const list = (): ListedMetric[] => registry.getMetricsAsArray() as unknown as ListedMetric[];
  const metrics = access !== undefined ? access.quietly(list) : list();
  /** The family as the scraper asked its names written, with `values`. */
  const named = (family: FamilySnapshot, values: readonly SampleSnapshot[]): FamilySnapshot => {
    const labelled = withDefaultLabels(values, defaults);
    // Classic names under any scheme but `dots` are written as they are: no copy.
    if (scheme !== "dots" && family.utf8 === undefined) return family.values === labelled ? family : { ...family, values: labelled };
    return nameFamilies([{ ...family, values: labelled }], scheme)[0] as FamilySnapshot;
  };
  const wanted = (family: FamilySnapshot): boolean => request.names === undefined || request.names.length === 0 || filterFamilies([family], request.names).length > 0;
  for (const metric of metrics) {
    const paused = slicer.pause();
    if (paused !== undefined) await paused;
    const pages = access?.pagesOf(metric);
    if (pages === undefined) {
      // prom-client's get(): its synchronous part (a collect callback that drains the hub) runs quietly.
      const got = access !== undefined ? access.quietly(() => metric.get()) : metric.get();
      // The hub's self-metrics answer at once: no await (a turn of the microtask queue) for them.
      let snapshot: FamilySnapshot;
      if (got instanceof Promise) {
        slicer.end();
        snapshot = await got;
        // Usually the same turn (prom-client's get() is async, not slow): the step goes on in the budget it
        // had, or the metrics of a large prom-client registry would render in one turn of any length.
        slicer.begin(slicer.deadline);
      } else {
        snapshot = got;
      }
      if (!wanted(snapshot)) continue;
      const family = named(snapshot, snapshot.values ?? []);
      writer.begin(family);
      writer.part(family, family.values ?? []);
      writer.end(family);
      continue;
    }
    const meta: FamilySnapshot = { name: metric.name, help: metric.help, type: metric.type, ...(metric.utf8 === undefined ? {} : { utf8: metric.utf8 }) };
    if (!wanted(meta)) continue;
    const head = named(meta, []);
    writer.begin(head);
    // A classic histogram's lines straight from the hub's numbers into the body, where names and labels
    // are written as they are: no sample objects, no line text (see histogram-lines.ts).
    const { linesFormat, sink } = writer;
    const appended = metric instanceof BridgeHistogram ? appendedDefaultPairs(defaults, metric.labelNames) : undefined;
    if (linesFormat !== undefined && sink !== undefined && appended !== undefined && scheme !== "dots" && metric.utf8 === undefined && metric instanceof BridgeHistogram) {
      const lines = new HistogramLines(linesFormat, metric.name, metric.bounds, request.createdSamples, "NaN", appended);
      const series = metric.seriesPages();
      for (let page = series(kSeriesPerPage); page !== undefined; page = series(kSeriesPerPage)) {
        if (page.length > 0) lines.write(page, sink);
        const paused = slicer.pause();
        if (paused !== undefined) await paused;
      }
      writer.end(head);
      continue;
    }
    for (let values = pages(kSeriesPerPage); values !== undefined; values = pages(kSeriesPerPage)) {
      const family = named(meta, values as unknown as SampleSnapshot[]);
      writer.part(family, family.values ?? []);
      const paused = slicer.pause();
      if (paused !== undefined) await paused;
    }
    writer.end(head);
  }
}

/** Copy `chunks` into one buffer (from `allocate`, at least as long), a bounded number of bytes per step. */
async function join(chunks: readonly Buffer[], slicer: Slicer, allocate: (bytes: number) => Buffer): Promise<Buffer> {
  // A text body is one buffer already, unless it outgrew the one it started in.
  if (chunks.length === 1) return chunks[0] as Buffer;
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  const body = allocate(total).subarray(0, total);
  let at = 0;
  let sinceYield = 0;
  for (const chunk of chunks) {
    // A large chunk is copied a part at a time too.
    for (let from = 0; from < chunk.length; ) {
      const to = Math.min(chunk.length, from + kCopyBytesPerStep - sinceYield);
      chunk.copy(body, at, from, to);
      at += to - from;
      sinceYield += to - from;
      from = to;
      if (sinceYield >= kCopyBytesPerStep) {
        sinceYield = 0;
        const paused = slicer.pause();
        if (paused !== undefined) await paused;
      }
    }
  }
  return body;
}
