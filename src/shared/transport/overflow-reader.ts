/**
 * The consumer side of a slot's overflow: the main thread reads what a worker wrote there while its ring
 * was full. See overflow-writer.ts.
 * @module
 */
import { kOverflowRead, kOverflowWrite, kRecordBytes, kRecordWords } from "./layout.js";
import { advanceOverflowIndex, nextOverflowIndex, overflowFill, overflowPosition } from "./overflow-index.js";
import { declarationRecords } from "./protocol.js";
import type { RecordSink } from "./record-sink.js";

/**
 * Read records from one slot's overflow. Used by exactly one thread: the hub's.
 *
 * @example
 * const overflow = new OverflowReader(header, data, layout.overflowDataByte, layout.overflowCapacity);
 * overflow.drain(sink, Atomics.load(header, kOverflowWrite));
 */
export class OverflowReader {
  readonly #header: Uint32Array;
  readonly #data: SharedArrayBuffer;
  readonly #base: number;
  readonly #capacity: number;
  #u32: Uint32Array = new Uint32Array(0);
  #f64: Float64Array = new Float64Array(0);
  #u8: Uint8Array = new Uint8Array(0);
  #read: number;
  /** Records read or skipped since this reader was made: a position that only grows. */
  #consumed = 0;
  /** The header as Int32, the view Atomics.notify needs. */
  readonly #waitView: Int32Array;

  /** Open the overflow of a slot; see {@link OverflowWriter}'s constructor for the arguments. */
  constructor(header: Uint32Array, data: SharedArrayBuffer, base: number, capacity: number) {
    this.#header = header;
    this.#data = data;
    this.#base = base;
    this.#capacity = capacity;
    this.#waitView = new Int32Array(header.buffer, header.byteOffset, header.length);
    // Only this thread writes the read index; the load just starts us where the header says.
    this.#read = Atomics.load(header, kOverflowRead);
  }

  /** Records written and not yet read. The writer may add more while this returns. */
  pending(): number {
    // Acquire load of the writer's index; the answer may be stale by the time the caller uses it.
    return overflowFill(Atomics.load(this.#header, kOverflowWrite), this.#read, this.#capacity);
  }

  /** Records read or skipped so far (see {@link SlotReader.consumed}). */
  get consumed(): number {
    return this.#consumed;
  }

  /**
   * Hand the records from the read index up to `end` (a write index loaded by the caller) to `sink`, at
   * most about `budget` of them (a declaration is never split), then give their room back to the writer.
   * @returns the number of observation records handed over.
   */
  drain(sink: RecordSink, end: number, budget = Infinity): number {
    let r = this.#read;
    if (r === end) return 0;
    this.#mapGrown();
    const capacity = this.#capacity;
    // The read index came from the header when this reader was made: out of range, it is not the hub's
    // (a stray store before the slot was opened). Stepping from it would never meet `end`: start again
    // at the writer's index, or at 0 when that is out of range too, and say so.
    if (r >= 2 * capacity) {
      sink.corrupt(`an overflow read index ${r} that cannot be the hub's (capacity ${capacity})`);
      this.#read = end < 2 * capacity ? end : 0;
      // Release: gives the room back to the writer from a sane place.
      Atomics.store(this.#header, kOverflowRead, this.#read);
      return 0;
    }
    // `end` is a u32 loaded by the caller: out of range, more than the overflow holds, or past what the
    // writer grew, it is not the writer's. Skip to it (when in range, so the writer's next store is read
    // from a sane place), and say so.
    if (end >= 2 * capacity || overflowFill(end, r, capacity) > Math.min(capacity, this.#u8.length / kRecordBytes)) {
      sink.corrupt(`an overflow write index ${end} that cannot be the writer's (read index ${r}, capacity ${capacity})`);
      if (end < 2 * capacity) {
        this.#consumed += overflowFill(end, r, capacity);
        this.#read = end;
      }
      // Release: gives the skipped room back to the writer.
      Atomics.store(this.#header, kOverflowRead, this.#read);
      return 0;
    }
    const published = overflowFill(end, r, capacity);
    const stop = published > budget ? advanceOverflowIndex(r, Math.max(0, budget), capacity) : end;
    let observations = 0;
    while (r !== stop) {
      // The records from `r` to `stop` or to the overflow's last position, whichever comes first, lie side
      // by side: the sink takes them as one run, up to the first declaration.
      const position = overflowPosition(r, capacity);
      const stopPosition = overflowPosition(stop, capacity);
      const first = position * kRecordWords;
      const runEnd = (stopPosition > position ? stopPosition : capacity) * kRecordWords;
      const i = sink.observations(this.#u32, this.#f64, first, runEnd);
      const run = (i - first) / kRecordWords;
      observations += run;
      r = advanceOverflowIndex(r, run, capacity);
      if (i === runEnd) continue;
      // A declaration at `r`.
      const word0 = this.#u32[i] as number;
      const payloadBytes = this.#u32[i + 1] as number;
      const records = declarationRecords(payloadBytes);
      if (records > overflowFill(end, r, capacity)) {
        // A length that runs past what was published cannot be trusted to skip by: hand over an empty
        // payload and move on by one record.
        sink.declaration(word0, new Uint8Array(0));
        r = nextOverflowIndex(r, capacity);
        continue;
      }
      // Past the budget: the whole declaration waits for the next drain.
      if (records > overflowFill(stop, r, capacity)) break;
      sink.declaration(word0, this.#copyPayload(nextOverflowIndex(r, capacity), payloadBytes));
      r = advanceOverflowIndex(r, records, capacity);
    }
    this.#consumed += overflowFill(r, this.#read, capacity);
    this.#read = r;
    // Release: the writer may reuse every position before `r` once it sees this store.
    Atomics.store(this.#header, kOverflowRead, r);
    // Why notify: a writer whose overflow was full may sleep on this word for room (SlotWriter).
    Atomics.notify(this.#waitView, kOverflowRead);
    return observations;
  }

  /**
   * Skip everything published, unread (for a new owner, or a quarantined writer that goes on writing).
   * With `forNewOwner` (no thread writes the slot), a write index no writer could store is put back at
   * the read index: the next owner's writer starts from it, and the hub would take the difference for
   * records a live owner published.
   * @returns how many records were skipped: exactly those below the one write index loaded here.
   */
  skipAll(forNewOwner = false): number {
    // Acquire load of the writer's index: the records below it are the ones skipped and counted.
    const end = Atomics.load(this.#header, kOverflowWrite);
    const skipped = end < 2 * this.#capacity ? Math.min(this.#capacity, overflowFill(end, this.#read, this.#capacity)) : 0;
    if (end < 2 * this.#capacity) this.#read = end;
    else if (forNewOwner) Atomics.store(this.#header, kOverflowWrite, this.#read);
    this.#consumed += skipped;
    // Release: gives the room back; a new owner loads this index as its start.
    Atomics.store(this.#header, kOverflowRead, this.#read);
    // Why notify: a writer whose overflow was full may sleep on this word for room.
    Atomics.notify(this.#waitView, kOverflowRead);
    return skipped;
  }

  /** Make sure the views cover every position the writer has grown the buffer for. */
  #mapGrown(): void {
    const grownBytes = this.#data.byteLength - this.#base;
    if (grownBytes <= this.#u8.length) return;
    const records = Math.min(this.#capacity, Math.floor(grownBytes / kRecordBytes));
    this.#u32 = new Uint32Array(this.#data, this.#base, records * kRecordWords);
    this.#f64 = new Float64Array(this.#data, this.#base, records * 2);
    this.#u8 = new Uint8Array(this.#data, this.#base, records * kRecordBytes);
  }

  #copyPayload(first: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let copied = 0;
    let index = first;
    while (copied < length) {
      const byte = overflowPosition(index, this.#capacity) * kRecordBytes;
      const n = Math.min(kRecordBytes, length - copied);
      out.set(this.#u8.subarray(byte, byte + n), copied);
      copied += n;
      index = nextOverflowIndex(index, this.#capacity);
    }
    return out;
  }
}
