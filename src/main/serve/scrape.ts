/**
 * One scrape, independent of the HTTP library: drain the hub, read the registry once, keep the families
 * asked for (`name[]`), write names as the scraper asked (`escaping=`), render the negotiated format, gzip
 * when allowed. Every way of serving (server, handler, fastify plugin) uses it.
 * @module
 */
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import type { Registry } from "prom-client";
import { ErrorCodes, OperationError } from "../../shared/api/errors.js";
import type { MetricsHub } from "../hub.js";
import { acceptsGzip, negotiate, type Negotiated } from "./negotiation.js";
import { OPENMETRICS_CONTENT_TYPE, renderOpenMetrics } from "./openmetrics.js";
import { PROTOBUF_CONTENT_TYPE, renderProtobuf } from "./protobuf/render.js";
import type { Reporter } from "./report.js";
import { filterFamilies, nameFamilies, type FamilySnapshot } from "./snapshot.js";
import { kText1ContentType, TEXT_CONTENT_TYPE, renderText } from "./text-format.js";

const gzipAsync = promisify(gzip);

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
}

/** Render the registry for one request. Never rejects: a failed collect becomes a reported 500. */
export async function scrape(source: ScrapeSource, request: ScrapeRequest): Promise<ScrapeResponse> {
  const negotiated = negotiate(request.accept);
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
  const named = nameFamilies(filterFamilies(families, request.names), negotiated.escaping);
  const rendered = render(negotiated, named, source.createdSamples === true);
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

function render(negotiated: Negotiated, families: readonly FamilySnapshot[], createdSamples: boolean): { body: Buffer; contentType: string } {
  // The Content-Type names the scheme used whenever the scraper named one, and always for text 1.0.0;
  // a scraper that never heard of escaping gets the Content-Type it always got.
  const escaping = negotiated.escapingNamed ? `; escaping=${negotiated.escaping}` : "";
  if (negotiated.format === "openmetrics") {
    return { body: Buffer.from(renderOpenMetrics(families, { createdSamples }), "utf8"), contentType: OPENMETRICS_CONTENT_TYPE + escaping };
  }
  if (negotiated.format === "protobuf") {
    const bytes = renderProtobuf(families);
    return { body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), contentType: PROTOBUF_CONTENT_TYPE + escaping };
  }
  if (negotiated.version === "1.0.0") {
    return { body: Buffer.from(renderText(families), "utf8"), contentType: `${kText1ContentType}; escaping=${negotiated.escaping}` };
  }
  return { body: Buffer.from(renderText(families), "utf8"), contentType: TEXT_CONTENT_TYPE + escaping };
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
