/**
 * Options of the serving APIs, their defaults and their validation.
 * @module
 */
import type { TlsOptions } from "node:tls";
import type { Registry } from "prom-client";
import { client } from "../client.js";
import type { PromThreadsError } from "../../shared/api/errors.js";
import { MetricsHub } from "../hub.js";
import { resolveAuth, type BasicAuthOptions, type ResolvedAuth } from "./auth.js";
import { resolveLimits, type ResolvedLimits, type ServerLimits } from "./limits.js";
import { createReporter } from "./report.js";
import { integerOption, invalid, optionsObject } from "../validate-options.js";
import type { ScrapeSource } from "./scrape.js";
import { resolveTls } from "./tls.js";
import { TargetDirectory } from "../discovery/http-sd.js";
import { validateLabels, validateTarget } from "../discovery/targets.js";

/** Options of {@link metricsHandler} and of the fastify plugin: what to serve. */
export interface MetricsHandlerOptions {
  /**
   * The prom-client registry to serve.
   * @default `hub.registry` when `hub` is given, else prom-client's default `register`
   */
  registry?: Registry;
  /** A MetricsHub to drain before each scrape, and whose `error` event receives failed collects. */
  hub?: MetricsHub;
  /**
   * Called with an OperationError (`ERR_PROM_THREADS_COLLECT_FAILED`) when a scrape's collect throws or
   * rejects. When neither this nor a hub `error` listener is there, a process warning is emitted once per
   * distinct message.
   */
  onError?: (error: PromThreadsError) => void;
  /**
   * Write a `_created` sample after each counter, histogram and summary series in OpenMetrics responses:
   * when the hub first saw the series (or its last reset). Off by default because Prometheus 2 stores
   * these samples as series of their own; the protobuf format always carries the created time.
   * @default false
   */
  openMetricsCreatedSamples?: boolean;
}

/** Options of {@link startHttpServer}. */
export interface StartHttpServerOptions extends MetricsHandlerOptions, ServerLimits {
  /**
   * TCP port; `0` picks a free one (read it from the result).
   * @default 9464
   */
  port?: number;
  /**
   * Address to listen on. Use `"0.0.0.0"` (or `"::"`) in a container so Prometheus can reach it.
   * @default "127.0.0.1"
   */
  host?: string;
  /**
   * Path of the metrics endpoint (a query string is ignored when matching).
   * @default "/metrics"
   */
  path?: string;
  /**
   * Serve HTTPS with these `tls.createServer` options (`key` and `cert`, or `pfx`). TLS below 1.2 is
   * refused: `minVersion` defaults to `"TLSv1.2"` and a lower `minVersion` or `maxVersion` is an error.
   */
  tls?: TlsOptions;
  /** Require HTTP basic auth; `password` may be a bcrypt hash (needs the `bcryptjs` package). */
  auth?: BasicAuthOptions;
  /**
   * Keep a Prometheus `file_sd` target file for this server in `fileSd.directory` while it listens
   * (written atomically once listening, removed on `close()`). See docs/scaling.md.
   */
  fileSd?: FileSdServerOptions;
  /** Serve this directory's targets as Prometheus HTTP service discovery JSON at `/http_sd`. */
  httpSd?: TargetDirectory;
}

/** The `fileSd` option of {@link StartHttpServerOptions}. */
export interface FileSdServerOptions {
  /** The directory Prometheus globs: `file_sd_configs: [{ files: ["<directory>/*.json"] }]`. */
  directory: string;
  /** Labels of the target. */
  labels?: Record<string, string>;
  /**
   * The target as Prometheus should scrape it.
   * @default `host:port` of the server; the machine's host name when listening on every interface
   */
  target?: string;
}

/** {@link StartHttpServerOptions} with every default applied. */
export interface ResolvedServerOptions {
  source: ScrapeSource;
  port: number;
  host: string;
  path: string;
  tls: TlsOptions | undefined;
  auth: ResolvedAuth | undefined;
  limits: ResolvedLimits;
  fileSd: FileSdServerOptions | undefined;
  httpSd: TargetDirectory | undefined;
}

/** Validate `registry`, `hub` and `onError` and build the scrape source. Throws a ConfigurationError. */
export function resolveSource(options: MetricsHandlerOptions | undefined): ScrapeSource {
  const raw = optionsObject(options);
  const hub = raw.hub;
  if (hub !== undefined && !(hub instanceof MetricsHub)) invalid("hub", "a MetricsHub");
  const registry = raw.registry ?? (hub as MetricsHub | undefined)?.registry ?? client.register;
  if (registry === null || typeof registry !== "object" || typeof (registry as Registry).getMetricsAsJSON !== "function") {
    invalid("registry", "a prom-client Registry");
  }
  const onError = raw.onError;
  if (onError !== undefined && typeof onError !== "function") invalid("onError", "a function");
  const createdSamples = raw.openMetricsCreatedSamples ?? false;
  if (typeof createdSamples !== "boolean") invalid("openMetricsCreatedSamples", "true or false", createdSamples);
  return {
    createdSamples,
    registry: registry as Registry,
    hub: hub as MetricsHub | undefined,
    report: createReporter(hub as MetricsHub | undefined, onError as MetricsHandlerOptions["onError"]),
  };
}

/** Validate a path option: absolute, without query, fragment or whitespace. */
export function resolvePath(raw: Record<string, unknown>, fallback: string): string {
  const path = raw.path ?? fallback;
  if (typeof path !== "string" || !/^\/[^\s?#]*$/.test(path)) {
    invalid("path", 'a path that starts with "/" and has no spaces, "?" or "#"', path);
  }
  return path;
}

/** Validate every option of startHttpServer. Throws a ConfigurationError naming the option. */
export function resolveServerOptions(options: StartHttpServerOptions | undefined): ResolvedServerOptions {
  const raw = optionsObject(options);
  const host = raw.host ?? "127.0.0.1";
  if (typeof host !== "string" || host.trim() === "" || /\s/.test(host)) invalid("host", "a host name or IP address", host);
  return {
    source: resolveSource(options),
    port: integerOption(raw, "port", 9464, 0, 65535),
    host,
    path: resolvePath(raw, "/metrics"),
    tls: raw.tls === undefined ? undefined : resolveTls(raw.tls),
    auth: raw.auth === undefined ? undefined : resolveAuth(raw.auth),
    limits: resolveLimits(raw),
    fileSd: resolveFileSd(raw.fileSd),
    httpSd: resolveHttpSd(raw.httpSd),
  };
}

function resolveFileSd(fileSd: unknown): FileSdServerOptions | undefined {
  if (fileSd === undefined) return undefined;
  if (fileSd === null || typeof fileSd !== "object") invalid("fileSd", "an object with a directory");
  const { directory, labels, target } = fileSd as Record<string, unknown>;
  if (typeof directory !== "string" || directory === "") invalid("fileSd.directory", "a directory path", directory);
  return {
    directory,
    ...(labels === undefined ? {} : { labels: validateLabels("fileSd.labels", labels) }),
    ...(target === undefined ? {} : { target: validateTarget("fileSd.target", target) }),
  };
}

function resolveHttpSd(httpSd: unknown): TargetDirectory | undefined {
  if (httpSd !== undefined && !(httpSd instanceof TargetDirectory)) invalid("httpSd", "a TargetDirectory");
  return httpSd;
}
