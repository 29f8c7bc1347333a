/**
 * The server's protective limits: their defaults, validation, and the concurrent-scrape gate.
 * @module
 */
import { integerOption, invalid } from "./validate.js";

/** Limits of {@link startHttpServer}; each one has a safe default. */
export interface ServerLimits {
  /**
   * Scrapes rendered at once; past it a scrape gets `503` with `Retry-After: 1`.
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
}

/** {@link ServerLimits} with defaults applied, plus the derived timeout check interval. */
export interface ResolvedLimits {
  maxConcurrentScrapes: number;
  headersTimeout: number;
  requestTimeout: number;
  maxHeaderSize: number;
  maxConnections: number;
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
    // Why derived: with Node's 30 s default a 1 s headersTimeout would fire up to 30 s late.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
  };
}

/** Counts scrapes in progress and refuses one past the limit. */
export class ScrapeGate {
  readonly #limit: number;
  #active = 0;

  /** Allow `limit` scrapes at once. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Enter if there is room; pair a `true` result with {@link leave}. */
  tryEnter(): boolean {
    if (this.#active >= this.#limit) return false;
    this.#active++;
    return true;
  }

  /** Leave after a scrape that entered. */
  leave(): void {
    this.#active--;
  }
}
