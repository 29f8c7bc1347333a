/**
 * What the OpenTelemetry tests share: whether this Node can run `@opentelemetry/sdk-metrics` 3, and a
 * reader that exports to memory on demand.
 */
import { Piscina } from "piscina";
import { Registry } from "prom-client";
import { MetricsHub } from "../../src/main/index.js";
import { fixture } from "../helpers/workers.js";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricData, type MetricProducer, type ResourceMetrics } from "@opentelemetry/sdk-metrics";

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
/** `@opentelemetry/sdk-metrics` 3 declares Node >= 22.15. */
export const otelNodeSupported = major > 22 || (major === 22 && minor >= 15);

/**
 * Whether to skip the OpenTelemetry tests: never under Node >= 22.15; under older Node only when
 * `PROM_THREADS_OTEL_OLD_NODE=skip` asks for it (they pass under Node 20.20; the SDK does not promise it).
 */
export function skipOtel(): boolean {
  if (otelNodeSupported || process.env.PROM_THREADS_OTEL_OLD_NODE !== "skip") return false;
  console.warn(`skipping the OpenTelemetry tests: @opentelemetry/sdk-metrics 3 needs Node >= 22.15, this is ${process.version}`);
  return true;
}

/** A periodic reader that only exports when asked, with an in-memory exporter, over `producers`. */
export function memoryReader(producers: MetricProducer[]): { read(): Promise<ResourceMetrics>; shutdown(): Promise<void> } {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000, metricProducers: producers });
  const provider = new MeterProvider({ readers: [reader] });
  return {
    async read() {
      exporter.reset();
      await reader.forceFlush();
      const exported = exporter.getMetrics();
      if (exported.length !== 1) throw new Error(`expected one export, got ${exported.length}`);
      return exported[0]!;
    },
    shutdown: () => provider.shutdown(),
  };
}

/** The metric named `name` in the `prom-threads` scope of `result`. */
export function metricNamed(result: ResourceMetrics, name: string): MetricData | undefined {
  for (const scope of result.scopeMetrics) {
    if (scope.scope.name !== "prom-threads") continue;
    const found = scope.metrics.find((m) => m.descriptor.name === name);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * A hub on its own registry and a piscina pool (piscina's defaults) on test/fixtures/otel-task.mjs,
 * attached; their closing steps go on `cleanup`, to run in reverse.
 */
export function hubWithPool(cleanup: Array<() => Promise<unknown>>): { registry: Registry; hub: MetricsHub; pool: Piscina } {
  const registry = new Registry();
  const hub = new MetricsHub({ registry });
  cleanup.push(() => hub.close());
  const pool = new Piscina({ filename: fixture("otel-task.mjs").href, workerData: hub.workerData });
  hub.attach(pool);
  cleanup.push(() => pool.destroy());
  return { registry, hub, pool };
}
