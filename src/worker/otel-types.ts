/**
 * The shapes of OpenTelemetry's metrics API (`@opentelemetry/api` 1.x) that the worker provider
 * implements, declared here so that worker code imports nothing outside prom-threads: they are
 * structurally the API's, so `metrics.setGlobalMeterProvider(meterProvider)` type-checks.
 * @module
 */

/**
 * Attributes of a measurement, by key. The API types their values as any value; a string is kept as it
 * is, anything else becomes the text OpenTelemetry's Prometheus exporter writes for it.
 */
export interface OtelAttributes {
  [key: string]: unknown;
}

/** Options of an instrument. */
export interface OtelMetricOptions {
  /** Becomes the metric's help text (the instrument's name when empty). */
  description?: string;
  /** UCUM unit; adds its Prometheus suffix to the name (`s` → `_seconds`). */
  unit?: string;
  /** Integer or double: the hub keeps doubles either way. */
  valueType?: number;
  /**
   * Advice: `explicitBucketBoundaries` for histograms, and `attributes`, the attribute keys to keep (the
   * OpenTelemetry specification's attributes advice), which fixes the labels at creation.
   */
  advice?: { explicitBucketBoundaries?: number[]; attributes?: string[] };
}

/** Options of a meter. */
export interface OtelMeterOptions {
  schemaUrl?: string;
}

/** A counter or up-down counter. */
export interface OtelAdding {
  add(value: number, attributes?: OtelAttributes, context?: unknown): void;
}

/** A histogram or gauge. */
export interface OtelRecording {
  record(value: number, attributes?: OtelAttributes, context?: unknown): void;
}

/** A meter: makes instruments. */
export interface OtelMeter {
  createCounter(name: string, options?: OtelMetricOptions): OtelAdding;
  createUpDownCounter(name: string, options?: OtelMetricOptions): OtelAdding;
  createHistogram(name: string, options?: OtelMetricOptions): OtelRecording;
  createGauge(name: string, options?: OtelMetricOptions): OtelRecording;
  createObservableCounter(name: string, options?: OtelMetricOptions): never;
  createObservableUpDownCounter(name: string, options?: OtelMetricOptions): never;
  createObservableGauge(name: string, options?: OtelMetricOptions): never;
  addBatchObservableCallback(callback: unknown, observables: unknown[]): never;
  removeBatchObservableCallback(callback: unknown, observables: unknown[]): never;
}

/** A meter provider: gives meters. */
export interface OtelMeterProvider {
  getMeter(name: string, version?: string, options?: OtelMeterOptions): OtelMeter;
}
