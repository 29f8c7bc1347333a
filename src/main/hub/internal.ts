/**
 * The hub's internal channel to the serving code and the OpenTelemetry producer: what they read of a hub
 * that is not part of its public surface. Not exported from the package's entry points.
 * @module
 */
import type { BridgeMetric } from "../bridge/bridge-metric.js";
import type { PoolStatus } from "../pool-metrics.js";
import type { SlotStatus } from "./slots.js";

/** What the status page reads of a hub, without draining it. */
export interface StatusSources {
  /** Each slot up to the highest ever claimed, and at least `minSlots`. */
  slots: SlotStatus[];
  /** The attached pools. */
  pools: PoolStatus[];
}

type StatusReader = (minSlots: number) => StatusSources;

/**
 * The key of a hub's status reader: a registered symbol, so that a second copy of this module (the
 * package loaded twice, from two paths) still finds it; defined non-enumerable, and declared nowhere.
 */
const kStatusReader = Symbol.for("prom-threads.hub.statusSources");

/** Make `read` the status reader of `hub`; called once, by the hub's constructor. */
export function registerStatusSources(hub: object, read: StatusReader): void {
  Object.defineProperty(hub, kStatusReader, { value: read });
}

/**
 * The owner and ring fill of each of `hub`'s slots up to the highest ever claimed (and at least
 * `minSlots`; slots above it were never used), and the attached pools, read without draining (the fills
 * are as of now; counts are as of the last drain).
 */
export function statusSources(hub: object, minSlots = 0): StatusSources {
  const read = (hub as { [kStatusReader]?: StatusReader })[kStatusReader];
  if (typeof read !== "function") throw new TypeError("statusSources() takes a MetricsHub");
  return read(minSlots);
}

/** The key of a hub's list of accepted worker metrics; registered, like {@link kStatusReader}. */
const kWorkerMetrics = Symbol.for("prom-threads.hub.workerMetrics");

/** Make `list` the worker-metric lister of `hub`; called once, by the hub's constructor. */
export function registerWorkerMetrics(hub: object, list: () => BridgeMetric[]): void {
  Object.defineProperty(hub, kWorkerMetrics, { value: list });
}

/** The metrics workers declared that `hub` accepted (for the OpenTelemetry producer), as of its last drain. */
export function workerMetrics(hub: object): BridgeMetric[] {
  const list = (hub as { [kWorkerMetrics]?: () => BridgeMetric[] })[kWorkerMetrics];
  if (typeof list !== "function") throw new TypeError("workerMetrics() takes a MetricsHub");
  return list();
}

/** Whether `value` is a hub (of this copy of the package or another). */
export function isMetricsHub(value: unknown): boolean {
  return typeof value === "object" && value !== null && typeof (value as { [kWorkerMetrics]?: unknown })[kWorkerMetrics] === "function";
}

/** What a scrape that works in steps reads of a hub (see src/main/serve/sliced-render.ts). */
export interface ScrapeAccess {
  /**
   * Apply every record published before the call, in steps that let the event loop run, the first one
   * ending by `deadline` (a `performance.now()` time) when given. Resolves to the deadline of the last
   * step, which the caller's work in the same turn may use up.
   */
  drainPublished(signal?: { readonly aborted: boolean }, deadline?: number): Promise<number>;
  /**
   * A scrape begins: the background drain steps aside until the returned function is called (once, when
   * the scrape ends).
   */
  scraping(): () => void;
  /** Run `read` (a metric's `get()`, a listing) without the drains it would ask of the hub. */
  quietly<T>(read: () => T): T;
  /**
   * A reader of a worker metric's values, at most `maxSeries` whole series per call (`undefined` once
   * all were read), or `undefined` for a metric that is not a worker metric.
   */
  pagesOf(metric: unknown): ((maxSeries: number) => unknown[] | undefined) | undefined;
}

/** The key of a hub's scrape access; see {@link kStatusReader} for why a registered symbol. */
const kScrapeAccess = Symbol.for("prom-threads.hub.scrapeAccess");

/** Make `access` the scrape access of `hub`; called once, by the hub's constructor. */
export function registerScrapeAccess(hub: object, access: ScrapeAccess): void {
  Object.defineProperty(hub, kScrapeAccess, { value: access });
}

/** The scrape access of `hub`: throws a TypeError for anything that is not a MetricsHub. */
export function scrapeAccess(hub: object): ScrapeAccess {
  const access = (hub as { [kScrapeAccess]?: ScrapeAccess })[kScrapeAccess];
  if (access === undefined) throw new TypeError("scrapeAccess() takes a MetricsHub");
  return access;
}
