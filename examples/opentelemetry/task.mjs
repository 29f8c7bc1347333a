// The pool's task, instrumented with OpenTelemetry's API: `meterProvider` makes the instruments record
// into the hub's ring instead of a per-thread SDK.
import { metrics } from "@opentelemetry/api";
import { meterProvider } from "prom-threads/worker";

metrics.setGlobalMeterProvider(meterProvider);
const meter = metrics.getMeter("example");
const squared = meter.createCounter("example.squared", { description: "Numbers squared.", unit: "{number}" });
const size = meter.createHistogram("example.result.size", { description: "Digits of each result.", advice: { explicitBucketBoundaries: [1, 2, 3] } });

export default function square(n) {
  const result = n * n;
  squared.add(1, { parity: n % 2 ? "odd" : "even" });
  size.record(String(result).length);
  return result;
}
