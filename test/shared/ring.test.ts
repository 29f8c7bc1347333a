import { describe, expect, it } from "vitest";
import { Layout, kReadIndex, kRecordBytes, kRingHeaderWords, kWriteIndex } from "../../src/shared/transport/layout.js";
import { maxDeclarationBytes } from "../../src/shared/model/limits.js";
import { kOpAdd, kOpDeclareSeries, declarationRecords, packWord0 } from "../../src/shared/transport/protocol.js";
import { observeRun, type RecordSink } from "../../src/shared/transport/record-sink.js";
import { SlotReader } from "../../src/shared/transport/slot-reader.js";
import { SlotWriter } from "../../src/shared/transport/slot-writer.js";
import { nextMessage, startWorker } from "../helpers/workers.js";

/** A small seeded PRNG (mulberry32), so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Checks that observations arrive as the sequence 0, 1, 2, ... and declarations intact. */
class SequenceVerifier implements RecordSink {
  next = 0;
  declarations: string[] = [];
  observation(word0: number, aux: number, value: number): void {
    // Plain checks: expect() per record would dominate the run time.
    if (word0 !== packWord0(kOpAdd, this.next % 1000) || aux !== this.next % 7 || value !== this.next) {
      throw new Error(`record ${this.next} arrived as word0=${word0} aux=${aux} value=${value}`);
    }
    this.next++;
  }
  observations(u32: Uint32Array, f64: Float64Array, first: number, stop: number): number {
    return observeRun(this, u32, f64, first, stop);
  }
  declaration(_word0: number, payload: Uint8Array): void {
    this.declarations.push(new TextDecoder().decode(payload));
  }
  corrupt(detail: string): void {
    throw new Error(`corrupt: ${detail}`);
  }
}

/** One slot's buffers, shareable with a worker thread: a control buffer and a growable data buffer grown to hold the ring. */
function slotGeometry(capacity: number, overflowCapacity: number) {
  const layout = new Layout(1, capacity, overflowCapacity);
  const control = new SharedArrayBuffer(layout.controlBytes);
  const data = new SharedArrayBuffer(0, { maxByteLength: layout.slotBufferMaxBytes });
  data.grow(layout.ringBytes);
  return { control, headerByte: layout.ringHeaderByte(0), data, capacity, overflowCapacity };
}

function makeRing(capacity: number, startIndex = 0, overflowLimit = 1 << 20) {
  // Two slots: the test writes slot 0; slot 1's header lines are canaries nothing may touch.
  const overflowCapacity = overflowLimit + declarationRecords(maxDeclarationBytes(capacity));
  const layout = new Layout(2, capacity, overflowCapacity);
  const control = new SharedArrayBuffer(layout.controlBytes);
  const data = new SharedArrayBuffer(0, { maxByteLength: layout.slotBufferMaxBytes });
  data.grow(layout.ringBytes);
  const words = new Uint32Array(control);
  const header = layout.ringHeaderByte(0) / 4;
  words[header + kWriteIndex] = startIndex;
  words[header + kReadIndex] = startIndex;
  const canary = layout.ringHeaderByte(1) / 4;
  for (let i = 0; i < kRingHeaderWords; i++) words[canary + i] = 0xdeadbeef;
  const geometry = { control, headerByte: layout.ringHeaderByte(0), data, capacity, overflowCapacity };
  const writer = new SlotWriter({ ...geometry, overflowLimit });
  const reader = new SlotReader(geometry);
  const canariesIntact = () => Array.from({ length: kRingHeaderWords }, (_, i) => words[canary + i] === 0xdeadbeef).every(Boolean);
  // What the slot's header says, through the reader's own views: records unread in the ring (fill() is a
  // fraction of a power-of-two capacity, so the product is exact) and in the overflow, records dropped.
  const counters = () => ({ pending: reader.fill() * capacity, overflowPending: reader.overflowPending(), droppedFull: reader.droppedFull() });
  return { writer, reader, canariesIntact, counters, words, header, data, layout };
}

describe("ring", () => {
  it("delivers random batches in order, with declarations, and never writes outside its bytes", () => {
    for (const seed of [1, 2, 3]) {
      const random = prng(seed);
      const { writer, reader, canariesIntact } = makeRing(1024);
      const sink = new SequenceVerifier();
      let sent = 0;
      let declared = 0;
      for (let round = 0; round < 400; round++) {
        const batch = Math.floor(random() * 900);
        for (let k = 0; k < batch; k++, sent++) writer.record(packWord0(kOpAdd, sent % 1000), sent % 7, sent);
        if (random() < 0.3) {
          const text = `decl-${declared++}-${"x".repeat(Math.floor(random() * 200))}`;
          writer.declare(packWord0(kOpDeclareSeries, 1), new TextEncoder().encode(text));
        }
        if (random() < 0.7) reader.drain(sink);
      }
      reader.drain(sink);
      expect(sink.next).toBe(sent);
      expect(sink.declarations).toHaveLength(declared);
      expect(sink.declarations.every((d, i) => d.startsWith(`decl-${i}-`))).toBe(true);
      expect(canariesIntact()).toBe(true);
    }
  });

  it("keeps working when its indices wrap around 2^32", () => {
    const start = 2 ** 32 - 300;
    const { writer, reader, words, header } = makeRing(1024, start);
    const sink = new SequenceVerifier();
    for (let sent = 0; sent < 5000; sent++) {
      writer.record(packWord0(kOpAdd, sent % 1000), sent % 7, sent);
      if (sent % 100 === 99) reader.drain(sink);
    }
    reader.drain(sink);
    expect(sink.next).toBe(5000);
    // The write index went past 2^32 and wrapped to a small number.
    expect(words[header + kWriteIndex]).toBe((start + 5000) >>> 0);
    expect(words[header + kWriteIndex]).toBeLessThan(5000);
  });

  it("goes on in the overflow when full, keeps order, and drops exactly what exceeds the overflow bound", () => {
    const { writer, reader, counters, words, header, data, layout } = makeRing(1024, 0, 500);
    const sink = new SequenceVerifier();
    const attempted = 3000;
    // The overflow takes memory only once it is used.
    expect(data.byteLength).toBe(layout.ringBytes);
    for (let sent = 0; sent < attempted; sent++) writer.record(packWord0(kOpAdd, sent % 1000), sent % 7, sent);
    // 1024 in the ring, 500 in the overflow, the rest dropped and counted in shared memory.
    expect(writer.dropped).toBe(attempted - 1024 - 500);
    expect(counters().droppedFull).toBe(attempted - 1024 - 500);
    expect(counters().pending).toBe(1024);
    expect(counters().overflowPending).toBe(500);
    expect(data.byteLength).toBeGreaterThan(layout.ringBytes);
    // One drain reads everything, ring first, with no help from the writer.
    reader.drain(sink);
    expect(sink.next).toBe(1524);
    expect(counters().overflowPending).toBe(0);
    // The overflow was read empty: the writer is back in its ring.
    writer.record(packWord0(kOpAdd, 1524 % 1000), 1524 % 7, 1524);
    expect(counters().pending).toBe(1);
    expect(counters().overflowPending).toBe(0);
    reader.drain(sink);
    expect(sink.next).toBe(1525);
    expect(words[header + kWriteIndex]).toBe(1025);
  });

  it("lets the reader take everything a writer left in ring and overflow, though the writer never runs again", () => {
    const { writer, reader } = makeRing(1024, 0, 100_000);
    const sink = new SequenceVerifier();
    // A burst far bigger than the ring, with a drain in the middle of it: then the writer goes quiet.
    for (let sent = 0; sent < 50_000; sent++) {
      writer.record(packWord0(kOpAdd, sent % 1000), sent % 7, sent);
      if (sent === 20_000) reader.drain(sink);
    }
    writer.declare(packWord0(kOpDeclareSeries, 1), new TextEncoder().encode("last"));
    reader.drain(sink);
    expect(sink.next).toBe(50_000);
    expect(sink.declarations).toEqual(["last"]);
    expect(writer.dropped).toBe(0);
    expect(writer.waiting).toBe(0);
  });

  it("never drops declarations, even past the overflow bound, and publishes nothing ahead of one that waits", () => {
    const { writer, reader } = makeRing(1024, 0, 0);
    const sink = new SequenceVerifier();
    for (let sent = 0; sent < 1024; sent++) writer.record(packWord0(kOpAdd, sent % 1000), sent % 7, sent);
    // 50 declarations of 20 records each: the overflow keeps room for one of the largest (257 records).
    for (let i = 0; i < 50; i++) writer.declare(packWord0(kOpDeclareSeries, 1), new TextEncoder().encode(`decl-${i}-${"y".repeat(300)}`));
    expect(writer.waiting).toBeGreaterThan(0);
    writer.record(packWord0(kOpAdd, 0), 0, 0); // a declaration waits: dropped, counted
    expect(writer.dropped).toBe(1);
    // This test is about the writer's queue of waiting declarations, and flush() is what writes it: the
    // writer calls it itself on its next record (the runtime on exit); here no record follows, so the test does.
    while (!writer.flush()) reader.drain(sink);
    reader.drain(sink);
    expect(sink.next).toBe(1024);
    expect(sink.declarations).toHaveLength(50);
    expect(sink.declarations.every((d, i) => d.startsWith(`decl-${i}-`))).toBe(true);
  });

  it("keeps order through overflow growth, wrap-around, drops and ring index wrap, and counts every drop", () => {
    for (const seed of [11, 12, 13, 14, 15]) {
      const random = prng(seed);
      const overflowLimit = 500 + Math.floor(random() * 4500);
      const start = (2 ** 32 - Math.floor(random() * 5000)) >>> 0;
      const { writer, reader, canariesIntact, counters } = makeRing(1024, start, overflowLimit);
      // Drops make gaps: records must still arrive in order, intact, and received + dropped = sent.
      let last = -1;
      let received = 0;
      const sink: RecordSink = {
      observations(u32, f64, first, stop) {
        return observeRun(this, u32, f64, first, stop);
      },
        observation(word0, aux, value) {
          if (!(value > last) || word0 !== packWord0(kOpAdd, value % 1000) || aux !== value % 7) {
            throw new Error(`seed ${seed}: record ${value} after ${last} arrived as word0=${word0} aux=${aux}`);
          }
          last = value;
          received++;
        },
        declaration() {},
        corrupt(detail) {
          throw new Error(`corrupt: ${detail}`);
        },
      };
      let sent = 0;
      for (let round = 0; round < 300; round++) {
        const batch = Math.floor(random() * 3000);
        for (let k = 0; k < batch; k++, sent++) writer.record(packWord0(kOpAdd, sent % 1000), sent % 7, sent);
        // Drain only sometimes: the ring stays full, the overflow fills and wraps around its end.
        if (random() < 0.4) reader.drain(sink);
        expect(counters().overflowPending).toBeLessThanOrEqual(overflowLimit);
      }
      reader.drain(sink);
      expect(writer.dropped).toBeGreaterThan(0);
      expect(received + writer.dropped).toBe(sent);
      expect(counters().droppedFull).toBe(writer.dropped);
      expect(canariesIntact()).toBe(true);
    }
  });

  it("carries records from a real producer thread to this thread in order", async () => {
    const capacity = 4096;
    const total = 300_000;
    const overflowCapacity = total + declarationRecords(maxDeclarationBytes(capacity));
    const geometry = slotGeometry(capacity, overflowCapacity);
    const reader = new SlotReader(geometry);
    const worker = startWorker("ring-producer.mjs", { workerData: { ...geometry, total, seed: 7 } });
    const done = nextMessage<{ dropped: number }>(worker);
    let finished = false;
    void done.then(() => {
      finished = true;
    });
    // The producer drops only past its overflow bound, which this test makes as large as the run.
    const sink = new SequenceVerifier();
    const deadline = Date.now() + 30_000;
    while ((!finished || sink.next < total) && Date.now() < deadline) {
      reader.drain(sink);
      await new Promise((r) => setImmediate(r));
    }
    expect((await done).dropped).toBe(0);
    expect(sink.next).toBe(total);
    await worker.terminate();
  });

  it("takes every burst bigger than the ring through ring and overflow in order, and returns to the ring after each", { timeout: 60_000 }, async () => {
    // A real producer thread writes bursts of 5x the ring. In even bursts the reader waits until the burst
    // is over, so it fills the ring and goes on in the overflow (its own hot path); in odd bursts the
    // reader drains while it is written. Once the reader has read the overflow empty, the next burst must
    // start in the ring again.
    const capacity = 4096;
    const burst = 5 * capacity;
    const bursts = 12;
    const geometry = slotGeometry(capacity, burst * 2);
    const reader = new SlotReader(geometry);
    const go = new SharedArrayBuffer(4);
    const turn = new Int32Array(go);
    const worker = startWorker("overflow-bursts.mjs", { workerData: { ...geometry, burst, bursts, go } });
    const reports: Array<{ burst: number; ringWrite: number; overflowWrite: number; dropped: number }> = [];
    worker.on("message", (m) => reports.push(m));
    const sink = new SequenceVerifier();
    const deadline = Date.now() + 50_000;
    for (let b = 0; b < bursts; b++) {
      Atomics.store(turn, 0, b);
      Atomics.notify(turn, 0);
      // Drain after the burst (even) or while it is written (odd), until all of it is read.
      if (b % 2 === 0) while (reports.length <= b && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      while (sink.next < (b + 1) * burst && Date.now() < deadline) {
        reader.drain(sink);
        await new Promise((r) => setImmediate(r));
      }
      while (reports.length <= b && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    }
    await worker.terminate();
    expect(sink.next).toBe(bursts * burst);
    expect(reports.map((r) => r.dropped)).toEqual(Array(bursts).fill(0));
    // Every burst wrote to the ring (it came back after the overflow was read empty); those written with
    // nobody reading went on in the overflow, at least four rings' worth.
    for (let b = 1; b < bursts; b++) {
      const before = reports[b - 1] as (typeof reports)[number];
      const after = reports[b] as (typeof reports)[number];
      expect(((after.ringWrite - before.ringWrite) >>> 0) >= capacity, `burst ${b} started in the ring`).toBe(true);
      const overflowed = (after.overflowWrite - before.overflowWrite + 2 * geometry.overflowCapacity) % (2 * geometry.overflowCapacity);
      if (b % 2 === 0) expect(overflowed, `burst ${b} went on in the overflow`).toBe(burst - capacity);
    }
    expect(reader.pendingRecords()).toBe(0);
  });

  it("makes a declaration that finds ring and overflow full wait for the hub, as a record does, in a worker", async () => {
    const capacity = 1024;
    // No room for observations in the overflow: only the room kept for one largest declaration (257 records).
    const overflowCapacity = declarationRecords(maxDeclarationBytes(capacity));
    const geometry = slotGeometry(capacity, overflowCapacity);
    const reader = new SlotReader(geometry);
    const total = 20_000;
    // 4,000 declarations of 20 records each: 80,000 records through 1,281 records of room.
    const worker = startWorker("ring-producer.mjs", { workerData: { ...geometry, total, seed: 3, declareEvery: 5, overflowLimit: 0, maxWaitMs: 10_000 } });
    const done = nextMessage<{ dropped: number; declared: number; waiting: number }>(worker);
    let finished = false;
    void done.then(() => {
      finished = true;
    });
    let last = -1;
    let received = 0;
    const declarations: string[] = [];
    const sink: RecordSink = {
      observations(u32, f64, first, stop) {
        return observeRun(this, u32, f64, first, stop);
      },
      observation(_word0, _aux, value) {
        if (!(value > last)) throw new Error(`record ${value} after ${last}`);
        last = value;
        received++;
      },
      declaration(_word0, payload) {
        declarations.push(new TextDecoder().decode(payload));
      },
      corrupt(detail) {
        throw new Error(`corrupt: ${detail}`);
      },
    };
    const deadline = Date.now() + 30_000;
    while (!finished && Date.now() < deadline) {
      reader.drain(sink);
      await new Promise((r) => setImmediate(r));
    }
    reader.drain(sink);
    const report = await done;
    await worker.terminate();
    // Every declaration reached the reader, in order, none left waiting in the worker.
    expect(report.waiting).toBe(0);
    expect(declarations).toHaveLength(report.declared);
    expect(declarations.every((d, i) => d.startsWith(`decl-${i}-`))).toBe(true);
    // Observations that met a full ring (with no observation room in the overflow) were dropped, counted.
    expect(received + report.dropped).toBe(total);
  });

  it("treats a forged write index as corruption, skips it, and reads the writer's records again soon after", () => {
    const { writer, reader, words, header } = makeRing(1024);
    const corrupt: string[] = [];
    let received = 0;
    const sink: RecordSink = {
      observations(u32, f64, first, stop) {
        return observeRun(this, u32, f64, first, stop);
      },
      observation() {
        received++;
      },
      declaration() {},
      corrupt(detail) {
        corrupt.push(detail);
      },
    };
    for (let i = 0; i < 10; i++) writer.record(packWord0(kOpAdd, 1), 0, i);
    reader.drain(sink);
    words[header + kWriteIndex] = (words[header + kWriteIndex]! + 2 ** 27) >>> 0;
    reader.drain(sink);
    expect(received).toBe(10);
    expect(corrupt).toHaveLength(1);
    // The writer publishes its own index again: the reader meets one more impossible distance, skips to it,
    // and from then on reads normally.
    writer.record(packWord0(kOpAdd, 1), 0, 0);
    reader.drain(sink);
    for (let i = 0; i < 700; i++) writer.record(packWord0(kOpAdd, 1), 0, i);
    reader.drain(sink);
    expect(corrupt.length).toBeLessThanOrEqual(2);
    expect(received).toBe(10 + 700);
  });

  it("uses 16-byte records", () => {
    expect(kRecordBytes).toBe(16);
  });
});
