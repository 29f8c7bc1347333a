/**
 * Writing a prepared response to a `node:http` ServerResponse, and the method check every route shares.
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { plain, type ScrapeResponse } from "./scrape.js";

/** The methods every route answers. */
export const ALLOWED_METHODS = "GET, HEAD";

/** Whether a request's method is one the routes answer (GET or HEAD). */
export function isReadMethod(method: string | undefined): boolean {
  return method === "GET" || method === "HEAD";
}

/** The `405 Method Not Allowed` response, with its `Allow` header. */
export function methodNotAllowed(): ScrapeResponse {
  return plain(405, "405 Method Not Allowed\n", { Allow: ALLOWED_METHODS });
}

/** Write `response`; a HEAD request gets the same headers and no body. */
export function send(req: IncomingMessage, res: ServerResponse, response: ScrapeResponse): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(response.status, response.headers);
  res.end(req.method === "HEAD" ? undefined : response.body);
}
