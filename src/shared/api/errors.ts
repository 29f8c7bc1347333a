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
  /** A worker sent so many malformed records that the hub stopped reading its slot until it exits, or its slot-table entry is impossible. */
  SLOT_QUARANTINED: "ERR_PROM_THREADS_SLOT_QUARANTINED",
  /** A ring held a record the hub could not understand (dropped and counted), or a stray store into a live slot-table entry was ignored. */
  MALFORMED_RECORD: "ERR_PROM_THREADS_MALFORMED_RECORD",
  /** `hub.attach()` was given something that is neither a Worker nor a piscina pool. */
  INVALID_TARGET: "ERR_PROM_THREADS_INVALID_TARGET",
  /** The hub was used after `close()`. */
  HUB_CLOSED: "ERR_PROM_THREADS_HUB_CLOSED",
  /** Collecting the registry's metrics for a scrape failed (a `collect` callback threw or rejected), or compressing its body did; the scrape got a 500. */
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
 * The one class each code belongs to. A record with every key of {@link ErrorCodes}: the compiler
 * refuses a code without a class, and an object key cannot name two.
 */
const kClassOfCode = {
  INVALID_OPTION: "ConfigurationError",
  INVALID_NAME: "ConfigurationError",
  UNSUPPORTED: "ConfigurationError",
  INVALID_TARGET: "ConfigurationError",
  HUB_CLOSED: "ConfigurationError",
  METRIC_LIMIT: "ConfigurationError",
  SERIES_LIMIT: "ConfigurationError",
  WORKER_UNFOLLOWED: "ConfigurationError",
  CLUSTER_ROLE: "ConfigurationError",
  MISSING_PEER_DEPENDENCY: "ConfigurationError",
  INVALID_LABELS: "RecordingError",
  INVALID_VALUE: "RecordingError",
  DECLARATION_TOO_LARGE: "RecordingError",
  NOT_CONNECTED: "ConnectionError",
  INVALID_HANDLE: "ConnectionError",
  NO_FREE_SLOT: "ConnectionError",
  DECLARATION_CONFLICT: "ProtocolError",
  MALFORMED_RECORD: "ProtocolError",
  SLOT_QUARANTINED: "ProtocolError",
  MALFORMED_CLUSTER_MESSAGE: "ProtocolError",
  CLUSTER_REJECTED: "ProtocolError",
  COLLECT_FAILED: "OperationError",
  LISTEN_FAILED: "OperationError",
  GATEWAY_FAILED: "OperationError",
  DISCOVERY_FAILED: "OperationError",
  CLUSTER_PUSH_FAILED: "OperationError",
} as const satisfies Record<keyof typeof ErrorCodes, string>;

/** The codes of one error class. */
type CodesOf<Class extends string> = {
  [Key in keyof typeof kClassOfCode]: (typeof kClassOfCode)[Key] extends Class ? (typeof ErrorCodes)[Key] : never;
}[keyof typeof kClassOfCode];

/** The codes a {@link ConfigurationError} carries. */
export type ConfigurationErrorCode = CodesOf<"ConfigurationError">;
/** The codes a {@link RecordingError} carries. */
export type RecordingErrorCode = CodesOf<"RecordingError">;
/** The codes a {@link ConnectionError} carries. */
export type ConnectionErrorCode = CodesOf<"ConnectionError">;
/** The codes a {@link ProtocolError} carries. */
export type ProtocolErrorCode = CodesOf<"ProtocolError">;
/** The codes an {@link OperationError} carries. */
export type OperationErrorCode = CodesOf<"OperationError">;

/**
 * Base class of every prom-threads error. Abstract: every code belongs to exactly one subclass, whose
 * constructor accepts only its codes, so `instanceof` and `code` always agree.
 *
 * @example
 * try { counter.inc(-1); } catch (err) {
 *   if (err instanceof PromThreadsError && err.code === "ERR_PROM_THREADS_INVALID_VALUE") { ... }
 * }
 */
export abstract class PromThreadsError extends Error {
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

/**
 * Thrown (or emitted) for a mistake in setup or use: an invalid option, metric name or label name, an
 * unsupported call, a bound reached (`maxMetrics`, `maxSeries`), a hub used after `close()`, an API run in
 * the wrong process, a missing optional peer dependency.
 */
export class ConfigurationError extends PromThreadsError {
  declare readonly code: ConfigurationErrorCode;

  /** Create a configuration error; only its codes are accepted. */
  constructor(code: ConfigurationErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Thrown at the recording call for invalid label values, recorded values or a label set too large to declare. */
export class RecordingError extends PromThreadsError {
  declare readonly code: RecordingErrorCode;

  /** Create a recording error; only its codes are accepted. */
  constructor(code: RecordingErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Thrown or emitted when a worker and a hub cannot talk: no hub, a bad handle, no free slot. */
export class ConnectionError extends PromThreadsError {
  declare readonly code: ConnectionErrorCode;

  /** Create a connection error; only its codes are accepted. */
  constructor(code: ConnectionErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Emitted when data from another thread or process is wrong: conflicting declarations, malformed records
 * or cluster messages, a quarantined slot, a refused cluster push.
 */
export class ProtocolError extends PromThreadsError {
  declare readonly code: ProtocolErrorCode;

  /** Create a protocol error; only its codes are accepted. */
  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Thrown, rejected or emitted when work prom-threads does for you fails at run time: collecting a scrape,
 * listening, pushing to the cluster primary or a Pushgateway, writing a service discovery file. The
 * underlying error is its `cause`.
 */
export class OperationError extends PromThreadsError {
  declare readonly code: OperationErrorCode;

  /** Create an operation error; only its codes are accepted. */
  constructor(code: OperationErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * The mark of each class's prototype: its name, under a registered symbol that every copy of this module
 * shares. The worker entry is one bundled file that carries its own copy of these classes (one module
 * fewer for every new thread to load), so `instanceof` compares marks when the plain prototype check
 * fails: an error from either copy is an instance of the class of the same name from the other. A class
 * that extends one of these (a user's subclass) has no mark of its own and keeps the plain check.
 */
const kErrorClass = Symbol.for("prom-threads.error-class");
for (const cls of [PromThreadsError, ConfigurationError, RecordingError, ConnectionError, ProtocolError, OperationError]) {
  Object.defineProperty(cls.prototype, kErrorClass, { value: cls.name });
}
// Defined after the class, so the declarations (and the API report) stay as they are; the subclasses
// inherit it as a static member.
Object.defineProperty(PromThreadsError, Symbol.hasInstance, {
  value(this: { prototype: unknown }, value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    const proto = this.prototype as Record<symbol, unknown>;
    if (!Object.hasOwn(proto, kErrorClass) || value === null || typeof value !== "object") return false;
    const mark = proto[kErrorClass];
    for (let p: object | null = Object.getPrototypeOf(value); p !== null; p = Object.getPrototypeOf(p)) {
      if (Object.hasOwn(p, kErrorClass) && (p as Record<symbol, unknown>)[kErrorClass] === mark) return true;
    }
    return false;
  },
});
