/**
 * `startHttpServer()`: a small, hardened metrics server (HTTP or HTTPS), with the metrics endpoint, a
 * status page and limits that keep slow or greedy clients from holding it.
 * @module
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { hostname } from "node:os";
import { ErrorCodes, OperationError, type PromThreadsError } from "../../shared/api/errors.js";
import { kAuthChallenge, BasicAuth } from "./auth.js";
import { resolveServerOptions, type ResolvedServerOptions, type StartHttpServerOptions } from "./options.js";
import { isReadMethod, methodNotAllowed, requestedNames, requestPath, send } from "./respond.js";
import { plain } from "./scrape.js";
import { ScrapeFlights, clientGone } from "./single-flight.js";
import { statusDocument, statusJson, statusPage } from "./status-page.js";
import { writeFileSdTarget, type FileSdTarget } from "../discovery/file-sd.js";
import { httpSdResponse } from "./http-sd-route.js";
import { targetOf } from "../discovery/targets.js";

/** A running metrics server. */
export interface MetricsServer {
  /** URL of the metrics endpoint, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  /** The port listened on (the one picked when `port: 0`). */
  readonly port: number;
  /**
   * Stop listening, let scrapes in progress finish (connections still open after 2 s are closed), and
   * resolve once the server is closed (and its bcrypt thread, if any, has stopped). Idempotent. Does not
   * close the hub.
   */
  close(): Promise<void>;
}

/** The path of the JSON status route. */
const kStatusPath = "/status";

/** The path of the HTTP service discovery route (with the `httpSd` option). */
const kHttpSdPath = "/http_sd";

/**
 * Serve the registry's metrics over HTTP (or HTTPS with `tls`), draining the hub before each scrape.
 * Resolves once listening; rejects with a ConfigurationError for invalid options and an OperationError
 * (`ERR_PROM_THREADS_LISTEN_FAILED`) when the address cannot be used.
 *
 * Routes: the metrics `path` (default `/metrics`), `/` (an HTML status page), `/status` (JSON) and, with
 * `httpSd`, `/http_sd`; GET and HEAD only (405 otherwise), 404 elsewhere, 401 for every route when `auth`
 * is set and not met (429 with `Retry-After` for a peer past its failure budget, or when too many bcrypt
 * checks are under way). Targets in origin form (`/metrics`) and absolute form (`http://host/metrics`) are
 * accepted. Concurrent scrapes of one format and encoding share one render. With `fileSd`, a file_sd
 * target file lives as long as the server listens.
 *
 * @example
 * import { MetricsHub, startHttpServer } from "prom-threads";
 * const hub = new MetricsHub();
 * const server = await startHttpServer({ hub, port: 9464 });
 * console.log(`scrape ${server.url}`);
 */
export async function startHttpServer(options?: StartHttpServerOptions): Promise<MetricsServer> {
  const config = resolveServerOptions(options);
  const { limits } = config;
  const auth = config.auth === undefined ? undefined : await BasicAuth.create(config.auth, limits);
  const flights = new ScrapeFlights(config.source, limits.maxConcurrentScrapes);
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    route(config, auth, flights, req, res).then(
      (response) => send(req, res, response, limits),
      () => send(req, res, plain(500, "500 Internal Server Error\n"), limits),
    );
  };
  const httpOptions = {
    headersTimeout: limits.headersTimeout,
    requestTimeout: limits.requestTimeout,
    maxHeaderSize: limits.maxHeaderSize,
    connectionsCheckingInterval: limits.connectionsCheckingInterval,
  };
  // Why handshakeTimeout: Node's header timeouts start after the TLS handshake; without it a client that
  // never finishes the handshake holds its connection for tls's default of 120 s.
  const server: Server =
    config.tls === undefined
      ? createHttpServer(httpOptions, listener)
      : createHttpsServer({ handshakeTimeout: limits.headersTimeout, ...config.tls, ...httpOptions }, listener);
  server.maxConnections = limits.maxConnections;
  try {
    await listen(server, config);
  } catch (error) {
    await auth?.close();
    throw error;
  }
  server.on("error", (cause: Error) => {
    config.source.report(new OperationError(ErrorCodes.LISTEN_FAILED, `prom-threads: the metrics server failed: ${cause.message}`, { cause }));
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  let fileSd: FileSdTarget | undefined;
  if (config.fileSd !== undefined) {
    const { directory, labels, target } = config.fileSd;
    try {
      fileSd = await writeFileSdTarget({ directory, target: target ?? targetOf(config.host, port, hostname()), ...(labels === undefined ? {} : { labels }) });
    } catch (error) {
      await new Promise((resolve) => server.close(resolve));
      await auth?.close();
      throw error;
    }
  }
  let closing: Promise<void> | undefined;
  return {
    url: `${config.tls === undefined ? "http" : "https"}://${host}:${port}${config.path}`,
    port,
    close() {
      closing ??= (async () => {
        // Remove the discovery entry first, so Prometheus stops scraping before the port goes away.
        await fileSd?.remove().catch((error: PromThreadsError) => config.source.report(error));
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => server.closeAllConnections(), 2000);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        });
        await auth?.close();
      })();
      return closing;
    },
  };
}

function listen(server: Server, config: ResolvedServerOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (cause: Error): void => {
      reject(new OperationError(ErrorCodes.LISTEN_FAILED, `prom-threads: cannot listen on ${config.host}:${config.port}: ${cause.message}`, { cause }));
    };
    server.once("error", onError);
    // exclusive: in a node:cluster worker, listen on a port of its own instead of sharing the primary's
    // handle, whose connections go round-robin to every worker: a scrape must always reach this process.
    server.listen({ port: config.port, host: config.host, exclusive: true }, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

async function route(config: ResolvedServerOptions, auth: BasicAuth | undefined, flights: ScrapeFlights, req: IncomingMessage, res: ServerResponse) {
  if (auth !== undefined) {
    const outcome = await auth.check(req.headers.authorization, req.socket.remoteAddress);
    if (outcome.result === "limited") {
      return plain(429, "429 Too Many Requests: too many failed or pending authentications\n", { "Retry-After": String(outcome.retryAfter) });
    }
    if (outcome.result === "denied") return plain(401, "401 Unauthorized\n", { "WWW-Authenticate": kAuthChallenge });
  }
  const path = requestPath(req.url);
  const known = path === config.path || path === "/" || path === kStatusPath || (path === kHttpSdPath && config.httpSd !== undefined);
  if (!known) return plain(404, "404 Not Found\n");
  if (!isReadMethod(req.method)) return methodNotAllowed();
  if (path === kHttpSdPath && path !== config.path && config.httpSd !== undefined) return httpSdResponse(config.httpSd);
  if (path === config.path) {
    // A client that goes away stops the render (when no other client waits for it).
    const response = flights.tryRun({ accept: req.headers.accept, acceptEncoding: req.headers["accept-encoding"], names: requestedNames(req.url) }, clientGone(res));
    return response ?? plain(503, "503 Service Unavailable: too many different scrapes at once\n", { "Retry-After": "1" });
  }
  const document = statusDocument(config.source.hub, config.path);
  return path === "/" ? statusPage(document) : statusJson(document);
}
