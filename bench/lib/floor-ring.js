// "The floor" of the core benchmark: the least a lossless ring write of prom-threads' 16-byte record can
// cost, written the way a good single-producer ring is written. A ring with the same record (u32 word0,
// u32 aux, f64 value), the same capacity and the same header shape (writer's and reader's indices on
// separate cache lines) as a slot:
// - the writer compares its write index with a cached limit (where the ring passes half full, then where
//   it would be full), and reloads the reader's index only there; three plain stores and one
//   Atomics.store of the write index per record;
// - it rings the doorbell once per crossing of the half-full mark, as the real writer does;
// - its reader runs in a thread of its own (bench/lib/floor-reader.worker.js) and keeps up: it drains
//   whatever is published, and sleeps on the doorbell (at most 1 ms) only when the ring is empty.
// It loses nothing: a record that meets a full ring (the reader thread was not scheduled in time, as on a
// loaded machine) waits until the reader has made room. The time it waits is not the cost of a write:
// it is counted apart (floorWaits()), and the burst timers of bench/lib/bursts.js take it out of the
// floor's time, so waiting can only make the floor lower (a stricter goal), never higher. How often and
// how long the floor waited is reported with every run.
import { Worker } from "node:worker_threads";

const kWrite = 0; // u32 word: writer's index (writer's cache line)
const kRead = 16; // u32 word: reader's index (64 bytes further: the reader's own cache line)
const kDoorbell = 32; // i32 word: doorbell (a third line)
const kStop = 48; // i32 word: tells the reader thread to stop (a fourth line)
const kHeaderBytes = 256;

/** What every floor writer of this thread waited for its reader: times the ring was full, and nanoseconds. */
const waited = { waits: 0, ns: 0 };
const pauser = new Int32Array(new SharedArrayBuffer(4));

/** Times a floor writer of this thread found its ring full and waited, and the nanoseconds it waited, so far. */
export function floorWaits() {
  return { waits: waited.waits, ns: waited.ns };
}

/** Shared memory for one floor ring of `capacity` records (a power of two). */
export function createFloor(capacity) {
  return { header: new SharedArrayBuffer(kHeaderBytes), data: new SharedArrayBuffer(capacity * 16), stats: new SharedArrayBuffer(16), capacity };
}

/** The producer: used by one thread only. */
export class FloorWriter {
  constructor({ header, data, capacity }) {
    this.header = new Uint32Array(header);
    this.doorbell = new Int32Array(header);
    this.u32 = new Uint32Array(data);
    this.f64 = new Float64Array(data);
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.half = capacity >>> 1;
    this.write = Atomics.load(this.header, kWrite);
    this.readSeen = Atomics.load(this.header, kRead);
    this.rung = false;
    /** Times this writer found the ring full and waited for its reader. */
    this.waits = 0;
    /** Always 0: the floor waits instead of dropping (kept for the workers that report it). */
    this.dropped = 0;
    /** Records written, for the conservation check against what the reader read. */
    this.start = this.write;
    this.limit = 0;
    this.relimit();
  }

  record(word0, aux, value) {
    const w = this.write;
    // The one test: has the write index reached the point where the writer must look at the reader?
    if (w === this.limit) this.room();
    const i = (w & this.mask) * 4;
    this.u32[i] = word0;
    this.u32[i + 1] = aux;
    this.f64[(i >>> 1) + 1] = value;
    this.write = (w + 1) >>> 0;
    // Publish: the reader loads this index before it reads the record.
    Atomics.store(this.header, kWrite, this.write);
  }

  /** At the limit: reload the reader's index, ring the doorbell once per crossing of half full, wait while full. */
  room() {
    this.readSeen = Atomics.load(this.header, kRead);
    let fill = (this.write - this.readSeen) >>> 0;
    if (fill < this.half) this.rung = false;
    else if (!this.rung) {
      this.rung = true;
      // Wake the reader once per crossing of the half-full mark.
      Atomics.add(this.doorbell, kDoorbell, 1);
      Atomics.notify(this.doorbell, kDoorbell);
    }
    if (fill >= this.capacity) {
      // Full: lossless, so wait for the reader (a thread of its own, which never waits for us). Timed and
      // counted apart: the burst timers take it out of the floor's time.
      const start = process.hrtime.bigint();
      this.waits++;
      waited.waits++;
      for (let spin = 0; fill >= this.capacity; spin++) {
        if (spin >= 64) Atomics.wait(pauser, 0, 0, 0.05);
        this.readSeen = Atomics.load(this.header, kRead);
        fill = (this.write - this.readSeen) >>> 0;
      }
      waited.ns += Number(process.hrtime.bigint() - start);
    }
    this.relimit();
  }

  /** The next write index at which to look at the reader: where the ring passes half full, then where it is full. */
  relimit() {
    const fill = (this.write - this.readSeen) >>> 0;
    this.limit = (this.readSeen + (fill < this.half ? this.half : this.capacity)) >>> 0;
  }

  /** Records written since this writer was made. */
  written() {
    return (this.write - this.start) >>> 0;
  }

  /** Whether the reader has consumed everything written. */
  drained() {
    return Atomics.load(this.header, kRead) === this.write;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Start the floor's reader in a thread of its own. `drain()` waits (blocking, briefly) until it has read
 * everything published; `stop()` ends it.
 */
export function startFloorReader(floor) {
  const header = new Uint32Array(floor.header);
  const control = new Int32Array(floor.header);
  const stats = new Float64Array(floor.stats);
  const worker = new Worker(new URL("./floor-reader.worker.js", import.meta.url), { workerData: floor });
  worker.unref();
  return {
    stats: () => ({ records: stats[0], sum: stats[1] }),
    drain() {
      // Wait for the reader thread to catch up with everything published (it never waits for us).
      while (Atomics.load(header, kRead) !== Atomics.load(header, kWrite)) Atomics.wait(sleeper, 0, 0, 0.1);
    },
    stop() {
      this.drain();
      Atomics.store(control, kStop, 1);
      Atomics.add(control, kDoorbell, 1);
      Atomics.notify(control, kDoorbell);
    },
  };
}

export const floorWords = { kWrite, kRead, kDoorbell, kStop };
