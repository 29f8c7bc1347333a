// OpenTelemetry: tasks record with OpenTelemetry's API in a piscina pool; HubMetricProducer gives the
// hub's merged totals as OpenTelemetry data, as any reader (a periodic OTLP export, the Prometheus
// exporter) would get them. Run: node examples/opentelemetry/main.mjs
import { Piscina } from "piscina";
import { MetricsHub } from "prom-threads";
import { HubMetricProducer } from "prom-threads/otel";

const hub = new MetricsHub();
const pool = new Piscina({ filename: new URL("./task.mjs", import.meta.url).href, workerData: hub.workerData, maxThreads: 2 });
hub.attach(pool);
const producer = new HubMetricProducer({ hub }); // pass it in a reader's metricProducers

await Promise.all(Array.from({ length: 20 }, (_, n) => pool.run(n)));
await pool.destroy(); // the totals stay after the workers exit

const { resourceMetrics, errors } = await producer.collect();
for (const { scope, metrics } of resourceMetrics.scopeMetrics) {
  console.log(`scope ${scope.name} ${scope.version}`);
  for (const { descriptor, dataPoints } of metrics) {
    for (const { attributes, value } of dataPoints) {
      const labels = Object.entries(attributes).map(([k, v]) => `${k}=${v}`).join(",");
      const shown = typeof value === "number" ? value : `count ${value.count} sum ${value.sum} buckets ${value.buckets.counts.join(" ")}`;
      console.log(`${descriptor.name}{${labels}} ${shown}`);
    }
  }
}
if (errors.length > 0) console.error(errors);
await hub.close();
