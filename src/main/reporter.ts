/**
 * How the hub tells its user about problems it handled: on its `error` event when someone listens,
 * otherwise as process warnings. Either way bounded, so that a flood of bad input (a hostile worker, a
 * cluster process gone wrong) costs the main thread little and never floods a log.
 * @module
 */
import type { EventEmitter } from "node:events";
import type { PromThreadsError } from "../shared/api/errors.js";

/** Events of one code emitted per window, at most; the rest are counted and mentioned in the next one. */
const kEventsPerWindow = 20;
/** Length of the rate window, in milliseconds. */
const kWindowMs = 10_000;
/** Distinct problems of one code warned about when nobody listens; the rest are summed up in one warning. */
const kWarningsPerCode = 20;

interface CodeState {
  windowStart: number;
  emitted: number;
  suppressed: number;
  warned: number;
  warnedSuppressed: boolean;
}

/**
 * Report problems for an emitter, bounded per error code.
 *
 * @example
 * const reporter = new Reporter(hub);
 * reporter.report(new ProtocolError(ErrorCodes.MALFORMED_RECORD, "..."), "malformed");
 */
export class Reporter {
  readonly #emitter: EventEmitter;
  readonly #warned = new Set<string>();
  readonly #codes = new Map<string, CodeState>();
  readonly #now: () => number;
  readonly #eventsPerWindow: number;

  /**
   * Report through `emitter`'s `error` event. `eventsPerWindow`: events of one code per 10 s (Infinity
   * where the caller bounds its reports itself, as the cluster aggregator does per push); `now` is the
   * clock (injectable for tests).
   */
  constructor(emitter: EventEmitter, options: { eventsPerWindow?: number; now?: () => number } = {}) {
    this.#emitter = emitter;
    this.#eventsPerWindow = options.eventsPerWindow ?? kEventsPerWindow;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Reports that were not emitted because their code passed its rate, by code. */
  suppressed(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [code, state] of this.#codes) if (state.suppressed > 0) out[code] = state.suppressed;
    return out;
  }

  /**
   * Emit `error` when someone listens, at most `eventsPerWindow` (default 20) per code per 10 s (the next one
   * says how many were left out); otherwise warn once per distinct `key`, at most
   * {@link kWarningsPerCode} keys per code, then once that further ones are left out. Never throws.
   */
  report(error: PromThreadsError, key: string): void {
    const state = this.#state(error.code);
    if (this.#emitter.listenerCount("error") > 0) {
      const now = this.#now();
      if (now - state.windowStart >= kWindowMs) {
        state.windowStart = now;
        state.emitted = 0;
      }
      if (state.emitted >= this.#eventsPerWindow) {
        state.suppressed++;
        return;
      }
      state.emitted++;
      if (state.suppressed > 0) {
        error.message += ` (${state.suppressed} earlier reports of ${error.code} were left out: more than ${this.#eventsPerWindow} in ${kWindowMs / 1000} s)`;
        state.suppressed = 0;
      }
      this.#emitter.emit("error", error);
      return;
    }
    if (this.#warned.has(key)) return;
    if (state.warned >= kWarningsPerCode) {
      if (!state.warnedSuppressed) {
        state.warnedSuppressed = true;
        process.emitWarning(`prom-threads: more than ${kWarningsPerCode} distinct ${error.code} problems; further ones are not warned about (listen to the 'error' event to see them all)`, { code: error.code });
      }
      return;
    }
    this.#warned.add(key);
    state.warned++;
    process.emitWarning(error.message, { code: error.code });
  }

  #state(code: string): CodeState {
    let state = this.#codes.get(code);
    if (state === undefined) {
      state = { windowStart: -Infinity, emitted: 0, suppressed: 0, warned: 0, warnedSuppressed: false };
      this.#codes.set(code, state);
    }
    return state;
  }
}
