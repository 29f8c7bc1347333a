/**
 * The main-thread state of one worker slot: its ring reader and the bindings from the owner's local ids
 * to the hub's metrics. Applying records is the hub's hot loop.
 * @module
 */
import {
  kOpAdd,
  kOpDeclareMetric,
  kOpDeclareSeries,
  kOpExemplar,
  kOpObserve,
  kOpRemoveSeries,
  kOpResetMetric,
  kOpSeriesOverflow,
  kOpSet,
  kOpZeroSeries,
  kRemovedSeriesId,
  decodePayload,
  idOf,
  opOf,
  packWord0,
} from "../shared/transport/protocol.js";
import { kRecordWords } from "../shared/transport/layout.js";
import type { RecordSink } from "../shared/transport/record-sink.js";
import type { SlotReader } from "../shared/transport/slot-reader.js";
import {
  Binding,
  kKindCounter,
  kKindGauge,
  kKindHistogram,
  kKindNativeHistogram,
  kKindRejected,
  kKindSummary,
  kRejected,
  type CounterSeries,
  type GaugeContribution,
  type HistogramArena,
  type SummaryTarget,
  zeroSeries,
} from "./bridge/binding.js";
import type { BridgeMetric } from "./bridge/bridge-metric.js";
import { detachContribution } from "./bridge/gauge.js";
import { kMaxLabelValueBytes } from "../shared/model/limits.js";
import { keepExemplar, keepExemplarAt } from "./bridge/exemplars.js";
import type { ExemplarTableReader, TableExemplar } from "../shared/transport/exemplar-table.js";
import type { NativeHistogramSeries } from "./bridge/native-buckets.js";
import { decodeExemplar } from "../shared/model/exemplar.js";
import { kNativeAuxBits } from "../shared/model/native-histogram.js";
import type { Tally } from "./tally.js";

/**
 * What a slot needs from the hub: the narrow interface it talks to (never the hub itself).
 */
export interface SlotContext {
  /** Return the hub's metric for a worker's declaration, or `null` when it is refused (reported by the hub). */
  resolveMetric(declaration: unknown): BridgeMetric | null;
  /**
   * Report what a slot could not understand since its last report: `count` records or declarations, the
   * first of them described by `detail`. Called at most once per drain of the slot.
   */
  reportMalformed(detail: string, count: number): void;
  /** Report once that a slot was quarantined after `count` malformed records. */
  reportQuarantined(threadId: number, count: number): void;
  /** The hub's running totals, which the drain adds to. */
  readonly tally: Tally;
  /** Monotonic sequence shared by all slots, to order gauge updates for `aggregate: "last"`. */
  readonly gaugeClock: { seq: number };
  /** Where the hub's classic histograms keep their series' counts: the drain's fast path adds there. */
  readonly histograms: HistogramArena;
}

/** Marks an id whose series the worker removed; records on it are dropped as `removed_series`. */
const kRemoved = new Binding(kKindRejected, null);

/**
 * Malformed records one worker may send before its slot is quarantined: the hub then discards everything
 * the slot publishes (counted as `malformed`) until the worker is gone. A bug or a hostile worker must not
 * cost the main thread more than this.
 */
const kQuarantineAfter = 100_000;

/**
 * Series ids one worker may have bound at once. The worker gives ids back on `remove()` and caches at most
 * `maxSeries` label sets per metric, so a well-behaved worker stays far below; past it, new label sets of
 * that worker are malformed.
 */
const kMaxBindingsPerWorker = 1 << 20;

/** A slot reports malformed input at most once per this many milliseconds, with a count. */
const kReportIntervalMs = 1000;

/** Most label-set resolutions a worker can report folded in one record (a sanity bound, not a limit). */
const kMaxFoldCount = 2 ** 32;

/** One slot's drain state. Reset by {@link SlotDrain.release} when the owner is gone. */
export class SlotDrain implements RecordSink {
  /** Whether a worker owns the slot as far as the hub knows. */
  active = false;
  /** The owner's threadId. */
  threadId = -1;
  readonly #reader: SlotReader;
  readonly #context: SlotContext;
  readonly #tally: Tally;
  #bindings: Array<Binding | undefined> = [];
  /**
   * The classic histograms' bindings once more, packed by series id for the drain's fast path: at
   * `2 * id` the index of the series' first bucket count in the hub's histogram arena (-1: not a classic
   * histogram whose counts are there), at `2 * id + 1` its `+Inf` bucket index. A dense typed array, side
   * by side, so a record reads no binding object and one array for both numbers.
   */
  #hist = new Int32Array(0);
  /** The arena {@link #hist} indexes (see {@link HistogramArena}). */
  readonly #arena: HistogramArena;
  #bound = 0;
  #metrics: Array<BridgeMetric | null | undefined> = [];
  #lastDroppedFull = 0;
  /**
   * Observation records of the current drain that were not applied (dropped or malformed): the tally
   * takes the reader's count minus these once per drain, so an applied record writes no counter.
   */
  #notApplied = 0;
  /** Observations of the current drain that came inside declarations (exemplars), which the reader does not count. */
  #carried = 0;
  /** Malformed records since the last report, and the first one's description. */
  #malformedPending = 0;
  #malformedDetail = "";
  /** Malformed records of the current owner; past {@link kQuarantineAfter} the slot is quarantined. */
  #malformedTotal = 0;
  #quarantined = false;
  #lastReport = -Infinity;
  /** Monotonic sequence shared by all slots, to order gauge updates for `aggregate: "last"`. */
  readonly #clock: { seq: number };

  /** The slot's latest-exemplar table. */
  readonly #exemplars: ExemplarTableReader | undefined;
  /** Keeps one exemplar read from the table on the series and bucket it names. */
  readonly #keepTableExemplar = (exemplar: TableExemplar): boolean => {
    const binding = this.#bindings[exemplar.seriesId];
    // Not declared yet: a drain with a budget may have left the series' declaration in the ring. The
    // entry is read again at the next drain.
    if (binding === undefined) return false;
    if (binding !== kRemoved && binding !== kRejected) {
      keepExemplarAt(binding, exemplar.bucket, { labelSet: exemplar.labels, value: exemplar.value, timestamp: exemplar.timestampMs / 1000 });
    }
    return true;
  };

  /** Create the drain state of one slot, read by `reader` (and its exemplar table), applied through `context`. */
  constructor(reader: SlotReader, context: SlotContext, exemplars?: ExemplarTableReader) {
    this.#exemplars = exemplars;
    this.#reader = reader;
    this.#context = context;
    this.#tally = context.tally;
    this.#clock = context.gaugeClock;
    this.#arena = context.histograms;
  }

  /** Fill of this slot's ring, from 0 to 1. */
  fill(): number {
    return this.#reader.fill();
  }

  /**
   * Apply every published record (with a `budget`, at most about that many, in order), and take the
   * writer's drop count.
   * @returns `true` when records are left for the next drain (only with a budget).
   */
  drain(budget = Infinity): boolean {
    if (this.#quarantined) {
      // Discard, counted: what a quarantined worker publishes is not read record by record.
      this.#tally.dropped.malformed += this.#reader.reset(false);
    } else {
      this.#notApplied = 0;
      this.#carried = 0;
      const observations = this.#reader.drain(this, budget);
      this.#tally.drained += observations + this.#carried - this.#notApplied;
      // After the ring: a series an entry names was declared by a record the ring held before it (read
      // now, unless a budget left it for the next drain).
      this.#exemplars?.read(this.#keepTableExemplar);
    }
    if (this.#malformedPending > 0) this.#reportMalformed(false);
    if (!this.#quarantined && this.#malformedTotal >= kQuarantineAfter) {
      this.#quarantined = true;
      this.#context.reportQuarantined(this.threadId, this.#malformedTotal);
    }
    const droppedFull = this.#reader.droppedFull();
    if (droppedFull !== this.#lastDroppedFull) {
      this.#tally.dropped.ring_full += (droppedFull - this.#lastDroppedFull) >>> 0;
      this.#lastDroppedFull = droppedFull;
    }
    return budget !== Infinity && this.#reader.hasPending();
  }

  /** Records read or skipped from this slot so far, whoever owned it (see {@link SlotReader.consumed}). */
  consumed(): number {
    return this.#reader.consumed();
  }

  /** Records published to this slot (ring and overflow) and not read yet. */
  pendingRecords(): number {
    return this.#reader.pendingRecords();
  }

  /** Records waiting in this slot's overflow. */
  overflowPending(): number {
    return this.#reader.overflowPending();
  }

  /**
   * The owner is gone: apply everything it published (ring and overflow: a record is in shared memory when
   * its call returns), remove its gauge contributions and leave a clean slot for the next owner.
   */
  release(): void {
    this.drain();
    if (this.#malformedPending > 0) this.#reportMalformed(true);
    this.#reader.reset(true);
    this.#forget();
  }

  /**
   * The owner is gone and the slot's memory is not trusted: drop what it published without reading it
   * (counted as malformed), remove its gauge contributions and leave a clean slot for the next owner.
   */
  discard(): void {
    this.#tally.dropped.malformed += this.#reader.reset(true);
    this.#forget();
  }

  #forget(): void {
    // A release read the owner's last exemplars in its drain; the next owner finds an empty table.
    this.#exemplars?.clear();
    for (const binding of this.#bindings) {
      if (binding !== undefined && binding.kind === kKindGauge) detachContribution(binding.target as GaugeContribution);
    }
    this.#bindings = [];
    this.#hist = new Int32Array(0);
    this.#bound = 0;
    this.#metrics = [];
    this.#lastDroppedFull = 0;
    this.#malformedTotal = 0;
    this.#quarantined = false;
    this.active = false;
    this.threadId = -1;
  }

  /**
   * @internal The observation records of a run (see {@link RecordSink.observations}): classic histogram
   * observations and counter increments applied here, with the slot's tables in locals for the whole run;
   * every other record as {@link observation} applies it.
   */
  observations(u32: Uint32Array, f64: Float64Array, first: number, stop: number): number {
    // Imported constants are read through their module binding (a load and a check each time): read once.
    const step = kRecordWords;
    const firstDeclaration = kOpDeclareMetric;
    const observe = kOpObserve;
    const add = kOpAdd;
    const counter = kKindCounter;
    // Only a declaration changes these, and a run stops at the first one.
    const hist = this.#hist;
    const counts = this.#arena.view;
    const bindings = this.#bindings;
    let i = first;
    while (i !== stop) {
      const word0 = u32[i] as number;
      const op = word0 & 0xff;
      if (op >= firstDeclaration) return i;
      const aux = u32[i + 1] as number;
      const value = f64[(i >>> 1) + 1] as number;
      i += step;
      const at = 2 * (word0 >>> 8);
      if (at < hist.length) {
        const base = hist[at] as number;
        const max = hist[at + 1] as number;
        if (base >= 0 && op === observe && aux <= max && !Number.isNaN(value)) {
          counts[base + aux] = (counts[base + aux] as number) + 1;
          counts[base + max + 1] = (counts[base + max + 1] as number) + value;
          continue;
        }
      }
      const binding = bindings[word0 >>> 8];
      // `value - value === 0` is false for NaN and both infinities: a counter takes finite increments.
      if (binding !== undefined && binding.kind === counter && op === add && value >= 0 && value - value === 0) {
        (binding.target as CounterSeries).value += value;
        continue;
      }
      this.observation(word0, aux, value);
    }
    return i;
  }

  /**
   * @internal Apply one observation record of any kind, or count it as not applied. {@link observations}
   * applies the common ones (classic histograms in the arena, counter increments) itself and calls this
   * for the rest; so does an observation carried by an exemplar.
   */
  observation(word0: number, aux: number, value: number): void {
    if (!this.#applyObservation(this.#bindings[word0 >>> 8], word0, aux, value)) this.#notApplied++;
  }

  /**
   * Apply one observation record through its binding (malformed ones are counted here).
   * @returns whether the record was applied.
   */
  #applyObservation(binding: Binding | undefined, word0: number, aux: number, value: number): boolean {
    const op = word0 & 0xff;
    if (binding === undefined) {
      // A child kept after remove() writes to the removed-series id (see src/worker/series-ids.ts).
      if (word0 >>> 8 === kRemovedSeriesId) this.#tally.dropped.removed_series++;
      else this.#malformed(`a record for undeclared series ${word0 >>> 8}`);
      return false;
    }
    switch (binding.kind) {
      case kKindCounter:
        // `value - value === 0` is false for NaN and both infinities: a counter takes finite increments.
        if (op !== kOpAdd || !(value >= 0) || value - value !== 0) break;
        (binding.target as CounterSeries).value += value;
        return true;
      case kKindHistogram: {
        // Its counts and sum from `base` in its counts array (the arena, for a series there).
        if (op !== kOpObserve || aux > binding.maxAux || Number.isNaN(value)) break;
        const counts = binding.counts;
        counts[binding.base + aux] = (counts[binding.base + aux] as number) + 1;
        counts[binding.base + binding.maxAux + 1] = (counts[binding.base + binding.maxAux + 1] as number) + value;
        return true;
      }
      case kKindNativeHistogram:
        // aux packs the classic bucket (top bits) and the native bucket the worker found (low bits).
        if (op !== kOpObserve || aux >>> kNativeAuxBits > binding.maxAux || Number.isNaN(value)) break;
        (binding.target as NativeHistogramSeries).observe(aux, value);
        return true;
      case kKindGauge: {
        const contribution = binding.target as GaugeContribution;
        if (Number.isNaN(value)) break;
        if (op === kOpSet) contribution.value = value;
        else if (op === kOpAdd) contribution.value += value;
        else break;
        contribution.seq = ++this.#clock.seq;
        return true;
      }
      case kKindSummary:
        if (op !== kOpObserve || value - value !== 0) break;
        try {
          (binding.target as SummaryTarget).observe(value);
        } catch (error) {
          this.#malformed(`a summary observation prom-client refused (${(error as Error).message})`);
          return false;
        }
        return true;
      default:
        if (binding === kRemoved) this.#tally.dropped.removed_series++;
        else this.#tally.dropped.declaration_conflict++;
        return false;
    }
    this.#malformed(`operation ${op} does not fit its series`);
    return false;
  }

  /** @internal Apply one declaration. Never throws: whatever goes wrong is this declaration's failure. */
  declaration(word0: number, payload: Uint8Array): void {
    try {
      this.#declare(opOf(word0), idOf(word0), payload);
    } catch (error) {
      this.#malformedDeclaration(`a declaration the hub could not apply (${(error as Error).message})`);
    }
  }

  /** @internal The slot's indices were forged or corrupted; the reader skipped what they claimed. */
  corrupt(detail: string): void {
    this.#malformed(detail);
  }

  #declare(op: number, id: number, payload: Uint8Array): void {
    if (op === kOpRemoveSeries) {
      this.#unbind(id);
      this.#bind(id, kRemoved);
      return;
    }
    // --- prom-client fidelity ops: reset() and zero() from a worker, in ring order. ---
    if (op === kOpResetMetric) {
      const metric = this.#metrics[id];
      if (metric === undefined) this.#malformedDeclaration("a reset of an undeclared metric");
      else metric?.reset();
      return;
    }
    if (op === kOpZeroSeries) {
      const binding = this.#bindings[id];
      if (binding === undefined) this.#malformedDeclaration("a zero() of an undeclared series");
      else zeroSeries(binding);
      return;
    }
    if (op === kOpExemplar) {
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
    if (op === kOpDeclareMetric) {
      this.#metrics[id] = this.#context.resolveMetric(decoded);
      return;
    }
    if (op === kOpSeriesOverflow) {
      const metric = this.#metrics[id];
      if (metric === undefined || !Number.isSafeInteger(decoded) || (decoded as number) < 0 || (decoded as number) > kMaxFoldCount) {
        this.#malformedDeclaration("an overflow count for an undeclared metric, or not a count");
      } else if (metric !== null) {
        metric.foldedInWorker(decoded as number);
      }
      return;
    }
    if (op === kOpDeclareSeries) {
      const series = decoded as { metric?: unknown; values?: unknown } | null;
      const metric = typeof series?.metric === "number" ? this.#metrics[series.metric] : undefined;
      if (metric === null) {
        this.#unbind(id);
        this.#bind(id, kRejected);
        return;
      }
      const values = series?.values;
      if (metric === undefined || !validLabelValues(values, metric.labelNames.length)) {
        this.#malformedDeclaration("a label set for an undeclared metric, or whose values are not label values of that metric");
        return;
      }
      if (this.#bindings[id] === undefined && this.#bound >= kMaxBindingsPerWorker) {
        this.#malformedDeclaration(`a label set past the ${kMaxBindingsPerWorker} one worker may hold at once`);
        return;
      }
      const binding = metric.bind(ownStrings(values));
      // A re-declared id replaces its binding: a gauge contribution it had must leave with it, or it would
      // stay in the gauge after the worker is gone.
      this.#unbind(id);
      this.#bind(id, binding);
      this.#bound++;
      return;
    }
    this.#malformedDeclaration(`unknown operation ${op}`);
  }

  /** Point id `id` at `binding`, in {@link #bindings} and, for classic histograms, in the packed arrays. */
  #bind(id: number, binding: Binding): void {
    this.#bindings[id] = binding;
    if (2 * id >= this.#hist.length) {
      if (binding.kind !== kKindHistogram) return;
      const hist = new Int32Array(2 * Math.max(64, id + 1, this.#hist.length)).fill(-1);
      hist.set(this.#hist);
      this.#hist = hist;
    }
    // A series whose counts are not in this hub's arena (the arena was full, or the metric is another
    // hub's in a shared registry) is applied through its binding, in #applyObservation.
    const inArena = binding.kind === kKindHistogram && this.#arena.holds(binding.counts);
    this.#hist[2 * id] = inArena ? binding.base : -1;
    this.#hist[2 * id + 1] = inArena ? binding.maxAux : 0;
  }

  /** Forget id `id`'s binding (a gauge loses this worker's contribution). */
  #unbind(id: number): void {
    const binding = this.#bindings[id];
    if (binding === undefined || binding === kRemoved || binding === kRejected) return;
    if (binding.kind === kKindGauge) detachContribution(binding.target as GaugeContribution);
    this.#bound--;
  }

  /** Apply an observation that carries an exemplar, then keep the exemplar where the observation went. */
  #exemplar(id: number, payload: Uint8Array): void {
    const record = decodeExemplar(payload);
    if (record === undefined || (record.op !== kOpAdd && record.op !== kOpObserve)) {
      this.#malformed("an undecodable exemplar");
      return;
    }
    const notApplied = this.#notApplied;
    this.#carried++;
    this.observation(packWord0(record.op, id), record.aux, record.value);
    const binding = this.#bindings[id];
    // Only an observation that was applied leaves its exemplar.
    if (binding !== undefined && this.#notApplied === notApplied) keepExemplar(binding, record);
  }

  #malformed(detail: string): void {
    this.#tally.dropped.malformed++;
    this.#noteMalformed(detail);
  }

  /** A declaration carries no observation: it is reported, not counted as a dropped record. */
  #malformedDeclaration(detail: string): void {
    this.#noteMalformed(detail);
  }

  /** Report what is pending: at most once per {@link kReportIntervalMs}, unless `now`. */
  #reportMalformed(now: boolean): void {
    const time = performance.now();
    if (!now && time - this.#lastReport < kReportIntervalMs) return;
    this.#lastReport = time;
    this.#context.reportMalformed(this.#malformedDetail, this.#malformedPending);
    this.#malformedPending = 0;
  }

  #noteMalformed(detail: string): void {
    if (this.#malformedPending === 0) this.#malformedDetail = detail;
    this.#malformedPending++;
    this.#malformedTotal++;
  }
}

/**
 * Strings shorter than this are copied by {@link ownStrings}: V8 copies them flat (from 13 characters a
 * slice would point into the original), and JSON.parse puts string values of up to 10 characters in the
 * string table.
 */
const kCopiedStringLength = 13;

/**
 * Label values decoded from a declaration, with the short strings replaced by copies that are not in
 * V8's string table. JSON.parse internalizes short string values, and a hub keeps one label value per
 * series for as long as the series lives (in its labels and, for one label, as its key). Every full
 * collection walks the string table twice, to clear it and to update it: with 100,000 series of
 * one-label histograms that was 2.2 ms of a 3.0 ms pause, taken on the main thread about once per
 * scrape (measured with --trace-gc-nvp, Node 20). The copies cost two small strings per declaration.
 */
function ownStrings(values: Array<string | number>): Array<string | number> {
  return values.map((value) => (typeof value === "string" && value.length < kCopiedStringLength ? ` ${value}`.slice(1) : value));
}

/**
 * Whether `values` is an array of `count` label values the workers could have sent: strings of at most
 * the label value limit, or finite numbers (kept as numbers, as prom-client keeps them).
 */
function validLabelValues(values: unknown, count: number): values is Array<string | number> {
  if (!Array.isArray(values) || values.length !== count) return false;
  for (const value of values) {
    if (typeof value === "number" ? !Number.isFinite(value) : typeof value !== "string" || value.length > kMaxLabelValueBytes) return false;
  }
  return true;
}
