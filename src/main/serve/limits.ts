/**
 * The server's protective limits: their defaults and validation.
 * @module
 */
import { kDefaultAuthLimits } from "./auth.js";
import { integerOption, invalid } from "../validate-options.js";

/** Limits of {@link startHttpServer}; each one has a safe default. */
export interface ServerLimits {
  /**
   * Distinct renders at once. Concurrent scrapes that ask for the same format and encoding share one
   * render, so this bounds the kinds of scrapes in progress; past it a scrape gets `503` with
   * `Retry-After: 1`.
   * @default 4
   */
  maxConcurrentScrapes?: number;
  /**
   * Milliseconds a client has to send the complete request headers, from connecting (Node's
   * `server.headersTimeout`); a slower client gets `408` and is disconnected. With TLS it is also the
   * handshake timeout, unless `tls.handshakeTimeout` is given.
   * @default 10000
   */
  headersTimeout?: number;
  /**
   * Milliseconds a client has to send the complete request, body included (Node's
   * `server.requestTimeout`). At least `headersTimeout`.
   * @default 30000
   */
  requestTimeout?: number;
  /**
   * Bytes of request line and headers accepted; larger requests get `431`.
   * @default 8192
   */
  maxHeaderSize?: number;
  /**
   * Open connections at once (`server.maxConnections`); connections past it are closed at once.
   * @default 64
   */
  maxConnections?: number;
  /**
   * Milliseconds a response may take to reach the client, from its first byte to its last handed to the
   * operating system; a client that reads slower (or not at all) is disconnected. Raise it above
   * Prometheus' `scrape_timeout` when that is longer.
   * @default 10000
   */
  writeTimeout?: number;
  /**
   * Bytes of earlier responses a connection may leave unread when it asks again (pipelining without
   * reading); past it the connection is closed instead of queueing another response.
   * @default 1048576
   */
  maxBufferedBytes?: number;
  /**
   * bcrypt checks waiting or running at once (they run on one worker thread). Past it, a request whose
   * credentials are not already verified gets `429` with `Retry-After: 1`, without a check.
   * @default 4
   */
  maxConcurrentAuthChecks?: number;
  /**
   * Failed authentications one peer (remote address) may make at once; then it gets `429` with
   * `Retry-After` until it earns another attempt (see `authFailuresPerSecond`). Credentials already
   * verified always pass.
   * @default 64
   */
  authFailureBurst?: number;
  /**
   * Attempts a peer earns back per second after failed authentications, up to `authFailureBurst`.
   * @default 1
   */
  authFailuresPerSecond?: number;
}

/** {@link ServerLimits} with defaults applied, plus the derived timeout check interval. */
export interface ResolvedLimits {
  maxConcurrentScrapes: number;
  headersTimeout: number;
  requestTimeout: number;
  maxHeaderSize: number;
  maxConnections: number;
  writeTimeout: number;
  maxBufferedBytes: number;
  maxConcurrentAuthChecks: number;
  authFailureBurst: number;
  authFailuresPerSecond: number;
  /** How often Node checks the two timeouts (it checks on an interval, 30 s by default). */
  connectionsCheckingInterval: number;
}

/** Validate the limits in `raw`. Throws a ConfigurationError naming the option. */
export function resolveLimits(raw: Record<string, unknown>): ResolvedLimits {
  const headersTimeout = integerOption(raw, "headersTimeout", 10_000, 100, 600_000);
  const requestTimeout = integerOption(raw, "requestTimeout", 30_000, 100, 3_600_000);
  if (headersTimeout > requestTimeout) {
    invalid("headersTimeout", `at most options.requestTimeout (${requestTimeout})`, headersTimeout);
  }
  return {
    maxConcurrentScrapes: integerOption(raw, "maxConcurrentScrapes", 4, 1, 1000),
    headersTimeout,
    requestTimeout,
    maxHeaderSize: integerOption(raw, "maxHeaderSize", 8192, 1024, 1_048_576),
    maxConnections: integerOption(raw, "maxConnections", 64, 1, 1_000_000),
    writeTimeout: integerOption(raw, "writeTimeout", 10_000, 100, 3_600_000),
    maxBufferedBytes: integerOption(raw, "maxBufferedBytes", 1_048_576, 0, 1_073_741_824),
    maxConcurrentAuthChecks: integerOption(raw, "maxConcurrentAuthChecks", kDefaultAuthLimits.maxConcurrentAuthChecks, 1, 1000),
    authFailureBurst: integerOption(raw, "authFailureBurst", kDefaultAuthLimits.authFailureBurst, 1, 1_000_000),
    authFailuresPerSecond: integerOption(raw, "authFailuresPerSecond", kDefaultAuthLimits.authFailuresPerSecond, 1, 1_000_000),
    // Why derived: with Node's 30 s default a 1 s headersTimeout would fire up to 30 s late.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
  };
}
