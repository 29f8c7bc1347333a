/**
 * `statusPage()`: the status page of `startHttpServer` as a request handler for users' own servers.
 * @module
 */
import type { MetricsHub } from "../hub.js";
import { ConfigurationError, ErrorCodes } from "../../shared/api/errors.js";
import type { MetricsRequestHandler } from "./handler.js";
import { isReadMethod, methodNotAllowed, send } from "./respond.js";
import { statusDocument, statusJson, statusPage as renderPage } from "./status-page.js";

/** Options of {@link statusPage}. */
export interface StatusPageOptions {
  /** The hub whose state the page shows. */
  hub: MetricsHub;
  /**
   * Where the page's "Metrics" link points (a path or URL).
   * @default "/metrics"
   */
  metricsPath?: string;
}

/**
 * Create a handler that serves the live status page (HTML, charts redrawn every 2 s) and, for requests
 * whose query has `format=json`, the status document the page polls. Reading the state drains nothing
 * and renders no registry, so the page costs the hub less than a scrape. GET and HEAD only (405
 * otherwise). Put it behind the same authentication as your metrics route. Throws a ConfigurationError
 * for invalid options.
 *
 * @example
 * import express from "express";
 * import { MetricsHub, metricsHandler, statusPage } from "prom-threads";
 * const hub = new MetricsHub();
 * const app = express();
 * app.all("/metrics", metricsHandler({ hub }));
 * app.all("/status", statusPage({ hub }));
 */
export function statusPage(options: StatusPageOptions): MetricsRequestHandler {
  if (options === null || typeof options !== "object") throw new ConfigurationError(ErrorCodes.INVALID_OPTION, "options must be an object with a hub");
  const { hub, metricsPath = "/metrics" } = options;
  if (hub === null || typeof hub !== "object" || typeof (hub as Partial<MetricsHub>).stats !== "function") {
    throw new ConfigurationError(ErrorCodes.INVALID_OPTION, "options.hub must be a MetricsHub");
  }
  if (typeof metricsPath !== "string" || metricsPath === "") throw new ConfigurationError(ErrorCodes.INVALID_OPTION, "options.metricsPath must be a non-empty string");
  return (req, res) => {
    if (!isReadMethod(req.method)) {
      send(req, res, methodNotAllowed());
      return;
    }
    const query = new URLSearchParams((req.url ?? "").split("?")[1] ?? "");
    const document = statusDocument(hub, metricsPath);
    send(req, res, query.get("format") === "json" ? statusJson(document) : renderPage(document, { statusUrl: "?format=json", metricsUrl: metricsPath }));
  };
}
