/**
 * The consumer side of a slot: the main thread reads published records, from the ring and then from the
 * overflow, and hands them to a sink.
 * @module
 */
import { kDroppedFull, kOverflowWrite, kReadIndex, kRecordBytes, kRecordWords, kRingHeaderWords, kWriteIndex, overflowDataByte } from "./layout.js";
import { OverflowReader } from "./overflow-reader.js";
import { declarationRecords } from "./protocol.js";
import type { RecordSink } from "./record-sink.js";

/** Where a slot's reader finds its parts. */
export interface SlotReaderOptions {
  /** The hub's control buffer, which holds the ring headers. */
  control: SharedArrayBuffer;
  /** Byte offset of the slot's ring header in the control buffer. */
  headerByte: number;
  /** The slot's data buffer (ring, then overflow), grown by its owner to hold the ring at least. */
  data: SharedArrayBuffer;
  /** Records in the ring; a power of two. */
  capacity: number;
  /** Records the overflow holds. */
  overflowCapacity: number;
}

/**
 * Read records from one slot. Used by exactly one thread: the hub's.
 *
 * @example
 * const reader = new SlotReader({ control, headerByte: layout.ringHeaderByte(slot), data, capacity, overflowCapacity });
 * reader.drain(sink);
 */
export class SlotReader {
  readonly #header: Uint32Array;
  readonly #u32: Uint32Array;
  readonly #f64: Float64Array;
  readonly #u8: Uint8Array;
  readonly #mask: number;
  readonly #capacity: number;
  readonly #overflow: OverflowReader;
  readonly #overflowCapacity: number;
  /** The out-of-range overflow write index last reported, or -1: one report per stray store, not per drain. */
  #badOverflowEnd = -1;
  #read: number;
  /** Ring records read or skipped since this reader was made. */
  #consumed = 0;

  /** Open the slot described by `options`. */
  constructor(options: SlotReaderOptions) {
    const { control, headerByte, data, capacity, overflowCapacity } = options;
    // The caller checks what it read from shared memory; a view that cannot be made would throw a
    // RangeError from deep inside the drain instead.
    if (headerByte < 0 || headerByte + kRingHeaderWords * 4 > control.byteLength || data.byteLength < capacity * kRecordBytes) {
      throw new RangeError(`a slot reader needs a ring header inside the control buffer and a data buffer of ${capacity * kRecordBytes} bytes at least (it has ${data.byteLength})`);
    }
    this.#overflowCapacity = overflowCapacity;
    this.#header = new Uint32Array(control, headerByte, kRingHeaderWords);
    this.#u32 = new Uint32Array(data, 0, capacity * kRecordWords);
    this.#f64 = new Float64Array(data, 0, capacity * 2);
    this.#u8 = new Uint8Array(data, 0, capacity * kRecordBytes);
    this.#mask = capacity - 1;
    this.#capacity = capacity;
    this.#overflow = new OverflowReader(this.#header, data, overflowDataByte(capacity), options.overflowCapacity);
    // Only this thread writes the read index; the load just starts us where the header says.
    this.#read = Atomics.load(this.#header, kReadIndex);
  }

  /** Records in the ring, from 0 to 1. The write index may move on while this returns. */
  fill(): number {
    // Acquire load of the writer's index; the answer may be stale by the time the caller uses it.
    return ((Atomics.load(this.#header, kWriteIndex) - this.#read) >>> 0) / this.#capacity;
  }

  /** Running count of records the writer dropped because ring and overflow were full. */
  droppedFull(): number {
    // Why Atomics.load: the writer stores this count on another thread; the acquire load sees its latest.
    return Atomics.load(this.#header, kDroppedFull);
  }

  /** Records published to the overflow and not yet read. */
  overflowPending(): number {
    // Acquire load; an index that cannot be the writer's holds no records the hub would read.
    if (Atomics.load(this.#header, kOverflowWrite) >= 2 * this.#overflowCapacity) return 0;
    return Math.min(this.#overflowCapacity, this.#overflow.pending());
  }

  /**
   * Records read or skipped since this reader was made, ring and overflow: a position in the slot's
   * record sequence that only grows. With {@link pendingRecords}, it marks what was published at a given
   * moment: the reader hands records over in the order they were published (ring before the overflow it
   * spilled to, and the writer returns to the ring only once the overflow was read empty), so once
   * `consumed()` reaches `consumed() + pendingRecords()` taken at that moment, every record published
   * before it was handed over.
   */
  consumed(): number {
    return this.#consumed + this.#overflow.consumed;
  }

  /** Records published and not read yet, ring and overflow. The writer may add more while this returns. */
  pendingRecords(): number {
    // Acquire load of the writer's index; stale as soon as it is returned, never too high.
    return ((Atomics.load(this.#header, kWriteIndex) - this.#read) >>> 0) + this.#overflow.pending();
  }

  /**
   * Hand every record published before this call to `sink`, ring first and then overflow, then give
   * their room back to the writer; with a `budget`, at most about that many records (a declaration is
   * never split), in order: what is left waits for the next call.
   * @returns the number of observation records handed over.
   */
  drain(sink: RecordSink, budget = Infinity): number {
    // The overflow's index first, then the ring's: every ring record below the ring index loaded second
    // was made before every overflow record below the index loaded first (the writer returns to the ring
    // only once we have read the overflow empty). Reading the ring first keeps that order.
    const overflowEnd = Atomics.load(this.#header, kOverflowWrite);
    const ringEnd = Atomics.load(this.#header, kWriteIndex);
    if (((ringEnd - this.#read) >>> 0) > this.#capacity) {
      // A ring never holds more than its capacity: the write index is not the writer's. Reading up to it
      // would take garbage for records (and could take seconds): skip to it, so the next index the writer
      // publishes is read from there, and say so.
      this.#skipTo(ringEnd);
      sink.corrupt(`a ring write index ${(ringEnd - this.#read) >>> 0} records ahead of its reader, beyond the ring's ${this.#capacity}`);
      return 0;
    }
    const pending = (ringEnd - this.#read) >>> 0;
    const observations = this.#drainRing(sink, pending > budget ? (this.#read + budget) >>> 0 : ringEnd);
    // Ring records left (the budget ran out, or a half-published declaration after memory corruption)
    // keep the overflow waiting: its records come after them.
    if (this.#read !== ringEnd) return observations;
    if (overflowEnd >= 2 * this.#overflowCapacity) {
      // Overflow indices stay below twice its capacity: this one is not the writer's. Read nothing there
      // until the index is sane again; say so once per value stored, not on every drain.
      if (overflowEnd !== this.#badOverflowEnd) {
        this.#badOverflowEnd = overflowEnd;
        sink.corrupt(`an overflow write index ${overflowEnd} that cannot be the writer's (the overflow holds ${this.#overflowCapacity} records)`);
      }
      return observations;
    }
    this.#badOverflowEnd = -1;
    return observations + this.#overflow.drain(sink, overflowEnd, budget - pending);
  }

  /** Whether records are published and not read yet, in the ring or the overflow. */
  hasPending(): boolean {
    // Acquire loads of the writer's indices; the answer may be stale by the time the caller uses it.
    if (Atomics.load(this.#header, kWriteIndex) !== this.#read) return true;
    // An out-of-range overflow index is not a backlog (see drain()).
    return Atomics.load(this.#header, kOverflowWrite) < 2 * this.#overflowCapacity && this.#overflow.pending() !== 0;
  }

  /**
   * Skip whatever is published (a dead writer's partial declaration, or the records of a quarantined
   * writer, who may go on writing meanwhile). With `forNewOwner`, also clear the writer's counters so the
   * slot can go to a new writer: only when no thread writes it.
   * @returns how many records were skipped: exactly those below the write indices loaded here.
   */
  reset(forNewOwner: boolean): number {
    // Acquire load of the ring's write index; the records below it are the ones skipped and counted.
    const ringEnd = Atomics.load(this.#header, kWriteIndex);
    const skipped = Math.min(this.#capacity, (ringEnd - this.#read) >>> 0);
    this.#skipTo(ringEnd);
    const total = skipped + this.#overflow.skipAll(forNewOwner);
    if (forNewOwner) Atomics.store(this.#header, kDroppedFull, 0);
    return total;
  }

  #skipTo(end: number): void {
    this.#consumed += (end - this.#read) >>> 0;
    this.#read = end;
    // Release: gives the skipped room back to the writer.
    Atomics.store(this.#header, kReadIndex, end);
  }

  #drainRing(sink: RecordSink, end: number): number {
    let r = this.#read;
    let observations = 0;
    const u32 = this.#u32;
    const f64 = this.#f64;
    const mask = this.#mask;
    while (r !== end) {
      // The records from `r` to `end` or to the ring's last record, whichever comes first, lie side by side:
      // walk them by word index, with no mask and no wrap per record.
      const first = (r & mask) * kRecordWords;
      const stop = first + Math.min((end - r) >>> 0, this.#capacity - (r & mask)) * kRecordWords;
      const i = sink.observations(u32, f64, first, stop);
      const run = (i - first) / kRecordWords;
      observations += run;
      r = (r + run) >>> 0;
      if (i === stop) continue;
      // A declaration at `r`.
      const word0 = u32[i] as number;
      const payloadBytes = u32[i + 1] as number;
      const records = declarationRecords(payloadBytes);
      if (payloadBytes > this.#capacity * kRecordBytes) {
        // A corrupt length cannot be trusted to skip by; hand over an empty payload and move one record.
        sink.declaration(word0, new Uint8Array(0));
        r = (r + 1) >>> 0;
        continue;
      }
      if (((end - r) >>> 0) < records) break;
      sink.declaration(word0, this.#copyPayload((r + 1) >>> 0, payloadBytes));
      r = (r + records) >>> 0;
    }
    this.#consumed += (r - this.#read) >>> 0;
    this.#read = r;
    // Release: the writer may reuse every slot before `r` once it sees this store.
    Atomics.store(this.#header, kReadIndex, r);
    return observations;
  }

  #copyPayload(first: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let copied = 0;
    let record = first;
    while (copied < length) {
      const byte = (record & this.#mask) * kRecordBytes;
      const n = Math.min(kRecordBytes, length - copied);
      out.set(this.#u8.subarray(byte, byte + n), copied);
      copied += n;
      record = (record + 1) >>> 0;
    }
    return out;
  }
}
