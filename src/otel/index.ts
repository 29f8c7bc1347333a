/**
 * `prom-threads/otel`: a hub's worker metrics as an OpenTelemetry `MetricProducer`, for any
 * `@opentelemetry/sdk-metrics` reader (a periodic OTLP export, the Prometheus exporter).
 * @module
 */
export { HubMetricProducer, SCOPE_NAME, type HubMetricProducerOptions } from "./producer.js";
