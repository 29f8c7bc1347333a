/**
 * The producer side of a single-producer, single-consumer ring, with a bounded worker-local spill buffer.
 *
 * The hot path is {@link RingWriter.record}: three plain stores and one `Atomics.store`. When the ring is
 * full, records go to the spill buffer, in order, and move to the ring as room returns; only past the spill
 * bound are observations dropped, and each drop is counted in shared memory where the hub reads it.
 * Declarations are never dropped: they are rare and every later observation depends on them.
 * @module
 */
import {
  kDoorbellWord,
  kDroppedFull,
  kReadIndex,
  kRecordBytes,
  kRecordWords,
  kSpilledTotal,
  kWriteIndex,
} from "./layout.js";
import { SPILLED_FLAG } from "./protocol.js";

/** Where a ring lives and how it behaves; built by the worker runtime from the hub handle. */
export interface RingWriterOptions {
  /** The hub's SharedArrayBuffer. */
  buffer: SharedArrayBuffer;
  /** Byte offset of this ring's header. */
  headerByte: number;
  /** Byte offset of this ring's data. */
  dataByte: number;
  /** Records in the ring; a power of two. */
  capacity: number;
  /** Most observation records the spill buffer holds before it drops. */
  spillLimit: number;
  /**
   * Test-only: called after bytes are written and before they are published, with where it happens: a
   * record written straight to the ring, a declaration, or a batch of spilled records moved by a flush.
   */
  beforePublish?: ((point: PublishPoint) => void) | undefined;
  /** Test-only: called right after a flush has published a batch of spilled records. */
  afterFlush?: (() => void) | undefined;
}

/** Where a test hook runs: see {@link RingWriterOptions.beforePublish}. */
export type PublishPoint = "record" | "declare" | "flush";

const kInitialSpillRecords = 1024;

/**
 * Write records into one ring. Used by exactly one thread: the worker that owns the ring.
 *
 * @example
 * const writer = new RingWriter({ buffer, headerByte, dataByte, capacity: 65536, spillLimit: 1 << 20 });
 * writer.record(packWord0(OP_ADD, seriesId), 0, 1);
 */
export class RingWriter {
  readonly #header: Uint32Array;
  readonly #control: Int32Array;
  readonly #u32: Uint32Array;
  readonly #f64: Float64Array;
  readonly #u8: Uint8Array;
  readonly #capacity: number;
  readonly #mask: number;
  readonly #highWater: number;
  readonly #spillLimit: number;
  readonly #beforePublish: ((point: PublishPoint) => void) | undefined;
  readonly #afterFlush: (() => void) | undefined;
  /** Next write index; this thread is its only writer, so the local copy is always current. */
  #write: number;
  /** Last read index seen; may be stale (older), which only makes the ring look fuller than it is. */
  #readSeen: number;
  #doorbellRung = false;
  #dropped: number;
  /** Observation records ever put in the spill buffer (u32, wrapping); mirrored in the header. */
  #spilledTotal: number;
  // Spill queue: records [#spillHead, #spillTail) of the spill arrays, in the ring's record format.
  #spillU32 = new Uint32Array(0);
  #spillF64 = new Float64Array(0);
  #spillU8 = new Uint8Array(0);
  #spillHead = 0;
  #spillTail = 0;
  #spillObservations = 0;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;

  /** Open the ring described by `options`, continuing from the indices stored in its header. */
  constructor(options: RingWriterOptions) {
    const { buffer, headerByte, dataByte, capacity } = options;
    this.#header = new Uint32Array(buffer, headerByte, kReadIndex + 1);
    this.#control = new Int32Array(buffer, 0, kDoorbellWord + 1);
    this.#u32 = new Uint32Array(buffer, dataByte, capacity * kRecordWords);
    this.#f64 = new Float64Array(buffer, dataByte, capacity * 2);
    this.#u8 = new Uint8Array(buffer, dataByte, capacity * kRecordBytes);
    this.#capacity = capacity;
    this.#mask = capacity - 1;
    this.#highWater = capacity >>> 1;
    this.#spillLimit = options.spillLimit;
    this.#beforePublish = options.beforePublish;
    this.#afterFlush = options.afterFlush;
    // The hub set both indices before the slot was handed out; acquire loads make sure we see its values.
    this.#write = Atomics.load(this.#header, kWriteIndex);
    this.#readSeen = Atomics.load(this.#header, kReadIndex);
    // The running counts continue from the header too (the hub resets them to 0 for each new owner).
    this.#dropped = Atomics.load(this.#header, kDroppedFull);
    this.#spilledTotal = Atomics.load(this.#header, kSpilledTotal);
    // Chosen at setup, not per call: with the test hook every record takes the slow path, which calls it.
    if (this.#beforePublish !== undefined) this.record = (w0, aux, value) => this.#recordSlow(w0, aux, value);
  }

  /** Observation records waiting in the spill buffer. */
  get spilled(): number {
    return this.#spillObservations;
  }

  /** Observation records dropped so far because ring and spill buffer were full. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Append one record. Never blocks and never throws: a full ring spills, a full spill buffer drops
   * (counted). Records stay in call order.
   */
  record(word0: number, aux: number, value: number): void {
    const w = this.#write;
    if (this.#spillTail !== 0 || ((w - this.#readSeen) >>> 0) >= this.#highWater) {
      this.#recordSlow(word0, aux, value);
      return;
    }
    const i = (w & this.#mask) * kRecordWords;
    this.#u32[i] = word0;
    this.#u32[i + 1] = aux;
    this.#f64[(i >>> 1) + 1] = value;
    this.#write = (w + 1) >>> 0;
    // Publish: Atomics.store is sequentially consistent, so the three plain stores above are visible to
    // the reader before it can observe the new write index.
    Atomics.store(this.#header, kWriteIndex, this.#write);
  }

  /** Append a declaration: a header record followed by `payload` bytes. Never dropped. */
  declare(word0: number, payload: Uint8Array): void {
    const records = 1 + Math.ceil(payload.length / kRecordBytes);
    this.#refreshRead();
    if (this.#spillTail !== 0) this.flush();
    if (this.#spillTail === 0 && this.#free() >= records) {
      this.#writeBlock(word0, payload);
      this.#beforePublish?.("declare");
      this.#publish();
      return;
    }
    this.#spillBlock(word0, payload, records);
  }

  /**
   * Move spilled records into the ring as far as room allows.
   * @returns `true` when the spill buffer is empty afterwards.
   */
  flush(): boolean {
    if (this.#spillTail === 0) return true;
    this.#refreshRead();
    const n = Math.min(this.#free(), this.#spillTail - this.#spillHead);
    if (n > 0) {
      let observations = 0;
      for (let k = 0; k < n; k++) {
        if (((this.#spillU32[(this.#spillHead + k) * kRecordWords] as number) & SPILLED_FLAG) !== 0) observations++;
      }
      this.#copyIntoRing(this.#spillHead, n);
      this.#spillHead += n;
      this.#spillObservations -= observations;
      if (this.#spillHead === this.#spillTail) {
        this.#spillHead = 0;
        this.#spillTail = 0;
      }
      this.#beforePublish?.("flush");
      // One store moves the batch from "spilled" to "published": the hub tells the two apart by the
      // SPILLED_FLAG on each record it reads, so no second store (which death could skip) is needed.
      this.#publish();
      this.#afterFlush?.();
    }
    if (this.#spillTail !== 0) this.#ringDoorbell();
    return this.#spillTail === 0;
  }

  /**
   * Flush, waiting up to `timeoutMs` for the hub to make room. Only for a worker's last moments
   * (`process.on('exit')`), where waiting is allowed and anything left behind is lost.
   */
  flushBeforeExit(timeoutMs: number): void {
    const deadline = Date.now() + timeoutMs;
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    while (!this.flush() && Date.now() < deadline) {
      // Why Atomics.wait: a plain sleep on a private cell while the main thread drains our ring.
      Atomics.wait(sleeper, 0, 0, 2);
    }
  }

  /** Stop the background flush timer (the worker is shutting down). */
  stop(): void {
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
  }

  #recordSlow(word0: number, aux: number, value: number): void {
    this.#refreshRead();
    if (this.#spillTail !== 0) this.flush();
    if (this.#spillTail === 0 && this.#free() > 0) {
      const i = (this.#write & this.#mask) * kRecordWords;
      this.#u32[i] = word0;
      this.#u32[i + 1] = aux;
      this.#f64[(i >>> 1) + 1] = value;
      this.#write = (this.#write + 1) >>> 0;
      this.#beforePublish?.("record");
      this.#publish();
      if (((this.#write - this.#readSeen) >>> 0) >= this.#highWater) this.#ringDoorbell();
      return;
    }
    if (this.#spillObservations >= this.#spillLimit) {
      this.#dropped++;
      // Why a store: the hub reads the running drop count at each drain; this thread is its only writer.
      Atomics.store(this.#header, kDroppedFull, this.#dropped);
      return;
    }
    const k = this.#spillReserve(1);
    this.#spillU32[k * kRecordWords] = (word0 | SPILLED_FLAG) >>> 0;
    this.#spillU32[k * kRecordWords + 1] = aux;
    this.#spillF64[k * 2 + 1] = value;
    this.#spillObservations++;
    this.#spilledTotal = (this.#spilledTotal + 1) >>> 0;
    // Why a store: if this worker dies before the record reaches the ring, the hub counts it as lost
    // (spilled total minus the flagged records it read). Stored before the call returns.
    Atomics.store(this.#header, kSpilledTotal, this.#spilledTotal);
    this.#ringDoorbell();
    this.#scheduleFlush();
  }

  #refreshRead(): void {
    // Acquire: once we see the reader's index, the reader is done with every record before it.
    this.#readSeen = Atomics.load(this.#header, kReadIndex);
    if (((this.#write - this.#readSeen) >>> 0) < this.#highWater) this.#doorbellRung = false;
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
    // changes it, the notify wakes the waiter. One ring per high-water crossing, not per record.
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

  #copyIntoRing(from: number, n: number): void {
    let done = 0;
    while (done < n) {
      const slot = (this.#write + done) & this.#mask;
      const run = Math.min(n - done, this.#capacity - slot);
      const src = (from + done) * kRecordBytes;
      this.#u8.set(this.#spillU8.subarray(src, src + run * kRecordBytes), slot * kRecordBytes);
      done += run;
    }
    this.#write = (this.#write + n) >>> 0;
  }

  #spillBlock(word0: number, payload: Uint8Array, records: number): void {
    const k = this.#spillReserve(records);
    this.#spillU32[k * kRecordWords] = word0;
    this.#spillU32[k * kRecordWords + 1] = payload.length;
    this.#spillF64[k * 2 + 1] = 0;
    this.#spillU8.fill(0, (k + 1) * kRecordBytes, (k + records) * kRecordBytes);
    this.#spillU8.set(payload, (k + 1) * kRecordBytes);
    this.#ringDoorbell();
    this.#scheduleFlush();
  }

  /** Make room for `n` records at the spill tail and return the index of the first. */
  #spillReserve(n: number): number {
    const capacity = this.#spillU32.length / kRecordWords;
    if (this.#spillTail + n > capacity) {
      const live = this.#spillTail - this.#spillHead;
      let size = Math.max(kInitialSpillRecords, capacity);
      while (size < live + n) size *= 2;
      if (size > capacity) {
        const bytes = new Uint8Array(size * kRecordBytes);
        bytes.set(this.#spillU8.subarray(this.#spillHead * kRecordBytes, this.#spillTail * kRecordBytes));
        this.#spillU8 = bytes;
        this.#spillU32 = new Uint32Array(bytes.buffer);
        this.#spillF64 = new Float64Array(bytes.buffer);
      } else {
        // Room enough once the flushed head is gone: move the live records down in place. (A new buffer
        // here would make garbage at the rate records spill, which under overload is hundreds of MiB/s.)
        this.#spillU8.copyWithin(0, this.#spillHead * kRecordBytes, this.#spillTail * kRecordBytes);
      }
      this.#spillTail = live;
      this.#spillHead = 0;
    }
    const k = this.#spillTail;
    this.#spillTail += n;
    return k;
  }

  #scheduleFlush(): void {
    if (this.#flushTimer !== undefined) return;
    const tick = (): void => {
      this.#flushTimer = undefined;
      if (!this.flush()) this.#scheduleFlush();
    };
    // Unref'd: a pending flush must not keep an otherwise finished worker alive; exit flushes anyway.
    this.#flushTimer = setTimeout(tick, 1);
    this.#flushTimer.unref?.();
  }
}
