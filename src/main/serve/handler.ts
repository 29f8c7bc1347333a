/**
 * `metricsHandler()`: a request handler for `node:http` servers and express apps.
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { resolveSource, type MetricsHandlerOptions } from "./options.js";
import { isReadMethod, methodNotAllowed, requestedNames, send } from "./respond.js";
import { plain } from "./scrape.js";
import { ScrapeFlights } from "./single-flight.js";

/** A `(req, res)` handler, usable with `http.createServer()` and express (`app.all(path, handler)`). */
export type MetricsRequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Create a handler that answers every request it gets with the registry's metrics (after draining the
 * hub), negotiating OpenMetrics or the text format and gzip; HEAD gets headers only, other methods 405.
 * Throws a ConfigurationError for invalid options.
 *
 * @example
 * import express from "express";
 * import { MetricsHub, metricsHandler } from "prom-threads";
 * const hub = new MetricsHub();
 * const app = express();
 * app.all("/metrics", metricsHandler({ hub }));
 */
export function metricsHandler(options?: MetricsHandlerOptions): MetricsRequestHandler {
  // Concurrent scrapes of one format and encoding share one render.
  const flights = new ScrapeFlights(resolveSource(options));
  return (req, res) => {
    if (!isReadMethod(req.method)) {
      send(req, res, methodNotAllowed());
      return;
    }
    flights.run({ accept: req.headers.accept, acceptEncoding: req.headers["accept-encoding"], names: requestedNames(req.url) }).then(
      (response) => send(req, res, response),
      // scrape() does not reject; this is for a failure while writing, so the client still gets an answer.
      () => send(req, res, plain(500, "500 Internal Server Error\n")),
    );
  };
}
