/**
 * `meterProvider`: OpenTelemetry's metrics API inside a worker thread, recording into the hub's ring.
 * @module
 */
import { ConfigurationError, ConnectionError, ErrorCodes } from "../shared/api/errors.js";
import { Counter } from "./counter.js";
import type { OtelMeter, OtelMeterOptions, OtelMeterProvider, OtelMetricOptions } from "./otel-types.js";
import { WorkerInstrument, prometheusNameOf, type InstrumentKind, type InstrumentSpec, type OtelDropReason } from "./otel-instruments.js";

/** The worker counter of what OpenTelemetry calls could not record, by reason. */
const kDroppedName = "prom_threads_otel_dropped_total";

/** Throw for an observable instrument: nothing runs in a worker at collection time. */
function refuseObservable(call: string): never {
  throw new ConfigurationError(
    ErrorCodes.UNSUPPORTED,
    `${call}() is not available in a worker thread: nothing runs in a worker when the hub collects (a collection never waits for a worker). Record the value when it changes with meter.createGauge() or createUpDownCounter(), or make the observable instrument in the main thread's own MeterProvider`,
  );
}

/** Check the options every instrument takes; throws ERR_PROM_THREADS_INVALID_OPTION naming the instrument. */
function specOf(kind: InstrumentKind, name: unknown, options: OtelMetricOptions | undefined): InstrumentSpec {
  if (typeof name !== "string" || name === "") {
    throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `An OpenTelemetry instrument needs a non-empty string name, got ${String(name)}`);
  }
  const advice = options?.advice as { explicitBucketBoundaries?: unknown; attributes?: unknown } | undefined;
  let boundaries: number[] | undefined;
  if (kind === "histogram" && advice?.explicitBucketBoundaries !== undefined) {
    const given = advice.explicitBucketBoundaries;
    if (!Array.isArray(given) || !given.every((b, i) => typeof b === "number" && Number.isFinite(b) && (i === 0 || b > (given[i - 1] as number)))) {
      throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `Instrument "${name}": options.advice.explicitBucketBoundaries must be finite numbers in increasing order`);
    }
    boundaries = given as number[];
  }
  let attributes: string[] | undefined;
  if (advice?.attributes !== undefined) {
    const given = advice.attributes;
    if (!Array.isArray(given) || !given.every((key) => typeof key === "string" && key !== "")) {
      throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `Instrument "${name}": options.advice.attributes must be an array of non-empty strings`);
    }
    attributes = [...new Set(given as string[])];
  }
  return { kind, name, description: options?.description, unit: options?.unit, boundaries, attributes };
}

/**
 * The instruments of one thread, shared by every meter of the provider: the hub has one namespace, so an
 * instrument is one worker metric whatever meter made it.
 */
class Instruments {
  readonly #made = new Map<string, WorkerInstrument>();
  #dropped: Counter<"reason"> | null = null;
  readonly #drop = (reason: OtelDropReason): void => {
    try {
      this.#dropped ??= new Counter({ name: kDroppedName, help: "OpenTelemetry calls in worker threads the hub could not record as given, by reason.", labelNames: ["reason"] });
      this.#dropped.labels(reason).inc();
    } catch (error) {
      // Not connected to a hub: the recording call says so. Anything else (the thread's label set ids
      // spent) loses only this diagnostic count: a recording call does not throw for it.
      if (error instanceof ConnectionError) throw error;
    }
  };

  /** The instrument of `kind` named `name`: the one made before with the same name, kind and unit, or a new one. */
  get(kind: InstrumentKind, name: unknown, options: OtelMetricOptions | undefined): WorkerInstrument {
    const spec = specOf(kind, name, options);
    const key = `${kind}\u0000${prometheusNameOf(spec)}`;
    let instrument = this.#made.get(key);
    if (instrument === undefined) {
      instrument = new WorkerInstrument(spec, this.#drop);
      this.#made.set(key, instrument);
    }
    return instrument;
  }
}

/** A meter of the worker provider; its name, version and schema URL do not reach the hub (see docs/opentelemetry.md). */
class WorkerMeter implements OtelMeter {
  readonly #instruments: Instruments;

  constructor(instruments: Instruments) {
    this.#instruments = instruments;
  }

  createCounter(name: string, options?: OtelMetricOptions): WorkerInstrument {
    return this.#instruments.get("counter", name, options);
  }

  createUpDownCounter(name: string, options?: OtelMetricOptions): WorkerInstrument {
    return this.#instruments.get("updowncounter", name, options);
  }

  createHistogram(name: string, options?: OtelMetricOptions): WorkerInstrument {
    return this.#instruments.get("histogram", name, options);
  }

  createGauge(name: string, options?: OtelMetricOptions): WorkerInstrument {
    return this.#instruments.get("gauge", name, options);
  }

  createObservableCounter(): never {
    return refuseObservable("createObservableCounter");
  }

  createObservableUpDownCounter(): never {
    return refuseObservable("createObservableUpDownCounter");
  }

  createObservableGauge(): never {
    return refuseObservable("createObservableGauge");
  }

  addBatchObservableCallback(): never {
    return refuseObservable("addBatchObservableCallback");
  }

  removeBatchObservableCallback(): never {
    return refuseObservable("removeBatchObservableCallback");
  }
}

/**
 * An OpenTelemetry `MeterProvider` for this worker thread. Instruments it makes record into the hub's
 * ring through the worker metric classes: a Counter into a counter, an UpDownCounter into a gauge summed
 * over live workers, a Gauge into a gauge whose latest value wins, a Histogram into a histogram with its
 * `advice.explicitBucketBoundaries` (OpenTelemetry's default boundaries otherwise). Names and attribute
 * keys are escaped to the Prometheus grammar; observable instruments throw ERR_PROM_THREADS_UNSUPPORTED.
 * See docs/opentelemetry.md.
 *
 * @example
 * import { metrics } from "@opentelemetry/api";
 * import { meterProvider } from "prom-threads/worker";
 * metrics.setGlobalMeterProvider(meterProvider);
 * const latency = metrics.getMeter("images").createHistogram("resize.duration", { unit: "ms" });
 * latency.record(12.5, { format: "png" }); // resize_duration_milliseconds{format="png"} in the hub
 */
export class WorkerMeterProvider implements OtelMeterProvider {
  readonly #instruments = new Instruments();
  readonly #meters = new Map<string, WorkerMeter>();

  /** Return the meter of `name` (made once per name and version; every meter records into the same hub). */
  getMeter(name: string, version?: string, options?: OtelMeterOptions): OtelMeter {
    const key = `${name}\u0000${version ?? ""}\u0000${options?.schemaUrl ?? ""}`;
    let meter = this.#meters.get(key);
    if (meter === undefined) {
      meter = new WorkerMeter(this.#instruments);
      this.#meters.set(key, meter);
    }
    return meter;
  }
}

/**
 * This thread's OpenTelemetry `MeterProvider`: pass it to `metrics.setGlobalMeterProvider()` in the
 * worker (see {@link WorkerMeterProvider}).
 */
export const meterProvider: WorkerMeterProvider = new WorkerMeterProvider();
