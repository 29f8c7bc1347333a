/**
 * `prom-threads/fastify`: a fastify plugin that serves the metrics route. fastify is an optional peer
 * dependency; the main `prom-threads` entry never loads this file.
 * @module
 */
import type { FastifyPluginAsync } from "fastify";
import { resolvePath, resolveSource, type MetricsHandlerOptions } from "../main/serve/options.js";
import { holdWhileWriting, kAllowedMethods, requestedNames } from "../main/serve/respond.js";
import { ScrapeFlights } from "../main/serve/single-flight.js";

/** Options of the fastify plugin. */
export interface PromThreadsFastifyOptions extends MetricsHandlerOptions {
  /**
   * Path of the metrics route (under the plugin's prefix, if registered with one).
   * @default "/metrics"
   */
  path?: string;
}

/**
 * Register a metrics route on a fastify instance: GET (and fastify's automatic HEAD) with the same
 * negotiation, gzip and drain-first behaviour as `metricsHandler`; other methods get 405.
 *
 * @example
 * import Fastify from "fastify";
 * import promThreads from "prom-threads/fastify";
 * const app = Fastify();
 * await app.register(promThreads, { hub });
 */
export const promThreads: FastifyPluginAsync<PromThreadsFastifyOptions> = async (fastify, options) => {
  // Concurrent scrapes of one format and encoding share one render.
  const flights = new ScrapeFlights(resolveSource({ registry: options.registry, hub: options.hub, onError: options.onError, openMetricsCreatedSamples: options.openMetricsCreatedSamples }));
  const path = resolvePath(options as Record<string, unknown>, "/metrics");
  fastify.route({
    method: "GET",
    url: path,
    handler: async (request, reply) => {
        const response = await flights.run({ accept: request.headers.accept, acceptEncoding: request.headers["accept-encoding"], names: requestedNames(request.url) });
      void reply.code(response.status).headers(response.headers);
      // The body's buffer goes back for a later scrape once fastify has written it (not for HEAD, which
      // writes no body).
      if (response.lease !== undefined && request.method !== "HEAD") holdWhileWriting(reply.raw, response.lease);
      return reply.send(response.body);
    },
  });
  fastify.route({
    method: ["DELETE", "OPTIONS", "PATCH", "POST", "PUT"],
    url: path,
    handler: async (_request, reply) => {
      void reply.code(405).header("Allow", kAllowedMethods).type("text/plain; charset=utf-8");
      return reply.send("405 Method Not Allowed\n");
    },
  });
};

// Why: fastify names plugins by this symbol in its logs and errors.
(promThreads as unknown as Record<symbol, string>)[Symbol.for("fastify.display-name")] = "prom-threads";

export default promThreads;
