// "Before" of the core benchmark: the record path of version 0.1's ring writer (src/shared/transport/slot-writer.ts
// at 0.1.0), kept here so `npm run bench` can show the hot path before and after the shared overflow.
//
// In 0.1 a record that met a ring past half full took a slow path that, when the ring was full, put it in
// a worker-local spill buffer (a plain, growable ArrayBuffer) and scheduled a timer to copy the spill into
// the ring later. That is what lost records in a parked or terminated worker; this version writes them to
// a shared overflow instead. Only the observation path is here (no declarations, no test hooks). It writes
// into a floor ring (bench/lib/floor-ring.js), whose header has 0.1's shape: the write index, the drop count
// and the spilled total on the writer's cache line, the read index on the reader's, the doorbell on a
// third; the floor's reader drains it.

const kWrite = 0;
const kDropped = 1;
const kSpilledTotal = 2;
const kRead = 16;
const kDoorbell = 32;
const kRecordBytes = 16;
const kRecordWords = 4;
const kInitialSpillRecords = 1024;
/** 0.1 marked a spilled observation in its word 0, so the hub could tell moved records from lost ones. */
const SPILLED_FLAG = 0x80;

/** Version 0.1's writer over a floor ring. One thread only. */
export class V01Writer {
  #header;
  #doorbell;
  #u32;
  #f64;
  #u8;
  #capacity;
  #mask;
  #highWater;
  #spillLimit;
  #write;
  #readSeen;
  #doorbellRung = false;
  #dropped = 0;
  #spilledTotal = 0;
  #spillU32 = new Uint32Array(0);
  #spillF64 = new Float64Array(0);
  #spillU8 = new Uint8Array(0);
  #spillHead = 0;
  #spillTail = 0;
  #spillObservations = 0;
  #flushTimer;

  /**
   * @param {{ header: SharedArrayBuffer, data: SharedArrayBuffer, capacity: number }} floor a floor ring's memory
   * @param {number} spillLimit observations the spill buffer holds (0.1's default `spillRecords`: 2^20)
   */
  constructor({ header, data, capacity }, spillLimit = 1 << 20) {
    this.#header = new Uint32Array(header);
    this.#doorbell = new Int32Array(header);
    this.#u32 = new Uint32Array(data);
    this.#f64 = new Float64Array(data);
    this.#u8 = new Uint8Array(data);
    this.#capacity = capacity;
    this.#mask = capacity - 1;
    this.#highWater = capacity >>> 1;
    this.#spillLimit = spillLimit;
    // Why loads: the reader may have run before this writer existed; start from what it published.
    this.#write = Atomics.load(this.#header, kWrite);
    this.#readSeen = Atomics.load(this.#header, kRead);
  }

  /** Observations dropped because ring and spill buffer were full. */
  get dropped() {
    return this.#dropped;
  }

  /** 0.1's hot path: one test (spill non-empty, or the ring past half full), three stores, one publish. */
  record(word0, aux, value) {
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
    // Why a sequentially consistent store: the three plain stores above are visible before the new index.
    Atomics.store(this.#header, kWrite, this.#write);
  }

  /** Copy spilled records into the ring as far as room allows; `true` when the spill is empty. */
  flush() {
    if (this.#spillTail === 0) return true;
    this.#refreshRead();
    const n = Math.min(this.#free(), this.#spillTail - this.#spillHead);
    if (n > 0) {
      let observations = 0;
      for (let k = 0; k < n; k++) if ((this.#spillU32[(this.#spillHead + k) * kRecordWords] & SPILLED_FLAG) !== 0) observations++;
      this.#copyIntoRing(this.#spillHead, n);
      this.#spillHead += n;
      this.#spillObservations -= observations;
      if (this.#spillHead === this.#spillTail) {
        this.#spillHead = 0;
        this.#spillTail = 0;
      }
      // Why a store: one release publishes the whole batch.
      Atomics.store(this.#header, kWrite, this.#write);
    }
    if (this.#spillTail !== 0) this.#ringDoorbell();
    return this.#spillTail === 0;
  }

  /** Stop the flush timer. */
  stop() {
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
  }

  #recordSlow(word0, aux, value) {
    this.#refreshRead();
    if (this.#spillTail !== 0) this.flush();
    if (this.#spillTail === 0 && this.#free() > 0) {
      const i = (this.#write & this.#mask) * kRecordWords;
      this.#u32[i] = word0;
      this.#u32[i + 1] = aux;
      this.#f64[(i >>> 1) + 1] = value;
      this.#write = (this.#write + 1) >>> 0;
      // Why a store: publish the record, as on the hot path.
      Atomics.store(this.#header, kWrite, this.#write);
      if (((this.#write - this.#readSeen) >>> 0) >= this.#highWater) this.#ringDoorbell();
      return;
    }
    if (this.#spillObservations >= this.#spillLimit) {
      this.#dropped++;
      // Why a store: the reader reads the running drop count; this thread is its only writer.
      Atomics.store(this.#header, kDropped, this.#dropped);
      return;
    }
    const k = this.#spillReserve(1);
    this.#spillU32[k * kRecordWords] = (word0 | SPILLED_FLAG) >>> 0;
    this.#spillU32[k * kRecordWords + 1] = aux;
    this.#spillF64[k * 2 + 1] = value;
    this.#spillObservations++;
    this.#spilledTotal = (this.#spilledTotal + 1) >>> 0;
    // Why a store: 0.1's hub counted spilled records that never arrived as lost, from this total.
    Atomics.store(this.#header, kSpilledTotal, this.#spilledTotal);
    this.#ringDoorbell();
    this.#scheduleFlush();
  }

  #refreshRead() {
    // Why a load: once the reader's index is seen, every record before it has been read.
    this.#readSeen = Atomics.load(this.#header, kRead);
    if (((this.#write - this.#readSeen) >>> 0) < this.#highWater) this.#doorbellRung = false;
  }

  #free() {
    return this.#capacity - ((this.#write - this.#readSeen) >>> 0);
  }

  #ringDoorbell() {
    if (this.#doorbellRung) return;
    this.#doorbellRung = true;
    // Why add then notify: the reader waits for the word to change; the add changes it, the notify wakes it.
    Atomics.add(this.#doorbell, kDoorbell, 1);
    Atomics.notify(this.#doorbell, kDoorbell);
  }

  #copyIntoRing(from, n) {
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

  #spillReserve(n) {
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
        this.#spillU8.copyWithin(0, this.#spillHead * kRecordBytes, this.#spillTail * kRecordBytes);
      }
      this.#spillTail = live;
      this.#spillHead = 0;
    }
    const k = this.#spillTail;
    this.#spillTail += n;
    return k;
  }

  #scheduleFlush() {
    if (this.#flushTimer !== undefined) return;
    const tick = () => {
      this.#flushTimer = undefined;
      if (!this.flush()) this.#scheduleFlush();
    };
    this.#flushTimer = setTimeout(tick, 1);
  }
}
