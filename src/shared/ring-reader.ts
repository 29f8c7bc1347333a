/**
 * The consumer side of a ring: the main thread reads published records and hands them to a sink.
 * @module
 */
import {
  kDroppedFull,
  kReadIndex,
  kRecordBytes,
  kRecordWords,
  kSpilledTotal,
  kWriteIndex,
} from "./layout.js";
import { OP_DECLARE_METRIC, SPILLED_FLAG, declarationRecords } from "./protocol.js";

/** Receives the records of a drain, in ring order. */
export interface RecordSink {
  /** One observation record (op below {@link OP_DECLARE_METRIC}). */
  observation(word0: number, aux: number, value: number): void;
  /** One complete declaration: its header word and its payload bytes (a copy the sink may keep). */
  declaration(word0: number, payload: Uint8Array): void;
}

/** What one ring's header says, read with acquire loads. */
export interface RingCounters {
  /** Records published and not yet read. */
  pending: number;
  /** Running count of records the writer dropped because ring and spill buffer were full. */
  droppedFull: number;
  /** Running count of observation records the writer has put in its spill buffer. */
  spilledTotal: number;
}

/**
 * Read records from one ring. Used by exactly one thread: the hub's.
 *
 * @example
 * const reader = new RingReader(buffer, layout.ringHeaderByte(slot), layout.ringDataByte(slot), capacity);
 * reader.drain(sink);
 */
export class RingReader {
  readonly #header: Uint32Array;
  readonly #u32: Uint32Array;
  readonly #f64: Float64Array;
  readonly #u8: Uint8Array;
  readonly #mask: number;
  readonly #capacity: number;
  #read: number;
  /** Spilled (flagged) observation records read since the last reset, u32 wrapping like the header's. */
  #spilledRead = 0;

  /** Open the ring whose header and data start at the given byte offsets of `buffer`. */
  constructor(buffer: SharedArrayBuffer, headerByte: number, dataByte: number, capacity: number) {
    this.#header = new Uint32Array(buffer, headerByte, kReadIndex + 1);
    this.#u32 = new Uint32Array(buffer, dataByte, capacity * kRecordWords);
    this.#f64 = new Float64Array(buffer, dataByte, capacity * 2);
    this.#u8 = new Uint8Array(buffer, dataByte, capacity * kRecordBytes);
    this.#mask = capacity - 1;
    this.#capacity = capacity;
    // Only this thread writes the read index; the load just starts us where the header says.
    this.#read = Atomics.load(this.#header, kReadIndex);
  }

  /** Records in the ring, from 0 to 1. The write index may move on while this returns. */
  fill(): number {
    // Acquire load of the writer's index; the answer may be stale by the time the caller uses it.
    return ((Atomics.load(this.#header, kWriteIndex) - this.#read) >>> 0) / this.#capacity;
  }

  /** Read the header's counters. */
  counters(): RingCounters {
    return {
      // Why Atomics.load: each field has one writer on another thread; acquire loads see its latest store.
      pending: (Atomics.load(this.#header, kWriteIndex) - this.#read) >>> 0,
      droppedFull: Atomics.load(this.#header, kDroppedFull),
      spilledTotal: Atomics.load(this.#header, kSpilledTotal),
    };
  }

  /**
   * Observation records the writer spilled that have not reached this reader. Once the writer is dead
   * (and its last records drained), these are exactly the records lost with it.
   */
  spillLost(): number {
    // Acquire load of the writer's running count; it only grows while the writer lives.
    return (Atomics.load(this.#header, kSpilledTotal) - this.#spilledRead) >>> 0;
  }

  /**
   * Hand every record published before this call to `sink`, then give their room back to the writer.
   * A declaration whose payload is not fully published yet stays for the next drain.
   * @returns the number of observation records handed over.
   */
  drain(sink: RecordSink): number {
    // Acquire: every record before this index is fully written (the writer stored them before publishing).
    const end = Atomics.load(this.#header, kWriteIndex);
    let r = this.#read;
    let observations = 0;
    const u32 = this.#u32;
    const f64 = this.#f64;
    const mask = this.#mask;
    while (r !== end) {
      const i = (r & mask) * kRecordWords;
      const word0 = u32[i] as number;
      if ((word0 & 0xff) < OP_DECLARE_METRIC) {
        sink.observation(word0, u32[i + 1] as number, f64[(i >>> 1) + 1] as number);
        observations++;
        r = (r + 1) >>> 0;
        continue;
      }
      if ((word0 & SPILLED_FLAG) !== 0) {
        // An observation that went through the spill buffer: count it, hand it over without the flag.
        sink.observation((word0 ^ SPILLED_FLAG) >>> 0, u32[i + 1] as number, f64[(i >>> 1) + 1] as number);
        observations++;
        this.#spilledRead = (this.#spilledRead + 1) >>> 0;
        r = (r + 1) >>> 0;
        continue;
      }
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
    this.#read = r;
    // Release: the writer may reuse every slot before `r` once it sees this store.
    Atomics.store(this.#header, kReadIndex, r);
    return observations;
  }

  /**
   * Forget whatever is left (a dead writer's partial declaration) and clear the writer's counters, so the
   * ring can go to a new writer. Only when no thread writes the ring.
   */
  reset(): void {
    // The writer is gone: these stores just leave a clean header for the next owner, who loads them.
    this.#read = Atomics.load(this.#header, kWriteIndex);
    Atomics.store(this.#header, kReadIndex, this.#read);
    Atomics.store(this.#header, kDroppedFull, 0);
    Atomics.store(this.#header, kSpilledTotal, 0);
    this.#spilledRead = 0;
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
