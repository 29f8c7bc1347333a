/**
 * Single flight for scrapes: concurrent scrapes that would render the same bytes (the same format and
 * encoding) share one render instead of each paying for it. A flood of identical scrapes then costs one
 * render at a time, and the limit on concurrent renders counts distinct ones only. A render whose every
 * client went away stops.
 * @module
 */
import { acceptsGzip, negotiate } from "./negotiation.js";
import { scrape, type ScrapeRequest, type ScrapeResponse, type ScrapeSource } from "./scrape.js";

/**
 * Tells when a client went away: an AbortSignal, or the lighter {@link ClientGone} the servers make per
 * request (an AbortController costs more than a small scrape's render).
 */
export type ClientSignal = AbortSignal | ClientGone;

/** What a render reads to know it should stop: set once every client of the flight went away. */
interface StopFlag {
  aborted: boolean;
}

/** One render in progress, and the clients waiting for it. */
interface Flight {
  readonly response: Promise<ScrapeResponse>;
  readonly stop: StopFlag;
  /** Clients waiting that can go away (those that passed a signal); -1 once one waits without a signal. */
  waiting: number;
}

/** Shares renders between concurrent scrapes of one source. */
export class ScrapeFlights {
  readonly #source: ScrapeSource;
  readonly #limit: number;
  readonly #inFlight = new Map<string, Flight>();

  /** Render from `source`, at most `limit` distinct renders at once. */
  constructor(source: ScrapeSource, limit = Number.POSITIVE_INFINITY) {
    this.#source = source;
    this.#limit = limit;
  }

  /** Distinct renders in progress. */
  get rendering(): number {
    return this.#inFlight.size;
  }

  /**
   * Resolve with the response for `request`: the render in progress for the same format and encoding if
   * there is one (it started before this request; what it shows is at most one render old), else a new
   * one. Returns undefined when a new render is needed and `limit` renders are already in progress.
   *
   * `signal` aborts when this request's client went away. A render stops (at its next step) once every
   * client waiting for it went away, and a later request starts a new one; a request without a signal
   * keeps its render going.
   */
  tryRun(request: ScrapeRequest, signal?: ClientSignal): Promise<ScrapeResponse> | undefined {
    const { format, version, escaping, escapingNamed } = negotiate(request.accept);
    const names = request.names === undefined ? "" : JSON.stringify(request.names);
    const key = `${format}:${version}:${escaping}:${escapingNamed}:${acceptsGzip(request.acceptEncoding) ? "gzip" : "identity"}:${names}`;
    let flight = this.#inFlight.get(key);
    if (flight === undefined) {
      if (this.#inFlight.size >= this.#limit) return undefined;
      const stop: StopFlag = { aborted: false };
      const response = scrape(this.#source, request, stop).finally(() => {
        if (this.#inFlight.get(key) === flight) this.#inFlight.delete(key);
      });
      flight = { response, stop, waiting: 0 };
      this.#inFlight.set(key, flight);
    }
    this.#wait(key, flight, signal);
    return flight.response;
  }

  /** Like {@link tryRun}, for flights without a limit (the handler and the fastify plugin): always answers. */
  run(request: ScrapeRequest, signal?: ClientSignal): Promise<ScrapeResponse> {
    return this.tryRun(request, signal) ?? scrape(this.#source, request, signal);
  }

  #wait(key: string, flight: Flight, signal: ClientSignal | undefined): void {
    if (signal === undefined || flight.waiting < 0) {
      flight.waiting = -1;
      return;
    }
    if (signal.aborted) {
      if (flight.waiting === 0) this.#abort(key, flight);
      return;
    }
    flight.waiting++;
    const gone = (): void => {
      if (flight.waiting > 0 && --flight.waiting === 0) this.#abort(key, flight);
    };
    if (signal instanceof ClientGone) signal.onGone(gone);
    else signal.addEventListener("abort", gone, { once: true });
  }

  #abort(key: string, flight: Flight): void {
    // A later request for the same bytes starts a render of its own instead of joining a stopped one.
    if (this.#inFlight.get(key) === flight) this.#inFlight.delete(key);
    flight.stop.aborted = true;
  }
}

/** A client that may go away before its response is sent (see {@link clientGone}). */
export class ClientGone {
  #aborted = false;
  #listeners: Array<() => void> = [];

  /** Whether the client went away. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Call `listener` once, when the client goes away. */
  onGone(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** The client went away: tell the listeners, once. */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const listener of listeners) listener();
  }
}

/**
 * A signal that aborts when the client of `res` goes away before its response was sent.
 *
 * @example
 * flights.run(request, clientGone(res));
 */
export function clientGone(res: { once(event: "close", listener: () => void): unknown; readonly headersSent: boolean }): ClientGone {
  const gone = new ClientGone();
  // "close" before the headers went out: the connection ended under a response still being made.
  res.once("close", () => {
    if (!res.headersSent) gone.abort();
  });
  return gone;
}
