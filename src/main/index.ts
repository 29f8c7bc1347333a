/**
 * `prom-threads`: the main-thread side. Create a {@link MetricsHub}, give its `workerData` to your
 * workers, and the metrics they record appear in your prom-client registry.
 * @module
 */
export { MetricsHub, type HubStats, type MetricsHubEvents } from "./hub.js";
export type { MetricsHubOptions } from "./options.js";
export type { AttachTarget, PoolLike } from "./attach.js";
export type { PoolAttachOptions } from "./pool-metrics.js";
export { DROP_REASONS, type DropReason } from "./tally.js";
export { startHttpServer, type MetricsServer } from "./serve/server.js";
export { metricsHandler, type MetricsRequestHandler } from "./serve/handler.js";
export type { FileSdServerOptions, MetricsHandlerOptions, StartHttpServerOptions } from "./serve/options.js";
export type { ServerLimits } from "./serve/limits.js";
export type { BasicAuthOptions } from "./serve/auth.js";
export { statusPage, type StatusPageOptions } from "./serve/status-handler.js";
export type { StatusDocument, PoolStatusDocument, ThreadStatus, BucketCounts } from "./serve/status-snapshot.js";
export type { PoolStatus } from "./pool-metrics.js";
export { ClusterAggregator, type ClusterAggregatorOptions, type ClusterAggregatorEvents, type ClusterStats, type ClusterProcessStats } from "./cluster/aggregator.js";
export { ClusterPublisher, type ClusterPublisherOptions, type ClusterPublisherEvents } from "./cluster/publisher.js";
export { pushToGateway, type PushToGatewayOptions, type GatewayFormat, type GatewayMethod, type GatewayResult } from "./pushgateway.js";
export { writeFileSdTarget, type FileSdTarget, type FileSdTargetOptions } from "./discovery/file-sd.js";
export { TargetDirectory, announceToPrimary, type AnnounceOptions, type TargetDirectoryEvents, type TargetDirectoryOptions, type TargetGroup } from "./discovery/http-sd.js";
export * from "../shared/api/public.js";
