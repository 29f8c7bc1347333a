// The floor's reader (bench/lib/floor-ring.js), in a thread of its own so it keeps up with the writer:
// it drains whatever is published, and sleeps on the doorbell (at most 1 ms) only when the ring is empty.
// It sums what it reads, so the reads cannot be optimised away.
import { workerData } from "node:worker_threads";
import { floorWords } from "./floor-ring.js";

const { kWrite, kRead, kDoorbell, kStop } = floorWords;
const { header, data, capacity } = workerData;
const u32h = new Uint32Array(header);
const control = new Int32Array(header);
const stats = new Float64Array(workerData.stats);
const u32 = new Uint32Array(data);
const f64 = new Float64Array(data);
const mask = capacity - 1;
let read = Atomics.load(u32h, kRead);
let records = 0;
let sum = 0;

while (Atomics.load(control, kStop) === 0) {
  // Load the doorbell before looking for records: a ring between the two wakes the wait below at once.
  const rung = Atomics.load(control, kDoorbell);
  const end = Atomics.load(u32h, kWrite);
  if (end === read) {
    Atomics.wait(control, kDoorbell, rung, 1);
    continue;
  }
  let r = read;
  while (r !== end) {
    const i = (r & mask) * 4;
    sum += u32[i] + u32[i + 1] + f64[(i >>> 1) + 1];
    r = (r + 1) >>> 0;
  }
  records += (end - read) >>> 0;
  read = r;
  // Release: the writer may reuse every record before `read` once it sees this store.
  Atomics.store(u32h, kRead, read);
  stats[0] = records;
  stats[1] = sum;
}
