/**
 * Single flight for scrapes: concurrent scrapes that would render the same bytes (the same format and
 * encoding) share one render instead of each paying for it. A flood of identical scrapes then costs one
 * render at a time, and the limit on concurrent renders counts distinct ones only.
 * @module
 */
import { acceptsGzip, negotiate } from "./negotiation.js";
import { scrape, type ScrapeRequest, type ScrapeResponse, type ScrapeSource } from "./scrape.js";

/** Shares renders between concurrent scrapes of one source. */
export class ScrapeFlights {
  readonly #source: ScrapeSource;
  readonly #limit: number;
  readonly #inFlight = new Map<string, Promise<ScrapeResponse>>();

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
   */
  tryRun(request: ScrapeRequest): Promise<ScrapeResponse> | undefined {
    const { format, version, escaping, escapingNamed } = negotiate(request.accept);
    const names = request.names === undefined ? "" : JSON.stringify(request.names);
    const key = `${format}:${version}:${escaping}:${escapingNamed}:${acceptsGzip(request.acceptEncoding) ? "gzip" : "identity"}:${names}`;
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running;
    if (this.#inFlight.size >= this.#limit) return undefined;
    const render = scrape(this.#source, request).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, render);
    return render;
  }

  /** Like {@link tryRun}, for flights without a limit (the handler and the fastify plugin): always answers. */
  run(request: ScrapeRequest): Promise<ScrapeResponse> {
    return this.tryRun(request) ?? scrape(this.#source, request);
  }
}
