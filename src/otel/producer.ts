/**
 * `HubMetricProducer`: a hub's worker metrics as an OpenTelemetry `MetricProducer`.
 * @module
 */
import { readFileSync } from "node:fs";
import { ValueType, type Attributes, type HrTime } from "@opentelemetry/api";
import { emptyResource, type Resource } from "@opentelemetry/resources";
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type ExponentialHistogram,
  type Histogram,
  type MetricCollectOptions,
  type MetricData,
  type MetricProducer,
} from "@opentelemetry/sdk-metrics";
import { ConfigurationError, ErrorCodes, OperationError } from "../shared/api/errors.js";
import type { MetricsHub } from "../main/hub.js";
import { isMetricsHub } from "../main/hub/internal.js";
import type { SparseSide } from "../main/bridge/native-buckets.js";
import { hubSource, nowMs, type HubSource, type SourceFamily, type SourceLabels } from "./hub-source.js";
import { StartTimes } from "./start-times.js";

/** The instrumentation scope of every metric the producer gives: `prom-threads` and its version. */
export const SCOPE_NAME = "prom-threads";

/** This package's version, read once from its package.json. */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "";
  } catch {
    return "";
  }
}
const kScopeVersion = packageVersion();

/** Options of {@link HubMetricProducer}. */
export interface HubMetricProducerOptions {
  /** The hub whose worker metrics to give. */
  hub: MetricsHub;
  /**
   * The resource of the results. A reader (`PeriodicExportingMetricReader`, the Prometheus exporter)
   * replaces it with its MeterProvider's; it matters only when you call `collect()` yourself.
   * @default an empty resource
   */
  resource?: Resource;
}

function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6));
  return [seconds, nanos];
}

/** Prometheus label values as OpenTelemetry attributes: strings, as Prometheus holds them. */
function attributesOf(labels: SourceLabels): Attributes {
  const attributes: Attributes = {};
  for (const name of Object.keys(labels)) attributes[name] = String(labels[name]);
  return attributes;
}

/** Dense counts of one side of a native histogram, at OpenTelemetry's index (Prometheus' index minus one). */
function exponentialSide(side: SparseSide): { offset: number; bucketCounts: number[] } {
  const counts = new Map<number, number>();
  let index = 0;
  let delta = 0;
  let count = 0;
  side.spans.forEach((span, i) => {
    index = i === 0 ? span.offset : index + span.offset;
    for (let j = 0; j < span.length; j++) {
      count += side.deltas[delta++] as number;
      if (count !== 0) counts.set(index, count);
      index++;
    }
  });
  if (counts.size === 0) return { offset: 0, bucketCounts: [] };
  const indexes = [...counts.keys()];
  const low = Math.min(...indexes);
  const high = Math.max(...indexes);
  const bucketCounts: number[] = new Array<number>(high - low + 1).fill(0);
  for (const [i, c] of counts) bucketCounts[i - low] = c;
  // Prometheus' bucket i holds (base^(i-1), base^i]; OpenTelemetry's bucket i holds (base^i, base^(i+1)].
  return { offset: low - 1, bucketCounts };
}

/**
 * Give a hub's worker metrics to any OpenTelemetry `MetricReader`: pass it in the reader's
 * `metricProducers`. Each `collect()` drains the hub first, as a scrape does, so it has every record whose
 * call returned before it began. Counters become monotonic cumulative Sums, gauges Gauges (combined by
 * their `aggregate`), classic histograms Histograms, native histograms ExponentialHistograms, summaries
 * Histograms holding their count and sum; labels become attributes; every metric is in the
 * `prom-threads` scope. Main-thread prom-client metrics are not included. See docs/opentelemetry.md.
 *
 * @example
 * import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
 * import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
 * import { HubMetricProducer } from "prom-threads/otel";
 * const reader = new PeriodicExportingMetricReader({
 *   exporter: new OTLPMetricExporter(),
 *   metricProducers: [new HubMetricProducer({ hub })],
 * });
 * new MeterProvider({ readers: [reader] });
 */
export class HubMetricProducer implements MetricProducer {
  readonly #source: HubSource;
  readonly #resource: Resource;
  readonly #starts = new StartTimes();

  /** Make a producer over `options.hub`; throws ERR_PROM_THREADS_INVALID_OPTION without one. */
  constructor(options: HubMetricProducerOptions) {
    const hub = (options as Partial<HubMetricProducerOptions> | undefined)?.hub;
    if (hub === undefined || hub === null || typeof (hub as { collect?: unknown }).collect !== "function" || !isMetricsHub(hub)) {
      throw new ConfigurationError(ErrorCodes.INVALID_OPTION, "options.hub must be a MetricsHub");
    }
    this.#source = hubSource(hub);
    this.#resource = options.resource ?? emptyResource();
  }

  /**
   * Drain the hub and return its worker metrics. Never rejects: a closed hub, or a collect slower than
   * `timeoutMillis`, gives no metrics and the reason in `errors`.
   */
  async collect(options?: MetricCollectOptions): Promise<CollectionResult> {
    const started = performance.now();
    const timeoutMillis = options?.timeoutMillis;
    try {
      const families = await this.#read();
      // The hub's drain is synchronous, and what follows it resolves without a turn of the event loop: no
      // timer could fire before the work ends, so the time it took is what is checked.
      if (timeoutMillis !== undefined && Number.isFinite(timeoutMillis) && performance.now() - started > timeoutMillis) {
        throw new OperationError(ErrorCodes.COLLECT_FAILED, `prom-threads: collecting the hub's metrics took more than ${timeoutMillis} ms`);
      }
      return { resourceMetrics: { resource: this.#resource, scopeMetrics: [{ scope: { name: SCOPE_NAME, version: kScopeVersion }, metrics: families }] }, errors: [] };
    } catch (error) {
      return { resourceMetrics: { resource: this.#resource, scopeMetrics: [] }, errors: [error] };
    }
  }

  async #read(): Promise<MetricData[]> {
    await this.#source.drain();
    const families = await this.#source.families();
    const now = nowMs();
    const end = hrTime(now);
    const starts = this.#starts;
    starts.begin();
    const metrics: MetricData[] = [];
    for (const family of families) {
      // A series' created time (when the hub first saw it, moved by reset()) is its start; gauges, which have
      // none, start as the producer saw them. Created times are wall-clock readings (Date.now()) and the end
      // is not: after the wall clock was set forward, a series created since would start after its end, which
      // OpenTelemetry forbids; such a start is the end.
      const start = (labels: SourceLabels, createdMs: number | undefined): HrTime =>
        hrTime(Math.min(createdMs ?? starts.startOf(JSON.stringify([family.name, labels]), family.resetAtMs), now));
      metrics.push(metricOf(family, start, end));
    }
    starts.end(now);
    return metrics;
  }
}

function metricOf(family: SourceFamily, start: (labels: SourceLabels, createdMs: number | undefined) => HrTime, endTime: HrTime): MetricData {
  const descriptor = { name: family.name, description: family.help, unit: "", valueType: ValueType.DOUBLE };
  const aggregationTemporality = AggregationTemporality.CUMULATIVE;
  const point = <T>(labels: SourceLabels, value: T, createdMs?: number): DataPoint<T> => ({ startTime: start(labels, createdMs), endTime, attributes: attributesOf(labels), value });
  switch (family.kind) {
    case "counter":
      return { descriptor, aggregationTemporality, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints: family.points.map((p) => point(p.labels, p.value, p.createdMs)) };
    case "gauge":
      return { descriptor, aggregationTemporality, dataPointType: DataPointType.GAUGE, dataPoints: family.points.map((p) => point(p.labels, p.value)) };
    case "histogram":
      return {
        descriptor,
        aggregationTemporality,
        dataPointType: DataPointType.HISTOGRAM,
        dataPoints: family.points.map((p) => point<Histogram>(p.labels, { buckets: { boundaries: [...family.bounds], counts: p.counts }, sum: p.sum, count: p.count }, p.createdMs)),
      };
    case "summary":
      // OpenTelemetry's SDK has no summary point: the count and sum travel as a histogram of one bucket.
      return {
        descriptor,
        aggregationTemporality,
        dataPointType: DataPointType.HISTOGRAM,
        dataPoints: family.points.map((p) => point<Histogram>(p.labels, { buckets: { boundaries: [], counts: [p.count] }, sum: p.sum, count: p.count }, p.createdMs)),
      };
    case "native":
      return {
        descriptor,
        aggregationTemporality,
        dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
        dataPoints: family.points.map((p) =>
          point<ExponentialHistogram>(p.labels, {
            count: p.count,
            sum: p.sum,
            scale: p.native.schema,
            zeroCount: p.native.zeroCount,
            positive: exponentialSide(p.native.positive),
            negative: exponentialSide(p.native.negative),
          }, p.createdMs),
        ),
      };
  }
}
