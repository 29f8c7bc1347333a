/**
 * The producer side of a slot's overflow: the shared region a worker writes to while its ring is full.
 *
 * The overflow lives in the slot's growable data buffer, behind the ring, so the hub can read it without
 * any help from the worker: a worker parked in `Atomics.wait`, busy in a long synchronous task, or
 * terminated right after its call returned leaves nothing behind that only it could move. The region is
 * grown as the writer first reaches it, so memory is used only by workers that overflow.
 * @module
 */
import { kOverflowGrowBytes, kOverflowRead, kOverflowWrite, kRecordBytes, kRecordWords } from "./layout.js";
import { advanceOverflowIndex, nextOverflowIndex, overflowFill, overflowPosition } from "./overflow-index.js";

/** Records the overflow's hot path writes between two looks at the hub, once the overflow is past its pressure mark. */
const kPressureStride = 1024;

/**
 * Write records into one slot's overflow. Used by exactly one thread: the worker that owns the slot.
 *
 * @example
 * const overflow = new OverflowWriter(header, data, layout.overflowDataByte, layout.overflowCapacity);
 * if (overflow.free() > 0 && overflow.writeRecord(word0, aux, value)) overflow.publish();
 * overflow.relimit(pressureFill, maxFill);
 * overflow.append(word0, aux, value); // false: go the long way
 */
export class OverflowWriter {
  readonly #header: Uint32Array;
  readonly #data: SharedArrayBuffer;
  readonly #base: number;
  readonly #capacity: number;
  #u32: Uint32Array;
  #f64: Float64Array;
  #u8: Uint8Array;
  /** Records of the overflow that exist in the data buffer (it grows up to the capacity). */
  #grown: number;
  /** Next write index; this thread is its only writer, so the local copy is always current. */
  #write: number;
  /** Last read index seen; may be stale (older), which only makes the overflow look fuller than it is. */
  #readSeen: number;
  /** Twice the capacity: where indices start again at 0. */
  readonly #wrap: number;
  /** The write index at which {@link append} stops; see {@link relimit}. */
  #appendLimit: number;

  /**
   * Open the overflow of a slot: `header` is the slot's ring header (both lines), `data` its data buffer,
   * whose bytes from `base` on hold up to `capacity` records.
   */
  constructor(header: Uint32Array, data: SharedArrayBuffer, base: number, capacity: number) {
    this.#header = header;
    this.#data = data;
    this.#base = base;
    this.#capacity = capacity;
    this.#grown = 0;
    this.#u32 = new Uint32Array(0);
    this.#f64 = new Float64Array(0);
    this.#u8 = new Uint8Array(0);
    this.#mapGrown();
    // The hub set both indices before the slot was handed out; acquire loads make sure we see its values.
    this.#write = Atomics.load(header, kOverflowWrite);
    this.#readSeen = Atomics.load(header, kOverflowRead);
    this.#wrap = 2 * capacity;
    // Nothing goes the fast way until the writer sets a limit.
    this.#appendLimit = this.#write;
  }

  /** Records the overflow holds, declarations included. */
  get capacity(): number {
    return this.#capacity;
  }

  /** The hub's read index as of the last {@link refreshRead}. */
  get readSeen(): number {
    return this.#readSeen;
  }

  /** Records written and not yet read by the hub, as of the last {@link refreshRead}. */
  fill(): number {
    return overflowFill(this.#write, this.#readSeen, this.#capacity);
  }

  /** Records that fit now, as of the last {@link refreshRead}. */
  free(): number {
    return this.#capacity - this.fill();
  }

  /**
   * Load the hub's read index.
   * @returns `true` when the hub has read everything written (the overflow is empty).
   */
  refreshRead(): boolean {
    // Acquire: once we see the reader's index, the reader is done with every record before it.
    this.#readSeen = Atomics.load(this.#header, kOverflowRead);
    return this.#readSeen === this.#write;
  }

  /**
   * Sleep until the hub's read index moves from `seen`, or `timeoutMs` passes. Only in worker threads:
   * the main thread must never wait for itself.
   */
  waitForRead(seen: number, timeoutMs: number): void {
    // Why Atomics.wait: the hub notifies this word each time a drain moves the overflow's read index, so
    // a worker whose overflow is full sleeps (leaving the core to the hub) instead of dropping.
    Atomics.wait(new Int32Array(this.#header.buffer, this.#header.byteOffset, this.#header.length), kOverflowRead, seen | 0, timeoutMs);
  }

  /**
   * Write one record at the write index without publishing it; the caller checked {@link free}.
   * @returns `false` when the data buffer could not grow (no memory): nothing was written.
   */
  writeRecord(word0: number, aux: number, value: number): boolean {
    const position = overflowPosition(this.#write, this.#capacity);
    if (position >= this.#grown && !this.#grow(position + 1)) return false;
    const i = position * kRecordWords;
    this.#u32[i] = word0;
    this.#u32[i + 1] = aux;
    this.#f64[(i >>> 1) + 1] = value;
    this.#write = nextOverflowIndex(this.#write, this.#capacity);
    return true;
  }

  /**
   * The overflow's hot path: one comparison with a cached limit, one plain load of the hub's read index,
   * three plain stores and one `Atomics.store`, as in the ring. Writes and publishes one record while the hub
   * has not read everything written (so the writer must stay here) and the write index has not reached
   * the limit set by {@link relimit}.
   * @returns `false` when nothing was written: the overflow was read empty, or the limit is reached (the
   * fill may have reached its pressure mark, or the buffer must grow). The caller then goes the long way.
   */
  append(word0: number, aux: number, value: number): boolean {
    const write = this.#write;
    // A plain load of the hub's read index, on purpose not Atomics.load (which Node 20's optimizing
    // compiler does not inline: a builtin call per record, measured as most of the overflow's extra cost).
    // It only decides whether to go the long way: equal to ours means the hub may have read everything,
    // and the long way confirms that with an acquire load before the writer goes back to its ring. A
    // stale value keeps the record here, which is always in order; room is never taken from it (that
    // comes from the acquire loads behind the limit). The hub stores it once per drain, so the line is
    // mostly cached.
    if (write === this.#appendLimit || this.#header[kOverflowRead] === write) return false;
    const i = (write >= this.#capacity ? write - this.#capacity : write) * kRecordWords;
    // `| 0`: the same bits in a Uint32Array, stored without a round trip through a double (see SlotWriter.record).
    this.#u32[i] = word0 | 0;
    this.#u32[i + 1] = aux | 0;
    this.#f64[(i >>> 1) + 1] = value;
    this.#write = write + 1 === this.#wrap ? 0 : write + 1;
    // Release: the record's stores above are visible to a reader that loads the new index.
    Atomics.store(this.#header, kOverflowWrite, this.#write);
    return true;
  }

  /**
   * Set the write index at which {@link append} stops: where the fill would reach `pressureFill` (the
   * writer wakes the hub there); past that mark, every {@link kPressureStride} records (the writer wakes
   * the hub again if it drained meanwhile) and at `maxFill`; and where the buffer must grow, whichever
   * comes first. The fill is as of the last read index seen, which may be stale: then it stops early,
   * never late.
   */
  relimit(pressureFill: number, maxFill: number): void {
    const fill = this.fill();
    const position = overflowPosition(this.#write, this.#capacity);
    // Positions up to the end of what is grown exist; a fully grown overflow wraps around to position 0.
    const grownRoom = this.#grown === this.#capacity ? this.#capacity : Math.max(0, this.#grown - position);
    const fillRoom = fill < pressureFill ? pressureFill - fill : Math.min(kPressureStride, maxFill - fill);
    const room = Math.max(0, Math.min(fillRoom, grownRoom));
    this.#appendLimit = advanceOverflowIndex(this.#write, room, this.#capacity);
  }

  /**
   * Write a declaration (a header record and its payload) without publishing it; the caller checked
   * {@link free}. It may wrap around the end of the overflow.
   * @returns `false` when the data buffer could not grow (no memory): nothing was written.
   */
  writeBlock(word0: number, payload: Uint8Array, records: number): boolean {
    const first = overflowPosition(this.#write, this.#capacity);
    const last = Math.min(first + records, this.#capacity);
    // A block that wraps continues at position 0, which exists already: the writer got past it before.
    if (last > this.#grown && !this.#grow(last)) return false;
    let index = this.#write;
    for (let k = 0; k < records; k++) {
      const byte = overflowPosition(index, this.#capacity) * kRecordBytes;
      this.#u8.fill(0, byte, byte + kRecordBytes);
      if (k === 0) {
        this.#u32[byte >>> 2] = word0;
        this.#u32[(byte >>> 2) + 1] = payload.length;
      } else {
        const offset = (k - 1) * kRecordBytes;
        this.#u8.set(payload.subarray(offset, offset + kRecordBytes), byte);
      }
      index = nextOverflowIndex(index, this.#capacity);
    }
    this.#write = advanceOverflowIndex(this.#write, records, this.#capacity);
    return true;
  }

  /** Make everything written so far visible to the hub. */
  publish(): void {
    // Release: records written before this store are visible to a reader that loads the new index.
    Atomics.store(this.#header, kOverflowWrite, this.#write);
  }

  /** Grow the data buffer so the overflow holds at least `records` records. */
  #grow(records: number): boolean {
    const target = Math.min(this.#capacity, Math.max(records, this.#grown * 2, kOverflowGrowBytes / kRecordBytes));
    const bytes = this.#base + target * kRecordBytes;
    try {
      // Growing is safe while the hub reads: a growable SharedArrayBuffer only grows, and the hub reads
      // only records below a published index, which this thread grew before publishing.
      if (this.#data.byteLength < bytes) this.#data.grow(bytes);
    } catch {
      return false;
    }
    this.#mapGrown();
    return this.#grown >= records;
  }

  /** Map fixed-length views over the grown part (fixed-length views keep element access fast). */
  #mapGrown(): void {
    const grown = Math.min(this.#capacity, Math.max(0, Math.floor((this.#data.byteLength - this.#base) / kRecordBytes)));
    // Nothing grown (the buffer may not even reach the overflow, behind the exemplar table): no views.
    if (grown === this.#grown && (this.#u32.length !== 0 || grown === 0)) return;
    this.#grown = grown;
    this.#u32 = new Uint32Array(this.#data, this.#base, grown * kRecordWords);
    this.#f64 = new Float64Array(this.#data, this.#base, grown * 2);
    this.#u8 = new Uint8Array(this.#data, this.#base, grown * kRecordBytes);
  }
}
