/**
 * The main-thread state of one worker slot: its ring reader and the bindings from the owner's local ids
 * to the hub's metrics. Applying records is the hub's hot loop.
 * @module
 */
import {
  OP_ADD,
  OP_DECLARE_METRIC,
  OP_DECLARE_SERIES,
  OP_EXEMPLAR,
  OP_OBSERVE,
  OP_REMOVE_SERIES,
  OP_SERIES_OVERFLOW,
  OP_SET,
  decodePayload,
  idOf,
  opOf,
  packWord0,
} from "../shared/protocol.js";
import type { RecordSink, RingReader } from "../shared/ring-reader.js";
import {
  Binding,
  KIND_COUNTER,
  KIND_GAUGE,
  KIND_HISTOGRAM,
  KIND_NATIVE_HISTOGRAM,
  KIND_REJECTED,
  KIND_SUMMARY,
  REJECTED,
  type CounterSeries,
  type GaugeContribution,
  type HistogramSeries,
  type SummaryTarget,
} from "./bridge/binding.js";
import type { BridgeMetric } from "./bridge/bridge-metric.js";
import { detachContribution } from "./bridge/gauge.js";
import { keepExemplar } from "./bridge/exemplars.js";
import type { NativeHistogramSeries } from "./bridge/native-buckets.js";
import { decodeExemplar } from "../shared/exemplar.js";
import { NATIVE_AUX_BITS } from "../shared/native-histogram.js";
import type { Tally } from "./tally.js";

/** What a slot asks of the hub when a declaration arrives. */
export interface DeclarationResolver {
  /** Return the hub's metric for a worker's declaration, or `null` when it conflicts (reported by the hub). */
  resolveMetric(declaration: unknown): BridgeMetric | null;
  /** Report a record that made no sense. */
  reportMalformed(detail: string): void;
}

/** Marks an id whose series the worker removed; records on it are dropped as `removed_series`. */
const REMOVED = new Binding(KIND_REJECTED, null);

/** One slot's drain state. Reset by {@link SlotDrain.release} when the owner is gone. */
export class SlotDrain implements RecordSink {
  /** Whether a worker owns the slot as far as the hub knows. */
  active = false;
  /** The owner's threadId. */
  threadId = -1;
  readonly #reader: RingReader;
  readonly #resolver: DeclarationResolver;
  readonly #tally: Tally;
  #bindings: Array<Binding | undefined> = [];
  #metrics: Array<BridgeMetric | null | undefined> = [];
  #lastDroppedFull = 0;
  /** Monotonic sequence shared by all slots, to order gauge updates for `aggregate: "last"`. */
  readonly #clock: { seq: number };

  /** Create the drain state of one slot. */
  constructor(reader: RingReader, resolver: DeclarationResolver, tally: Tally, clock: { seq: number }) {
    this.#reader = reader;
    this.#resolver = resolver;
    this.#tally = tally;
    this.#clock = clock;
  }

  /** Fill of this slot's ring, from 0 to 1. */
  fill(): number {
    return this.#reader.fill();
  }

  /** Apply every published record, and take the writer's drop count. */
  drain(): void {
    this.#reader.drain(this);
    const { droppedFull } = this.#reader.counters();
    if (droppedFull !== this.#lastDroppedFull) {
      this.#tally.dropped.ring_full += (droppedFull - this.#lastDroppedFull) >>> 0;
      this.#lastDroppedFull = droppedFull;
    }
  }

  /**
   * The owner is gone: apply what it published, count what it still held as lost, remove its gauge
   * contributions and leave a clean ring for the next owner.
   */
  release(): void {
    this.drain();
    this.#tally.dropped.worker_exit += this.#reader.spillLost();
    this.#reader.reset();
    for (const binding of this.#bindings) {
      if (binding !== undefined && binding.kind === KIND_GAUGE) detachContribution(binding.target as GaugeContribution);
    }
    this.#bindings = [];
    this.#metrics = [];
    this.#lastDroppedFull = 0;
    this.active = false;
    this.threadId = -1;
  }

  /** @internal Apply one observation record. */
  observation(word0: number, aux: number, value: number): void {
    const binding = this.#bindings[word0 >>> 8];
    const op = word0 & 0xff;
    if (binding === undefined) {
      this.#malformed(`a record for undeclared series ${word0 >>> 8}`);
      return;
    }
    switch (binding.kind) {
      case KIND_COUNTER:
        if (op !== OP_ADD || !(value >= 0)) break;
        (binding.target as CounterSeries).value += value;
        this.#tally.drained++;
        return;
      case KIND_HISTOGRAM: {
        if (op !== OP_OBSERVE || aux > binding.maxAux) break;
        const series = binding.target as HistogramSeries;
        series.buckets[aux] = (series.buckets[aux] as number) + 1;
        series.sum += value;
        this.#tally.drained++;
        return;
      }
      case KIND_NATIVE_HISTOGRAM:
        // aux packs the classic bucket (top bits) and the native bucket the worker found (low bits).
        if (op !== OP_OBSERVE || aux >>> NATIVE_AUX_BITS > binding.maxAux) break;
        (binding.target as NativeHistogramSeries).observe(aux, value);
        this.#tally.drained++;
        return;
      case KIND_GAUGE: {
        const contribution = binding.target as GaugeContribution;
        if (op === OP_SET) contribution.value = value;
        else if (op === OP_ADD) contribution.value += value;
        else break;
        contribution.seq = ++this.#clock.seq;
        this.#tally.drained++;
        return;
      }
      case KIND_SUMMARY:
        if (op !== OP_OBSERVE) break;
        (binding.target as SummaryTarget).observe(value);
        this.#tally.drained++;
        return;
      default:
        if (binding === REMOVED) this.#tally.dropped.removed_series++;
        else this.#tally.dropped.declaration_conflict++;
        return;
    }
    this.#malformed(`operation ${op} does not fit its series`);
  }

  /** @internal Apply one declaration. */
  declaration(word0: number, payload: Uint8Array): void {
    const op = opOf(word0);
    const id = idOf(word0);
    if (op === OP_REMOVE_SERIES) {
      const binding = this.#bindings[id];
      if (binding !== undefined && binding.kind === KIND_GAUGE) detachContribution(binding.target as GaugeContribution);
      this.#bindings[id] = REMOVED;
      return;
    }
    if (op === OP_EXEMPLAR) {
      this.#exemplar(id, payload);
      return;
    }
    let decoded: unknown;
    try {
      decoded = decodePayload(payload);
    } catch {
      this.#malformedDeclaration("an undecodable declaration");
      return;
    }
    if (op === OP_DECLARE_METRIC) {
      this.#metrics[id] = this.#resolver.resolveMetric(decoded);
      return;
    }
    if (op === OP_SERIES_OVERFLOW) {
      const metric = this.#metrics[id];
      if (metric === undefined || typeof decoded !== "number" || !(decoded >= 0)) {
        this.#malformedDeclaration("an overflow count for an undeclared metric, or not a count");
      } else if (metric !== null) {
        metric.foldedInWorker(decoded);
      }
      return;
    }
    if (op === OP_DECLARE_SERIES) {
      const series = decoded as { metric?: unknown; values?: unknown };
      const metric = typeof series.metric === "number" ? this.#metrics[series.metric] : undefined;
      if (metric === null) {
        this.#bindings[id] = REJECTED;
      } else if (metric === undefined || !Array.isArray(series.values) || series.values.length !== metric.labelNames.length) {
        this.#malformedDeclaration("a label set for an undeclared metric, or with the wrong number of values");
      } else {
        this.#bindings[id] = metric.bind(series.values as string[]);
      }
      return;
    }
    this.#malformedDeclaration(`unknown operation ${op}`);
  }

  /** Apply an observation that carries an exemplar, then keep the exemplar where the observation went. */
  #exemplar(id: number, payload: Uint8Array): void {
    const record = decodeExemplar(payload);
    if (record === undefined || (record.op !== OP_ADD && record.op !== OP_OBSERVE)) {
      this.#malformed("an undecodable exemplar");
      return;
    }
    const drained = this.#tally.drained;
    this.observation(packWord0(record.op, id), record.aux, record.value);
    const binding = this.#bindings[id];
    // Only an observation that was applied leaves its exemplar.
    if (binding !== undefined && this.#tally.drained !== drained) keepExemplar(binding, record);
  }

  #malformed(detail: string): void {
    this.#tally.dropped.malformed++;
    this.#resolver.reportMalformed(detail);
  }

  #malformedDeclaration(detail: string): void {
    this.#resolver.reportMalformed(detail);
  }
}
