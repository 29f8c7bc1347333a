/**
 * The producer side of a slot: a single-producer, single-consumer ring, and behind it the slot's shared
 * overflow for when the ring is full.
 *
 * The hot path is {@link SlotWriter.record}: one comparison (has the write index reached the next point
 * where the writer must look at the reader?), three plain stores and one `Atomics.store`. When the ring is
 * full, records go to the overflow (see overflow-writer.ts), in order, and the writer returns to the ring
 * once the hub has read the overflow empty. Every record is in shared memory when its call returns, so the
 * hub never needs the worker to run again to read it. Only past the overflow's bound are observations
 * dropped, and each drop is counted in shared memory where the hub reads it.
 *
 * Declarations are never dropped: they are rare and every later observation depends on them. One that
 * finds ring and overflow both full (the overflow keeps room for declarations, so this takes a flood of
 * them) waits for the hub to make room, as a record does. Only where waiting is not allowed (the main
 * thread, `maxWaitMs` 0, a hub that makes no progress) does it stay in a short worker-local queue; until it
 * is written, observations are dropped and counted, so no record that depends on it is published before it.
 * @module
 */
import {
  kDoorbellWord,
  kDroppedFull,
  kLateDropsWord,
  kReadIndex,
  kRecordBytes,
  kRecordWords,
  kRingHeaderWords,
  kUnslottedDropsWord,
  kWriteIndex,
  overflowDataByte,
} from "./layout.js";
import { OverflowWriter } from "./overflow-writer.js";

/** Where a slot lives and how it behaves; built by the worker runtime from the hub handle. */
export interface SlotWriterOptions {
  /** The hub's control buffer, which holds the doorbell and the ring headers. */
  control: SharedArrayBuffer;
  /** Byte offset of this slot's ring header in the control buffer. */
  headerByte: number;
  /** The slot's data buffer: the ring from byte 0, the overflow behind it. Grown to hold the ring. */
  data: SharedArrayBuffer;
  /** Records in the ring; a power of two. */
  capacity: number;
  /** Records the overflow holds, declarations included. */
  overflowCapacity: number;
  /** Most records the overflow holds before observations are dropped (the rest is kept for declarations). */
  overflowLimit: number;
  /**
   * How long a record that meets a full overflow may wait for the hub to make room, in milliseconds of no
   * progress by the hub; 0 never waits (drops at once). Only worker threads may wait.
   */
  maxWaitMs?: number | undefined;
  /**
   * Test-only: called after bytes are written and before they are published, with where it happens: a
   * record written to the ring, a declaration, or a record written to the overflow.
   */
  beforePublish?: ((point: PublishPoint) => void) | undefined;
}

/** Where a test hook runs: see {@link SlotWriterOptions.beforePublish}. */
export type PublishPoint = "record" | "declare" | "overflow";

// The states of a writer over its thread's life. Only an attached writer has a ring; in every other state
// the limit equals the write index, so every record takes the slow path, which acts on the state.
/** Not connected to a hub yet: a record asks the thread to connect (see the constructor's `notConnected`). */
const kNotConnected = 0;
/** Writing its slot's ring and overflow. */
const kAttached = 1;
/** Connected, but every slot was taken: records are counted as dropped in the hub's control buffer. */
const kSlotless = 2;
/** The thread gave its slot back on its way out: records made later are counted as lost. */
const kExited = 3;

/** Placeholders for the views of a writer that has no slot (yet): every field keeps one type for life. */
const kNoBuffer = new SharedArrayBuffer(kRingHeaderWords * 4);

/**
 * Write records into one slot. Used by exactly one thread: the worker that owns the slot.
 *
 * One writer serves a thread for its whole life, so the call site of every metric sees one object of one
 * shape: before it connects (a record asks the thread to connect), attached to a slot, without a slot, and
 * after the thread gave its slot back. States other than attached sit behind the hot path's one
 * comparison: their limit is their write index, so their records take the slow path.
 *
 * @example
 * const writer = new SlotWriter({ control, headerByte, data, capacity: 65536, overflowCapacity, overflowLimit });
 * writer.record(packWord0(kOpAdd, seriesId), 0, 1);
 */
export class SlotWriter {
  #state = kNotConnected;
  /** Called by a record made before the thread connected: connects this writer (see {@link attach}) or throws. */
  readonly #notConnected: () => void;
  #header: Uint32Array;
  #control: Int32Array;
  /** The whole control buffer, for the drop counters of slotless and exited threads. */
  #controlWords: Uint32Array;
  #u32: Uint32Array;
  #f64: Float64Array;
  #u8: Uint8Array;
  #capacity = 0;
  #mask = 0;
  #highWater = 0;
  #overflowLimit = 0;
  #overflow: OverflowWriter;
  #beforePublish: ((point: PublishPoint) => void) | undefined = undefined;
  /** Next write index; this thread is its only writer, so the local copy is always current. */
  #write = 0;
  /** Last read index seen; may be stale (older), which only makes the ring look fuller than it is. */
  #readSeen = 0;
  /**
   * The write index at which the next record must take the slow path: where the ring passes half full
   * (wake the hub), where it would be full, or the write index itself while every record takes the slow
   * path. The hot path compares against it and nothing else. Kept by {@link #relimit}.
   */
  #limit = 0;
  /** Whether records go to the overflow: it holds records the hub has not read yet, as far as we know. */
  #inOverflow = false;
  /**
   * 1 when a record at the limit tries the overflow's hot path first ({@link OverflowWriter.append}): in
   * the overflow, no declaration waiting, no test hook; else 0. Kept by {@link #relimit}. A number, not a
   * boolean: the optimizing compiler tests a small integer with one comparison, a boolean field as any
   * value (false, empty string, number, ...).
   */
  #overflowFast = 0;
  #doorbellRung = false;
  /** Overflow fill from which a record wakes the hub again (once per drain it sees). */
  #overflowHighWater = 1;
  /** The overflow read index when the doorbell last rang for overflow pressure. */
  #overflowReadRung = -1;
  #dropped = 0;
  #maxWaitMs = 0;
  /** Milliseconds this writer may still wait before the hub makes progress; refilled by progress. */
  #waitLeftMs = 0;
  /** Declarations that found ring and overflow full, in order; written before anything else. */
  #waiting: Array<{ word0: number; payload: Uint8Array }> = [];

  /**
   * Open the slot described by `options`, continuing from the indices stored in its header; without
   * `options`, a writer not connected yet, whose first record calls `notConnected` (which connects it
   * with {@link attach}, or throws).
   */
  constructor(options?: SlotWriterOptions, notConnected: () => void = () => {}) {
    this.#notConnected = notConnected;
    this.#header = new Uint32Array(kNoBuffer);
    this.#control = new Int32Array(kNoBuffer);
    this.#controlWords = new Uint32Array(kNoBuffer);
    this.#u32 = new Uint32Array(kNoBuffer, 0, 0);
    this.#f64 = new Float64Array(kNoBuffer, 0, 0);
    this.#u8 = new Uint8Array(kNoBuffer, 0, 0);
    this.#overflow = new OverflowWriter(this.#header, kNoBuffer, kNoBuffer.byteLength, 0);
    if (options !== undefined) this.attach(options);
  }

  /** Write into the slot described by `options` from now on (a writer that was not connected yet). */
  attach(options: SlotWriterOptions): void {
    const { control, headerByte, data, capacity } = options;
    this.#header = new Uint32Array(control, headerByte, kRingHeaderWords);
    this.#control = new Int32Array(control, 0, kDoorbellWord + 1);
    this.#controlWords = new Uint32Array(control);
    // Fixed-length views over the ring: element access on them is as fast as on any SharedArrayBuffer.
    this.#u32 = new Uint32Array(data, 0, capacity * kRecordWords);
    this.#f64 = new Float64Array(data, 0, capacity * 2);
    this.#u8 = new Uint8Array(data, 0, capacity * kRecordBytes);
    this.#capacity = capacity;
    this.#mask = capacity - 1;
    this.#highWater = capacity >>> 1;
    this.#overflowLimit = Math.min(options.overflowLimit, options.overflowCapacity);
    this.#overflowHighWater = Math.max(1, this.#overflowLimit >>> 1);
    this.#maxWaitMs = options.maxWaitMs ?? 0;
    this.#waitLeftMs = this.#maxWaitMs;
    this.#overflow = new OverflowWriter(this.#header, data, overflowDataByte(capacity), options.overflowCapacity);
    // With the test hook every record takes the slow path (see #slow), which calls it.
    this.#beforePublish = options.beforePublish;
    // The hub set both indices before the slot was handed out; acquire loads make sure we see its values.
    this.#write = Atomics.load(this.#header, kWriteIndex);
    this.#readSeen = Atomics.load(this.#header, kReadIndex);
    // The running drop count continues from the header too (the hub resets it to 0 for each new owner).
    this.#dropped = Atomics.load(this.#header, kDroppedFull);
    this.#state = kAttached;
    // The hub hands a slot out with an empty overflow; a fresh start is in the ring.
    this.#relimit();
  }

  /**
   * The thread is connected to the hub whose control buffer is `control`, but got no slot: from now on
   * every record is counted there as dropped, and written nowhere.
   */
  attachSlotless(control: SharedArrayBuffer): void {
    this.#controlWords = new Uint32Array(control);
    this.#state = kSlotless;
    this.#relimit();
  }

  /**
   * The thread gave its slot back (it is exiting): from now on every record is counted as lost in the
   * control buffer, and written nowhere; the slot may belong to another thread already.
   */
  detach(): void {
    this.#state = kExited;
    this.#waiting = [];
    this.#relimit();
  }

  /** Observation records dropped so far because ring and overflow were full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Declarations waiting in this thread because ring and overflow were full. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Append one record. Never blocks and never throws: a full ring goes on in the overflow, a full overflow
   * drops (counted). Records stay in call order. When it returns, the record is where the hub reads it.
   */
  record(word0: number, aux: number, value: number): void {
    const w = this.#write;
    // The one test of the hot path: the ring passes half full, would be full, or the overflow is in use.
    if (w === this.#limit) {
      // In the overflow, its own hot path: a comparison with its own limit, a load and four stores.
      if (this.#overflowFast === 0 || !this.#overflow.append(word0, aux, value)) this.#recordSlow(word0, aux, value);
      return;
    }
    const i = (w & this.#mask) * kRecordWords;
    // `| 0`: a Uint32Array stores the same bits for a number and its int32 (both are taken modulo 2^32),
    // and an int32 is stored as it is, where a tagged number is converted to a double and back first.
    this.#u32[i] = word0 | 0;
    this.#u32[i + 1] = aux | 0;
    this.#f64[(i >>> 1) + 1] = value;
    this.#write = (w + 1) >>> 0;
    // Publish: Atomics.store is sequentially consistent, so the three plain stores above are visible to
    // the reader before it can observe the new write index.
    Atomics.store(this.#header, kWriteIndex, this.#write);
  }

  /**
   * Append a declaration: a header record followed by `payload` bytes. Never dropped: when ring and
   * overflow are full it waits for room as a record does, and where it may not wait, in this thread.
   */
  declare(word0: number, payload: Uint8Array): void {
    this.#waiting.push({ word0, payload });
    this.flush();
  }

  /**
   * Write declarations that are waiting for room, waiting for the hub (as a record does) where allowed and
   * `mayWait` (a thread on its way out does not wait).
   * @returns `true` when nothing waits in this thread any more.
   */
  flush(mayWait = true): boolean {
    while (this.#waiting.length !== 0) {
      const first = this.#waiting[0] as { word0: number; payload: Uint8Array };
      const records = 1 + Math.ceil(first.payload.length / kRecordBytes);
      // It cannot fit only while the overflow is in use (an empty overflow holds the largest declaration):
      // wait for the hub to read enough of it.
      while (!this.#placeBlock(first.word0, first.payload, records)) {
        if (mayWait && this.#waitForRoom(this.#overflow.capacity - records)) continue;
        this.#relimit();
        this.#ringDoorbell();
        return false;
      }
      this.#waiting.shift();
    }
    this.#relimit();
    return true;
  }

  /** Whether every record must take the slow path: the overflow is in use, a declaration waits, or a test hook runs. */
  get #slow(): boolean {
    return this.#inOverflow || this.#waiting.length !== 0 || this.#beforePublish !== undefined;
  }

  /**
   * Set the write index at which the hot path must stop next. Every change of the write index, the read
   * index seen or the slow flag outside the hot path ends here.
   */
  #relimit(): void {
    this.#overflowFast = this.#state === kAttached && this.#inOverflow && this.#waiting.length === 0 && this.#beforePublish === undefined ? 1 : 0;
    // The overflow's hot path stops where its fill reaches the mark at which the hub is woken, past it now
    // and then to wake the hub again, and at the bound.
    if (this.#overflowFast === 1) this.#overflow.relimit(this.#overflowHighWater, this.#overflowLimit);
    if (this.#state !== kAttached || this.#slow) {
      // Every record takes the slow path: the write index stays put while records go to the overflow.
      this.#limit = this.#write;
      return;
    }
    const fill = (this.#write - this.#readSeen) >>> 0;
    // Below half full, stop where the ring passes half full (to wake the hub); past it, where it is full.
    this.#limit = (this.#readSeen + (fill < this.#highWater ? this.#highWater : this.#capacity)) >>> 0;
  }

  #recordSlow(word0: number, aux: number, value: number): void {
    if (this.#state !== kAttached) {
      this.#recordUnattached(word0, aux, value);
      return;
    }
    if (this.#waiting.length !== 0 && !this.flush()) {
      // A declaration waits for room, and this record may depend on it: it cannot be published first.
      this.#drop();
      return;
    }
    if (!this.#useOverflow()) {
      this.#refreshRead();
      if (this.#free() > 0) {
        const i = (this.#write & this.#mask) * kRecordWords;
        this.#u32[i] = word0;
        this.#u32[i + 1] = aux;
        this.#f64[(i >>> 1) + 1] = value;
        this.#write = (this.#write + 1) >>> 0;
        this.#beforePublish?.("record");
        this.#publish();
        if (((this.#write - this.#readSeen) >>> 0) >= this.#highWater) this.#ringDoorbell();
        this.#relimit();
        return;
      }
    }
    // The ring is full, or the overflow holds records the hub has not read: keep the order, overflow.
    const overflow = this.#overflow;
    if (overflow.fill() >= this.#overflowLimit) {
      this.#overflowPressure();
      // With no room for observations in the overflow (overflowLimit 0) there is nothing to wait for.
      if (overflow.fill() >= this.#overflowLimit && (this.#overflowLimit === 0 || !this.#waitForRoom(this.#overflowLimit - 1))) {
        this.#drop();
        return;
      }
    }
    if (!overflow.writeRecord(word0, aux, value)) {
      this.#drop();
      return;
    }
    this.#beforePublish?.("overflow");
    overflow.publish();
    if (!this.#inOverflow) this.#enterOverflow();
    // A new limit for the overflow's hot path, from the read index this path loaded.
    else this.#relimit();
  }

  /** A record of a writer without a slot: connect first, or count it where the hub reads it. */
  #recordUnattached(word0: number, aux: number, value: number): void {
    switch (this.#state) {
      case kNotConnected:
        // First record of a thread that has not connected yet: the thread connects (or throws).
        this.#notConnected();
        if (this.#state !== kNotConnected) this.record(word0, aux, value);
        return;
      case kSlotless:
        // Why Atomics.add: every slotless worker of the hub counts into this one word.
        Atomics.add(this.#controlWords, kUnslottedDropsWord, 1);
        return;
      default:
        // Why Atomics.add: every exiting thread of the hub counts into this one word.
        Atomics.add(this.#controlWords, kLateDropsWord, 1);
    }
  }

  /**
   * Ring and overflow are full: wait until the overflow holds at most `maxFill` records, as long as the hub
   * keeps making progress and at most `maxWaitMs` without any. A hub that is blocked costs a worker
   * `maxWaitMs` once; then records are dropped (counted) without waiting until the hub moves again.
   * @returns `true` when there is room now.
   */
  #waitForRoom(maxFill: number): boolean {
    const overflow = this.#overflow;
    while (this.#waitLeftMs > 0) {
      const seen = overflow.readSeen;
      // Acquire load of the ring's read index: the hub reads the ring before the overflow it spilled to, so
      // while it drains the ring the overflow's index stands still, and the hub is making progress all the
      // same. Stale by the time it is compared, which only delays the wait's restart.
      const ringSeen = Atomics.load(this.#header, kReadIndex);
      const started = performance.now();
      overflow.waitForRead(seen, this.#waitLeftMs);
      this.#waitLeftMs -= performance.now() - started;
      overflow.refreshRead();
      if (overflow.readSeen !== seen) {
        this.#waitLeftMs = this.#maxWaitMs;
        if (overflow.fill() <= maxFill) return true;
        this.#doorbellRung = false;
        this.#ringDoorbell();
      } else if (Atomics.load(this.#header, kReadIndex) !== ringSeen) {
        // The hub moved through the ring: not a stalled hub. The wait starts over.
        this.#waitLeftMs = this.#maxWaitMs;
      }
    }
    return false;
  }

  /** The overflow is filling: wake the hub again if it drained since we last rang. */
  #overflowPressure(): void {
    const overflow = this.#overflow;
    if (overflow.refreshRead() || overflow.readSeen !== this.#overflowReadRung) {
      this.#doorbellRung = false;
      // The hub moved: a writer that stopped waiting for a stalled hub may wait again.
      this.#waitLeftMs = this.#maxWaitMs;
    }
    if (overflow.fill() < this.#overflowHighWater) return;
    this.#overflowReadRung = overflow.readSeen;
    this.#ringDoorbell();
  }

  /**
   * Whether records must go to the overflow now: it was in use and the hub has not read it empty yet.
   * Leaves the overflow (back to the ring) once the hub has read everything in it.
   */
  #useOverflow(): boolean {
    if (!this.#inOverflow) return false;
    // One load of the hub's overflow read index per record. It must be every record: a writer that looked
    // only now and then would, after a pause in which the hub read everything, look again mid-burst, find
    // unread records, and stay in the overflow for good (measured: every later record took this path).
    // The load is cheap: the hub stores the index once per drain, so the line is almost always cached.
    if (!this.#overflow.refreshRead()) {
      if (this.#overflow.fill() >= this.#overflowHighWater) this.#overflowPressure();
      return true;
    }
    // Every overflow record is read, so the hub has also read every ring record made before them: the
    // ring is ours again, and a record written there now is read after all of them.
    this.#inOverflow = false;
    this.#doorbellRung = false;
    this.#relimit();
    return false;
  }

  #enterOverflow(): void {
    this.#inOverflow = true;
    this.#doorbellRung = false;
    this.#relimit();
    this.#ringDoorbell();
  }

  /** Write a declaration of `records` records where order allows: the ring, or the overflow. `false` when neither has room. */
  #placeBlock(word0: number, payload: Uint8Array, records: number): boolean {
    if (!this.#useOverflow()) {
      this.#refreshRead();
      if (this.#free() >= records) {
        this.#writeBlock(word0, payload);
        this.#beforePublish?.("declare");
        this.#publish();
        if (((this.#write - this.#readSeen) >>> 0) >= this.#highWater) this.#ringDoorbell();
        this.#relimit();
        return true;
      }
    }
    const overflow = this.#overflow;
    if (overflow.free() < records) overflow.refreshRead();
    if (overflow.free() < records || !overflow.writeBlock(word0, payload, records)) return false;
    this.#beforePublish?.("declare");
    overflow.publish();
    if (!this.#inOverflow) this.#enterOverflow();
    else this.#ringDoorbell();
    return true;
  }

  #drop(): void {
    this.#dropped++;
    // Why a store: the hub reads the running drop count at each drain; this thread is its only writer.
    Atomics.store(this.#header, kDroppedFull, this.#dropped);
    this.#ringDoorbell();
  }

  #refreshRead(): void {
    // Acquire: once we see the reader's index, the reader is done with every record before it.
    this.#readSeen = Atomics.load(this.#header, kReadIndex);
    if (!this.#inOverflow && ((this.#write - this.#readSeen) >>> 0) < this.#highWater) this.#doorbellRung = false;
  }

  #free(): number {
    return this.#capacity - ((this.#write - this.#readSeen) >>> 0);
  }

  #publish(): void {
    // Release: records written before this store are visible to a reader that loads the new index.
    Atomics.store(this.#header, kWriteIndex, this.#write);
  }

  #ringDoorbell(): void {
    if (this.#doorbellRung) return;
    this.#doorbellRung = true;
    // Why add then notify: the hub waits (Atomics.waitAsync) for the doorbell word to change; the add
    // changes it, the notify wakes the waiter. Once per high-water crossing or overflow episode.
    Atomics.add(this.#control, kDoorbellWord, 1);
    Atomics.notify(this.#control, kDoorbellWord);
  }

  #writeBlock(word0: number, payload: Uint8Array): void {
    const first = this.#write;
    const i = (first & this.#mask) * kRecordWords;
    this.#u32[i] = word0;
    this.#u32[i + 1] = payload.length;
    this.#f64[(i >>> 1) + 1] = 0;
    let record = (first + 1) >>> 0;
    for (let offset = 0; offset < payload.length; offset += kRecordBytes) {
      const byte = (record & this.#mask) * kRecordBytes;
      this.#u8.fill(0, byte, byte + kRecordBytes);
      this.#u8.set(payload.subarray(offset, offset + kRecordBytes), byte);
      record = (record + 1) >>> 0;
    }
    this.#write = record;
  }
}
