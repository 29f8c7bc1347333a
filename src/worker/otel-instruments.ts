/**
 * OpenTelemetry synchronous instruments over the worker metric classes: each call resolves its attributes
 * to a child of a worker Counter, Gauge or Histogram and records on it, so it writes the same ring record
 * as the prom-client-shaped call with a labels object.
 * @module
 */
import { ConnectionError } from "../shared/api/errors.js";
import { Counter, type CounterChild } from "./counter.js";
import { Gauge, type GaugeChild } from "./gauge.js";
import { Histogram, type HistogramChild } from "./histogram.js";
import { labelName, metricName, type NamedKind } from "./otel-names.js";
import type { OtelAdding, OtelAttributes, OtelRecording } from "./otel-types.js";

/** Why the provider did not record all of a call: the `reason` label of `prom_threads_otel_dropped_total`. */
export type OtelDropReason = "invalid_value" | "invalid_attributes" | "unknown_attribute";

/** The kinds of synchronous instrument the provider makes. */
export type InstrumentKind = "counter" | "updowncounter" | "histogram" | "gauge";

/**
 * The explicit bucket boundaries `@opentelemetry/sdk-metrics` gives a histogram without advice; the
 * provider uses the same, so an instrument gets the same buckets in and out of a worker.
 */
const kOtelDefaultBoundaries: readonly number[] = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

/** What an instrument is made from: the OpenTelemetry call's name and options, already checked. */
export interface InstrumentSpec {
  readonly kind: InstrumentKind;
  readonly name: string;
  readonly description: string | undefined;
  readonly unit: string | undefined;
  readonly boundaries: readonly number[] | undefined;
  /** Attribute keys to keep, in label order (`advice.attributes`); `undefined` fixes them at the first record. */
  readonly attributes: readonly string[] | undefined;
}

/** Attribute sets an instrument keeps resolved to their child. */
const kChildCache = 2048;

type Child = CounterChild | GaugeChild | HistogramChild;
type WorkerMetricOf = Counter | Gauge | Histogram;

/** Counts what instruments drop; made by the provider. */
export type DropCounter = (reason: OtelDropReason) => void;

/** The Prometheus kind an instrument records into. */
function namedKind(kind: InstrumentKind): NamedKind {
  return kind === "counter" ? "counter" : kind === "histogram" ? "histogram" : "gauge";
}

/** An attribute value as a label value: strings as they are, anything else as OpenTelemetry's Prometheus exporter writes it. */
function labelText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The Prometheus name an instrument records under (one function, shared with the provider's cache). */
export function prometheusNameOf(spec: Pick<InstrumentSpec, "kind" | "name" | "unit">): string {
  return metricName(spec.name, spec.unit, namedKind(spec.kind));
}

/**
 * One OpenTelemetry instrument in one worker thread. The worker metric behind it is made at the first
 * record when its attribute keys come from that record, or at once when `advice.attributes` names them.
 * A record never throws for its value or attributes (OpenTelemetry's API does not throw): what cannot
 * be recorded is counted in `prom_threads_otel_dropped_total{reason}`.
 */
export class WorkerInstrument implements OtelAdding, OtelRecording {
  readonly #spec: InstrumentSpec;
  readonly #dropped: DropCounter;
  /** Attribute keys in label order, once fixed. */
  #keys: string[] | null = null;
  #metric: WorkerMetricOf | null = null;
  /** The child of the empty attribute set, once resolved. */
  #bare: Child | null = null;
  /** Children by label values, so a known attribute set is one Map lookup. */
  readonly #children = new Map<string, Child>();
  /** Records the value on a child, or returns false for a value its kind refuses; chosen once per kind. */
  readonly #apply: (child: Child, value: number) => boolean;

  /** Make the instrument; with `advice.attributes`, its worker metric is declared now. */
  constructor(spec: InstrumentSpec, dropped: DropCounter) {
    this.#spec = spec;
    this.#dropped = dropped;
    // Each kind checks its value as its worker metric would, so a refused value is counted, never thrown.
    switch (spec.kind) {
      case "counter":
        this.#apply = (child, value) => {
          if (!(typeof value === "number" && value >= 0 && value < Infinity)) return false;
          (child as CounterChild).inc(value);
          return true;
        };
        break;
      case "updowncounter":
        this.#apply = (child, value) => {
          if (!(typeof value === "number" && !Number.isNaN(value))) return false;
          (child as GaugeChild).inc(value);
          return true;
        };
        break;
      case "gauge":
        this.#apply = (child, value) => {
          if (!(typeof value === "number" && !Number.isNaN(value))) return false;
          (child as GaugeChild).set(value);
          return true;
        };
        break;
      case "histogram":
        this.#apply = (child, value) => {
          if (!Number.isFinite(value)) return false;
          (child as HistogramChild).observe(value);
          return true;
        };
        break;
    }
    if (spec.attributes !== undefined) this.#fix(spec.attributes);
  }

  /** The Prometheus name this instrument records under. */
  get prometheusName(): string {
    return prometheusNameOf(this.#spec);
  }

  /** Counter and UpDownCounter: add `value`. */
  add(value: number, attributes?: OtelAttributes): void {
    this.#record(value, attributes);
  }

  /** Histogram and Gauge: record `value`. */
  record(value: number, attributes?: OtelAttributes): void {
    this.#record(value, attributes);
  }

  #record(value: number, given: OtelAttributes | undefined): void {
    // `null`, as the SDK takes it, means no attributes; anything else that is not an object has no keys to
    // record under: the value is kept, and the call counted.
    let attributes = given ?? undefined;
    if (attributes !== undefined && typeof attributes !== "object") {
      this.#dropped("unknown_attribute");
      attributes = undefined;
    }
    const child = attributes === undefined && this.#bare !== null ? this.#bare : this.#resolve(attributes);
    if (child !== null && !this.#apply(child, value)) this.#dropped("invalid_value");
  }

  /** The child of an attribute set; `null` (counted) when the hub refuses one of its values. */
  #resolve(attributes: OtelAttributes | undefined): Child | null {
    try {
      return this.#childOf(attributes);
    } catch (error) {
      // A thread that cannot reach a hub (not connected, a handle of another version) throws, as the
      // worker metric classes do: a setup error, and counting it would only throw the same.
      if (error instanceof ConnectionError) throw error;
      // An attribute value the hub refuses (over 1024 bytes, a lone surrogate), or a first record's key it
      // refuses as a label name (`le` on a histogram): nothing to record the value under. Anything else
      // (attributes whose properties throw when read, the thread's label set ids spent) is counted the
      // same way: a recording call does not throw.
      this.#dropped("invalid_attributes");
      return null;
    }
  }

  #childOf(attributes: OtelAttributes | undefined): Child {
    const keys = this.#keys ?? this.#fix(attributes === undefined ? [] : Object.keys(attributes).sort());
    const metric = this.#metric as WorkerMetricOf;
    if (keys.length === 0) {
      if (attributes !== undefined && hasKeys(attributes)) this.#dropped("unknown_attribute");
      this.#bare ??= metric.labels() as Child;
      return this.#bare;
    }
    // One pass builds the label values and the cache key (each value prefixed by its length: unambiguous).
    const values: string[] = new Array<string>(keys.length);
    let key = "";
    let matched = 0;
    for (let i = 0; i < keys.length; i++) {
      const value = attributes === undefined ? undefined : attributes[keys[i] as string];
      const text = value === undefined ? "" : labelText(value);
      if (value !== undefined) matched++;
      values[i] = text;
      key += `${text.length}:${text}`;
    }
    // Keys outside the instrument's set are dropped from this record (its value is kept), and counted.
    if (attributes !== undefined && matched !== keyCount(attributes)) this.#dropped("unknown_attribute");
    let child = this.#children.get(key);
    if (child === undefined) {
      child = metric.labels(...values) as Child;
      // Bounded: past it, label sets resolve through the metric (which folds them past maxSeries).
      if (this.#children.size < kChildCache) this.#children.set(key, child);
    }
    return child;
  }

  /** Fix the attribute keys (the first escaping to each label name wins) and declare the worker metric. */
  #fix(keys: readonly string[]): string[] {
    const kept: string[] = [];
    const labels: string[] = [];
    for (const key of keys) {
      const label = labelName(key);
      if (labels.includes(label)) continue;
      kept.push(key);
      labels.push(label);
    }
    this.#metric = this.#create(labels);
    this.#keys = kept;
    return kept;
  }

  #create(labelNames: string[]): WorkerMetricOf {
    const spec = this.#spec;
    const name = prometheusNameOf(spec);
    const help = spec.description !== undefined && spec.description !== "" ? spec.description : spec.name;
    switch (spec.kind) {
      case "counter":
        return new Counter({ name, help, labelNames });
      case "updowncounter":
        return new Gauge({ name, help, labelNames, aggregate: "sum" });
      case "gauge":
        return new Gauge({ name, help, labelNames, aggregate: "last" });
      case "histogram":
        return new Histogram({ name, help, labelNames, buckets: [...(spec.boundaries ?? kOtelDefaultBoundaries)] });
    }
  }
}

function hasKeys(attributes: OtelAttributes): boolean {
  for (const _ in attributes) return true;
  return false;
}

function keyCount(attributes: OtelAttributes): number {
  let count = 0;
  for (const key in attributes) if (attributes[key] !== undefined) count++;
  return count;
}
