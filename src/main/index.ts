/**
 * `prom-threads`: the main-thread side. Create a {@link MetricsHub}, give its `workerData` to your
 * workers, and the metrics they record appear in your prom-client registry.
 * @module
 */
export { MetricsHub, type HubStats, type MetricsHubEvents } from "./hub.js";
export type { MetricsHubOptions } from "./options.js";
export type { AttachTarget, PoolLike } from "./attach.js";
export { DROP_REASONS, type DropReason } from "./tally.js";
export * from "../shared/public.js";
