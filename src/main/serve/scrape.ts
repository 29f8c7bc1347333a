/**
 * One scrape, independent of the HTTP library: drain the hub, read the registry once, render the
 * negotiated format, gzip when allowed. Every way of serving (server, handler, fastify plugin) uses it.
 * @module
 */
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import type { Registry } from "prom-client";
import { ErrorCodes, OperationError } from "../../shared/api/errors.js";
import type { MetricsHub } from "../hub.js";
import { acceptsGzip, negotiateFormat, type ExpositionFormat } from "./negotiation.js";
import { OPENMETRICS_CONTENT_TYPE, renderOpenMetrics } from "./openmetrics.js";
import { PROTOBUF_CONTENT_TYPE, renderProtobuf } from "./protobuf/render.js";
import type { Reporter } from "./report.js";
import type { FamilySnapshot } from "./snapshot.js";
import { TEXT_CONTENT_TYPE, renderText } from "./text-format.js";

const gzipAsync = promisify(gzip);

/** What a scrape reads from, and where it reports a failed collect. */
export interface ScrapeSource {
  readonly registry: Registry;
  readonly hub: MetricsHub | undefined;
  readonly report: Reporter;
}

/** The parts of a request a scrape depends on. */
export interface ScrapeRequest {
  readonly accept: string | undefined;
  readonly acceptEncoding: string | undefined;
}

/** A complete response: status, headers and body bytes (also sized for HEAD). */
export interface ScrapeResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Render the registry for one request. Never rejects: a failed collect becomes a reported 500. */
export async function scrape(source: ScrapeSource, request: ScrapeRequest): Promise<ScrapeResponse> {
  const format = negotiateFormat(request.accept);
  let families: FamilySnapshot[];
  try {
    // The hub's registry drains on every listing; this also covers a registry the hub does not own.
    // drainSync() rather than collect(): it does nothing once the hub is closed, instead of throwing.
    source.hub?.drainSync();
    families = (await source.registry.getMetricsAsJSON()) as unknown as FamilySnapshot[];
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    source.report(new OperationError(ErrorCodes.COLLECT_FAILED, `prom-threads: collecting metrics for a scrape failed: ${detail}`, { cause }));
    return plain(500, "500 Internal Server Error: collecting metrics failed\n");
  }
  const rendered = render(format, families);
  const headers: Record<string, string> = {
    "Content-Type": rendered.contentType,
    "Cache-Control": "no-store",
    Vary: "Accept, Accept-Encoding",
  };
  let body = rendered.body;
  if (acceptsGzip(request.acceptEncoding)) {
    body = await gzipAsync(body);
    headers["Content-Encoding"] = "gzip";
  }
  headers["Content-Length"] = String(body.length);
  return { status: 200, headers, body };
}

function render(format: ExpositionFormat, families: FamilySnapshot[]): { body: Buffer; contentType: string } {
  if (format === "openmetrics") return { body: Buffer.from(renderOpenMetrics(families), "utf8"), contentType: OPENMETRICS_CONTENT_TYPE };
  if (format === "protobuf") {
    const bytes = renderProtobuf(families);
    return { body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), contentType: PROTOBUF_CONTENT_TYPE };
  }
  return { body: Buffer.from(renderText(families), "utf8"), contentType: TEXT_CONTENT_TYPE };
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
