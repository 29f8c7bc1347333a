// "The floor" of the core benchmark: the least a ring write of prom-threads' 16-byte record can cost. A
// single-producer ring with the same record (u32 word0, u32 aux, f64 value), the same capacity and the same
// header shape (writer's and reader's indices on separate cache lines) as a slot, written with three plain
// stores and one Atomics.store of the write index, full check included; and its reader, draining in the
// main thread at the hub's cadence (a 1 ms tick, and at once when the writer rings the doorbell).
// It has no overflow: a record that meets a full ring is dropped and counted, which is cheaper than any
// lossless path, so the floor is a floor in every condition.

const kWrite = 0; // u32 word: writer's index (writer's cache line)
const kDropped = 1; // u32 word: records dropped on a full ring
const kRead = 16; // u32 word: reader's index (64 bytes further: the reader's own cache line)
const kDoorbell = 32; // i32 word: doorbell (a third line)
const kHeaderBytes = 192;

/** Shared memory for one floor ring of `capacity` records (a power of two). */
export function createFloor(capacity) {
  return { header: new SharedArrayBuffer(kHeaderBytes), data: new SharedArrayBuffer(capacity * 16), capacity };
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
    this.write = Atomics.load(this.header, kWrite);
    this.readSeen = Atomics.load(this.header, kRead);
    this.dropped = 0;
  }

  record(word0, aux, value) {
    const w = this.write;
    // The full check, against a cached (possibly stale) read index.
    if (((w - this.readSeen) >>> 0) >= this.capacity && !this.room()) return;
    const i = (w & this.mask) * 4;
    this.u32[i] = word0;
    this.u32[i + 1] = aux;
    this.f64[(i >>> 1) + 1] = value;
    this.write = (w + 1) >>> 0;
    // Publish: the reader loads this index before it reads the record.
    Atomics.store(this.header, kWrite, this.write);
  }

  /** The ring looked full: reload the reader's index; still full means drop (counted) and wake the reader. */
  room() {
    this.readSeen = Atomics.load(this.header, kRead);
    const fill = (this.write - this.readSeen) >>> 0;
    if (fill >= this.capacity >>> 1) {
      Atomics.add(this.doorbell, kDoorbell, 1);
      Atomics.notify(this.doorbell, kDoorbell);
    }
    if (fill < this.capacity) return true;
    this.dropped++;
    Atomics.store(this.header, kDropped, this.dropped);
    return false;
  }

  /** Whether the reader has consumed everything written. */
  drained() {
    return Atomics.load(this.header, kRead) === this.write;
  }
}

/** The consumer, in the main thread: sums what it reads (so the reads cannot be optimised away). */
export function startFloorReader({ header, data, capacity }) {
  const u32h = new Uint32Array(header);
  const doorbell = new Int32Array(header);
  const u32 = new Uint32Array(data);
  const f64 = new Float64Array(data);
  const mask = capacity - 1;
  let read = 0;
  let records = 0;
  let sum = 0;
  let closed = false;
  const drain = () => {
    const end = Atomics.load(u32h, kWrite);
    let r = read;
    while (r !== end) {
      const i = (r & mask) * 4;
      sum += u32[i] + u32[i + 1] + f64[(i >>> 1) + 1];
      r = (r + 1) >>> 0;
      records++;
    }
    read = r;
    Atomics.store(u32h, kRead, r);
  };
  const timer = setInterval(drain, 1);
  const wait = () => {
    if (closed) return;
    const seen = Atomics.load(doorbell, kDoorbell);
    const result = Atomics.waitAsync(doorbell, kDoorbell, seen);
    const next = () => {
      drain();
      wait();
    };
    if (result.async) result.value.then(next);
    else setImmediate(next);
  };
  wait();
  return {
    stats: () => ({ records, dropped: Atomics.load(u32h, kDropped), sum }),
    drain,
    stop() {
      closed = true;
      clearInterval(timer);
      Atomics.add(doorbell, kDoorbell, 1);
      Atomics.notify(doorbell, kDoorbell);
      drain();
    },
  };
}
