/** The worker provider is `@opentelemetry/api`'s MeterProvider as far as TypeScript can tell. */
import { metrics, type Counter, type Histogram, type MeterProvider } from "@opentelemetry/api";
import { describe, expect, expectTypeOf, it } from "vitest";
import { meterProvider } from "../../src/worker/index.js";

describe("meterProvider's types", () => {
  it("is assignable to @opentelemetry/api's MeterProvider, and its instruments to the API's", () => {
    const provider: MeterProvider = meterProvider;
    const meter = provider.getMeter("types");
    expectTypeOf(meter.createCounter).returns.toEqualTypeOf<Counter>();
    expectTypeOf(meter.createHistogram).returns.toEqualTypeOf<Histogram>();
    // What the API's global registration takes (not called here: it is process-wide).
    expectTypeOf(metrics.setGlobalMeterProvider).parameter(0).toEqualTypeOf<MeterProvider>();
    expectTypeOf(meterProvider.getMeter("t").createObservableGauge).returns.toBeNever();
    expect(typeof meterProvider.getMeter).toBe("function");
  });
});
