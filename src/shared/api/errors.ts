/**
 * Error classes. Every error prom-threads throws or emits carries a stable `code`; the README lists them all.
 * @module
 */

/** Every error code prom-threads uses. Codes are stable: match on them, not on messages. */
export const ErrorCodes = {
  /** An option passed to a constructor or function is invalid. */
  INVALID_OPTION: "ERR_PROM_THREADS_INVALID_OPTION",
  /** A metric name or label name breaks the Prometheus grammar or a reserved rule. */
  INVALID_NAME: "ERR_PROM_THREADS_INVALID_NAME",
  /** Label values do not match the metric's label names (unknown name, wrong count, too long). */
  INVALID_LABELS: "ERR_PROM_THREADS_INVALID_LABELS",
  /** A recorded value is not allowed (negative counter increment, NaN, non-finite histogram value). */
  INVALID_VALUE: "ERR_PROM_THREADS_INVALID_VALUE",
  /** A prom-client call or option that cannot work in a worker thread (`get()`, `collect`); the message names the alternative. */
  UNSUPPORTED: "ERR_PROM_THREADS_UNSUPPORTED",
  /** Recording in a thread that is connected to no MetricsHub. */
  NOT_CONNECTED: "ERR_PROM_THREADS_NOT_CONNECTED",
  /** `connect()` was given something that is not a hub handle, or a handle of another layout version. */
  INVALID_HANDLE: "ERR_PROM_THREADS_INVALID_HANDLE",
  /** Every worker slot of the hub is taken; the worker's records are dropped and counted. */
  NO_FREE_SLOT: "ERR_PROM_THREADS_NO_FREE_SLOT",
  /**
   * A worker connected whose Worker object the hub cannot see (created before the hub, or inside another
   * worker); if it is terminated, its slot stays taken until the hub closes. Reported once per hub.
   */
  WORKER_UNFOLLOWED: "ERR_PROM_THREADS_WORKER_UNFOLLOWED",
  /** A metric reached `maxSeries` label sets; further label sets fold into its overflow series (emitted once per metric). */
  SERIES_LIMIT: "ERR_PROM_THREADS_SERIES_LIMIT",
  /** A label set's declaration is larger than the hub's ring takes (a quarter of `ringBytes`). */
  DECLARATION_TOO_LARGE: "ERR_PROM_THREADS_DECLARATION_TOO_LARGE",
  /** Two declarations of one metric name disagree; the first wins. */
  DECLARATION_CONFLICT: "ERR_PROM_THREADS_DECLARATION_CONFLICT",
  /** The hub holds `maxMetrics` worker metrics; a new metric name is refused and its records dropped. */
  METRIC_LIMIT: "ERR_PROM_THREADS_METRIC_LIMIT",
  /** A worker sent so many malformed records that the hub stopped reading its slot until it exits. */
  SLOT_QUARANTINED: "ERR_PROM_THREADS_SLOT_QUARANTINED",
  /** A ring held a record the hub could not understand; it was dropped and counted. */
  MALFORMED_RECORD: "ERR_PROM_THREADS_MALFORMED_RECORD",
  /** `hub.attach()` was given something that is neither a Worker nor a piscina pool. */
  INVALID_TARGET: "ERR_PROM_THREADS_INVALID_TARGET",
  /** The hub was used after `close()`. */
  HUB_CLOSED: "ERR_PROM_THREADS_HUB_CLOSED",
  /** Collecting the registry's metrics for a scrape failed (a `collect` callback threw or rejected); the scrape got a 500. */
  COLLECT_FAILED: "ERR_PROM_THREADS_COLLECT_FAILED",
  /** The metrics server could not listen on its host and port (address in use, permission denied, unknown host). */
  LISTEN_FAILED: "ERR_PROM_THREADS_LISTEN_FAILED",
  /** An option needs an optional peer dependency that is not installed (`bcryptjs` for a bcrypt password hash). */
  MISSING_PEER_DEPENDENCY: "ERR_PROM_THREADS_MISSING_PEER_DEPENDENCY",
  /** A cluster API ran in the wrong process: a publisher without an IPC channel to a primary, or an aggregator outside the cluster primary. */
  CLUSTER_ROLE: "ERR_PROM_THREADS_CLUSTER_ROLE",
  /** A cluster worker's push was not acknowledged by the primary in time, or could not be sent or read. */
  CLUSTER_PUSH_FAILED: "ERR_PROM_THREADS_CLUSTER_PUSH_FAILED",
  /** The cluster primary received a prom-threads message it could not understand; it was dropped. */
  MALFORMED_CLUSTER_MESSAGE: "ERR_PROM_THREADS_MALFORMED_CLUSTER_MESSAGE",
  /** The cluster primary refused part of a push: an invalid metric name, help, layout, label name or value, or a bound (`maxFamilies`, a summary's `maxSeries`). */
  CLUSTER_REJECTED: "ERR_PROM_THREADS_CLUSTER_REJECTED",
  /** A Pushgateway push, push-add or delete failed: the gateway answered with an error or could not be reached. */
  GATEWAY_FAILED: "ERR_PROM_THREADS_GATEWAY_FAILED",
  /** A service discovery target file could not be written or removed. */
  DISCOVERY_FAILED: "ERR_PROM_THREADS_DISCOVERY_FAILED",
} as const;

/** A stable error code. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * Base class of every prom-threads error.
 *
 * @example
 * try { counter.inc(-1); } catch (err) {
 *   if (err instanceof PromThreadsError && err.code === "ERR_PROM_THREADS_INVALID_VALUE") { ... }
 * }
 */
export class PromThreadsError extends Error {
  /** The stable code of this error. */
  readonly code: ErrorCode;

  /** Create an error with a stable `code`. */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** Return the plain `{ code, message }` form, which crosses threads intact. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Thrown for invalid options, metric names and label names: a mistake in setup code. */
export class ConfigurationError extends PromThreadsError {}

/** Thrown at the recording call for invalid label values or recorded values. */
export class RecordingError extends PromThreadsError {}

/** Thrown or emitted when a worker and a hub cannot talk: no hub, a bad handle, no free slot. */
export class ConnectionError extends PromThreadsError {}

/** Emitted by the hub for conflicting declarations and malformed records. */
export class ProtocolError extends PromThreadsError {}
