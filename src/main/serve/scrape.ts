/**
 * One scrape, independent of the HTTP library: drain the hub, read the registry once, keep the families
 * asked for (`name[]`), write names as the scraper asked (`escaping=`), render the negotiated format, gzip
 * when allowed, all in steps that let the event loop run between them. Every way of serving (server,
 * handler, fastify plugin) uses it.
 * @module
 */
import { createGzip, gzipSync } from "node:zlib";
import type { Registry } from "prom-client";
import { ErrorCodes, OperationError } from "../../shared/api/errors.js";
import type { MetricsHub } from "../hub.js";
import { scrapeAccess } from "../hub/internal.js";
import { prepareServing } from "../registry-hook.js";
import { endStep, startStep, stepTiming } from "../hub/step-timing.js";
import { acceptsGzip, negotiate } from "./negotiation.js";
import type { Reporter } from "./report.js";
import { BodyLease, SpareBuffer } from "./body-lease.js";
import { GrowingSink } from "./histogram-lines.js";
import { ScrapeAborted, Slicer, releaseBody, renderSliced } from "./sliced-render.js";

/**
 * zlib's fastest level: about 8 times less CPU than the default level 6 for an exposition, for a body
 * about 20% larger (measured on 2 MB of histogram lines: 7 ms against 60 ms). The compression runs in
 * libuv's thread pool, but on a busy machine its CPU is taken from the workers and the main thread.
 */
const kGzipLevel = 1;

/**
 * Bodies up to this many bytes are compressed on the main thread, in one step of their own: at level 1 that
 * takes well under a slice (25–70 µs for 8–64 KB of text on the 2-core development machine), less than
 * handing the body to libuv's thread pool and back (a median of about 150 µs there, and milliseconds when
 * the pool's threads wait for a core). Larger bodies go to the thread pool.
 */
const kInlineGzipBytes = 64 * 1024;

/**
 * Longest a step of a scrape holds the main thread, in milliseconds (plus the one piece of work that
 * crossed it: a page of worker series, one prom-client metric's `get()`). Steps in one turn of the event
 * loop share it (the drain's last step and the render's first), and the turn also parses the request or
 * writes the response: half a millisecond keeps such a turn near one (docs/design.md).
 */
const kScrapeSliceMs = 0.5;

/** What a scrape answers when every client that waited for it went away; nobody reads it. */
const kAbortedText = "503 Service Unavailable: every client of this scrape went away\n";

/** What a scrape reads from, and where it reports a failed collect. */
export interface ScrapeSource {
  readonly registry: Registry;
  readonly hub: MetricsHub | undefined;
  readonly report: Reporter;
  /** Write OpenMetrics `_created` samples (see `openMetricsCreatedSamples`). */
  readonly createdSamples?: boolean;
}

/** The parts of a request a scrape depends on. */
export interface ScrapeRequest {
  readonly accept: string | undefined;
  readonly acceptEncoding: string | undefined;
  /** The `name[]` query parameters: render only these families. */
  readonly names?: readonly string[] | undefined;
}

/** A complete response: status, headers and body bytes (also sized for HEAD). */
export interface ScrapeResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /**
   * Set when the body's buffer goes back for a later scrape once its writes are done: whoever writes the
   * body must hold the lease while writing, or pin it (respond.ts, `holdWhileWriting`).
   */
  readonly lease?: BodyLease;
}

/**
 * Render the registry for one request. Never rejects: a failed collect (or compression) becomes a reported 500.
 *
 * The work is done in steps of about {@link kScrapeSliceMs} that yield to the event loop: first the
 * hub's drain of everything published before the scrape began, then the render, a few worker series at
 * a time, then copying the body together; gzip runs in one step of its own for a body up to 64 KiB, in
 * libuv's thread pool for a larger one. When `signal` aborts (every client went away), the work stops at
 * the next step.
 */
export async function scrape(source: ScrapeSource, request: ScrapeRequest, signal?: { readonly aborted: boolean }): Promise<ScrapeResponse> {
  const negotiated = negotiate(request.accept);
  const gzipped = acceptsGzip(request.acceptEncoding);
  /** Whether the body is compressed on the main thread (see {@link kInlineGzipBytes}). */
  let inline = false;
  const slicer = new Slicer(kScrapeSliceMs, signal);
  let ended: (() => void) | undefined;
  let rendered: { body: Buffer; contentType: string };
  try {
    // A cluster aggregator's registry: the processes are asked for a fresh push (and the primary's own
    // registries read) before the render, as a registry.metrics() call does.
    const prepared = prepareServing(source.registry);
    if (prepared !== undefined) await prepared;
    slicer.check();
    const access = source.hub === undefined ? undefined : scrapeAccess(source.hub);
    // The background drain steps aside until the body is rendered: this scrape drains what it must read.
    ended = access?.scraping();
    // Everything published before this point is applied before the render reads it. Against a closed hub
    // this does nothing, instead of throwing; a registry the hub does not own is read the same way.
    // The render goes on in the drain's last step: the turn that drained ends by that step's deadline.
    slicer.begin(access !== undefined ? await access.drainPublished(signal, slicer.deadline) : slicer.deadline);
    slicer.check();
    rendered = await renderSliced({ negotiated, names: request.names, createdSamples: source.createdSamples === true }, source, slicer);
    slicer.end();
    // A body compressed here is compressed in a turn of its own when the render's last step has run its
    // time: compression and the write that follows it never add to a full slice.
    inline = gzipped && rendered.body.length <= kInlineGzipBytes;
    if (inline && performance.now() >= slicer.deadline) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (signal?.aborted === true) {
        // Nobody reads it: its buffer is the next render's.
        releaseBody(rendered.body);
        throw new ScrapeAborted();
      }
    }
  } catch (cause) {
    ended?.();
    if (cause instanceof ScrapeAborted) return plain(503, kAbortedText);
    const detail = cause instanceof Error ? cause.message : String(cause);
    source.report(new OperationError(ErrorCodes.COLLECT_FAILED, `prom-threads: collecting metrics for a scrape failed: ${detail}`, { cause }));
    return plain(500, "500 Internal Server Error: collecting metrics failed\n");
  }
  const headers: Record<string, string> = {
    "Content-Type": rendered.contentType,
    "Cache-Control": "no-store",
    Vary: "Accept, Accept-Encoding",
  };
  // Compression of a large body runs in libuv's thread pool: the background drain may have the main thread
  // meanwhile.
  ended?.();
  let body = rendered.body;
  let lease: BodyLease | undefined;
  if (gzipped) {
    const timed = stepTiming.enabled ? startStep() : undefined;
    try {
      if (inline) {
        body = gzipSync(body, { level: kGzipLevel });
        if (timed !== undefined) endStep("compress", timed);
      } else {
        const compressed = gzipLarge(body);
        if (timed !== undefined) endStep("compress", timed);
        const { part, whole } = await compressed;
        body = part;
        lease = new BodyLease(() => compressedSpare.give(whole));
      }
    } catch (cause) {
      // zlib failed (out of memory): reported as a failed collect is, and the server keeps serving.
      releaseBody(rendered.body);
      const detail = cause instanceof Error ? cause.message : String(cause);
      source.report(new OperationError(ErrorCodes.COLLECT_FAILED, `prom-threads: compressing a scrape's body failed: ${detail}`, { cause }));
      return plain(500, "500 Internal Server Error: compressing metrics failed\n");
    }
    // zlib is done with the rendered body and only the compressed one is sent: the next render may reuse it.
    releaseBody(rendered.body);
    headers["Content-Encoding"] = "gzip";
  } else {
    lease = new BodyLease(() => releaseBody(rendered.body));
  }
  headers["Content-Length"] = String(body.length);
  return lease === undefined ? { status: 200, headers, body } : { status: 200, headers, body, lease };
}

/**
 * Bytes of compressed output per part of a large body: zlib hands each part back to the main thread, so
 * larger parts make fewer turns of the thread pool (16 KiB, zlib's default, made about 300 for a 4.8 MB
 * body).
 */
const kGzipPartBytes = 64 * 1024;

/** The buffer of the last large compressed body whose writes are done (see body-lease.ts). */
const compressedSpare = new SpareBuffer();

/** The size of the last large compressed body. */
let compressedHint = 0;

/**
 * Compress `body` in libuv's thread pool, into a buffer that a body written before may have given back.
 * Each part zlib hands back is copied there at once, so no part outlives the next scavenge; zlib's
 * one-call API would keep them all and join them in one go at the end (1–3.6 ms on the main thread for
 * a 4.8 MB body at 100,000 series). Resolves to the compressed bytes and the whole buffer they are in.
 */
function gzipLarge(body: Buffer): Promise<{ part: Buffer; whole: Buffer }> {
  return new Promise((resolve, reject) => {
    // Outgrown (the first large body, or one much larger than the last), it moves to one twice as large.
    const out = new GrowingSink(compressedSpare.take(compressedHint, kGzipPartBytes));
    const gzip = createGzip({ level: kGzipLevel, chunkSize: kGzipPartBytes });
    gzip.on("data", (part: Buffer) => {
      out.written += part.copy(out.room(part.length), out.written);
    });
    gzip.once("end", () => {
      compressedHint = out.written;
      resolve({ part: out.buffer.subarray(0, out.written), whole: out.buffer });
    });
    gzip.once("error", (cause) => {
      // Nobody reads what was written: the buffer is the next large body's.
      compressedSpare.give(out.buffer);
      reject(cause);
    });
    gzip.end(body);
  });
}

/** A short plain-text response. */
export function plain(status: number, text: string, extra?: Record<string, string>): ScrapeResponse {
  const body = Buffer.from(text, "utf8");
  return {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", "Content-Length": String(body.length), "Cache-Control": "no-store", ...extra },
    body,
  };
}
