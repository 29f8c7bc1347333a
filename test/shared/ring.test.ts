import { describe, expect, it } from "vitest";
import { Layout, kReadIndex, kRecordBytes, kWriteIndex } from "../../src/shared/layout.js";
import { OP_ADD, OP_DECLARE_SERIES, packWord0 } from "../../src/shared/protocol.js";
import { RingReader, type RecordSink } from "../../src/shared/ring-reader.js";
import { RingWriter } from "../../src/shared/ring-writer.js";
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
    if (word0 !== packWord0(OP_ADD, this.next % 1000) || aux !== this.next % 7 || value !== this.next) {
      throw new Error(`record ${this.next} arrived as word0=${word0} aux=${aux} value=${value}`);
    }
    this.next++;
  }
  declaration(_word0: number, payload: Uint8Array): void {
    this.declarations.push(new TextDecoder().decode(payload));
  }
}

function makeRing(capacity: number, startIndex = 0, spillLimit = 1 << 20) {
  const layout = new Layout(1, capacity);
  // One canary line either side of the ring data: nothing may write outside the ring.
  const buffer = new SharedArrayBuffer(layout.totalBytes + 64);
  const words = new Uint32Array(buffer);
  const header = layout.ringHeaderByte(0) / 4;
  words[header + kWriteIndex] = startIndex;
  words[header + kReadIndex] = startIndex;
  // The 8 words before the data are padding at the end of the reader's header line.
  const before = layout.ringDataByte(0) / 4 - 8;
  const after = layout.totalBytes / 4;
  for (let i = 0; i < 8; i++) {
    words[before + i] = 0xdeadbeef;
    words[after + i] = 0xcafebabe;
  }
  const writer = new RingWriter({ buffer, headerByte: layout.ringHeaderByte(0), dataByte: layout.ringDataByte(0), capacity, spillLimit });
  const reader = new RingReader(buffer, layout.ringHeaderByte(0), layout.ringDataByte(0), capacity);
  const canariesIntact = () =>
    Array.from({ length: 8 }, (_, i) => words[before + i] === 0xdeadbeef && words[after + i] === 0xcafebabe).every(Boolean);
  return { writer, reader, canariesIntact, words, header };
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
        for (let k = 0; k < batch; k++, sent++) writer.record(packWord0(OP_ADD, sent % 1000), sent % 7, sent);
        if (random() < 0.3) {
          const text = `decl-${declared++}-${"x".repeat(Math.floor(random() * 200))}`;
          writer.declare(packWord0(OP_DECLARE_SERIES, 1), new TextEncoder().encode(text));
        }
        if (random() < 0.7) reader.drain(sink);
        writer.flush();
      }
      while (!writer.flush() || reader.counters().pending > 0) reader.drain(sink);
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
      writer.record(packWord0(OP_ADD, sent % 1000), sent % 7, sent);
      if (sent % 100 === 99) reader.drain(sink);
    }
    reader.drain(sink);
    expect(sink.next).toBe(5000);
    // The write index went past 2^32 and wrapped to a small number.
    expect(words[header + kWriteIndex]).toBe((start + 5000) >>> 0);
    expect(words[header + kWriteIndex]).toBeLessThan(5000);
  });

  it("spills when full, keeps order, and drops exactly what exceeds the spill bound", () => {
    const { writer, reader, words, header } = makeRing(1024, 0, 500);
    const sink = new SequenceVerifier();
    const attempted = 3000;
    for (let sent = 0; sent < attempted; sent++) writer.record(packWord0(OP_ADD, sent % 1000), sent % 7, sent);
    // 1024 in the ring, 500 spilled, the rest dropped and counted in shared memory.
    expect(writer.spilled).toBe(500);
    expect(writer.dropped).toBe(attempted - 1024 - 500);
    expect(reader.counters().droppedFull).toBe(attempted - 1024 - 500);
    expect(reader.counters().spilledTotal).toBe(500);
    expect(reader.spillLost()).toBe(500);
    reader.drain(sink);
    expect(writer.flush()).toBe(true);
    reader.drain(sink);
    expect(sink.next).toBe(1524);
    // Cumulative: 500 were spilled, and all 500 reached the reader.
    expect(reader.counters().spilledTotal).toBe(500);
    expect(reader.spillLost()).toBe(0);
    expect(words[header + kWriteIndex]).toBe(1524);
  });

  it("never drops declarations, even past the spill bound", () => {
    const { writer, reader } = makeRing(1024, 0, 0);
    const sink = new SequenceVerifier();
    for (let sent = 0; sent < 1024; sent++) writer.record(packWord0(OP_ADD, sent % 1000), sent % 7, sent);
    for (let i = 0; i < 50; i++) writer.declare(packWord0(OP_DECLARE_SERIES, 1), new TextEncoder().encode(`decl-${i}-${"y".repeat(300)}`));
    writer.record(packWord0(OP_ADD, 0), 0, 0); // spill bound 0: dropped
    expect(writer.dropped).toBe(1);
    while (!writer.flush()) reader.drain(sink);
    reader.drain(sink);
    expect(sink.next).toBe(1024);
    expect(sink.declarations).toHaveLength(50);
  });

  it("keeps order through spill growth, in-place compaction, drops and index wrap, and counts every drop", () => {
    for (const seed of [11, 12, 13, 14, 15]) {
      const random = prng(seed);
      const spillLimit = 500 + Math.floor(random() * 4500);
      const start = (2 ** 32 - Math.floor(random() * 5000)) >>> 0;
      const { writer, reader, canariesIntact } = makeRing(1024, start, spillLimit);
      // Drops make gaps: records must still arrive in order, intact, and received + dropped = sent.
      let last = -1;
      let received = 0;
      const sink: RecordSink = {
        observation(word0, aux, value) {
          if (!(value > last) || word0 !== packWord0(OP_ADD, value % 1000) || aux !== value % 7) {
            throw new Error(`seed ${seed}: record ${value} after ${last} arrived as word0=${word0} aux=${aux}`);
          }
          last = value;
          received++;
        },
        declaration() {},
      };
      let sent = 0;
      for (let round = 0; round < 300; round++) {
        const batch = Math.floor(random() * 3000);
        for (let k = 0; k < batch; k++, sent++) writer.record(packWord0(OP_ADD, sent % 1000), sent % 7, sent);
        // Drain only sometimes: the ring stays full, the spill fills, part of it moves, the rest compacts.
        if (random() < 0.4) reader.drain(sink);
        if (random() < 0.5) writer.flush();
        expect(writer.spilled).toBeLessThanOrEqual(spillLimit);
      }
      while (!writer.flush() || reader.counters().pending > 0) reader.drain(sink);
      expect(writer.dropped).toBeGreaterThan(0);
      expect(received + writer.dropped).toBe(sent);
      expect(reader.counters().droppedFull).toBe(writer.dropped);
      expect(reader.spillLost()).toBe(0);
      expect(canariesIntact()).toBe(true);
    }
  });

  it("carries records from a real producer thread to this thread in order", async () => {
    const capacity = 4096;
    const layout = new Layout(1, capacity);
    const buffer = new SharedArrayBuffer(layout.totalBytes);
    const reader = new RingReader(buffer, layout.ringHeaderByte(0), layout.ringDataByte(0), capacity);
    const total = 300_000;
    const worker = startWorker("ring-producer.mjs", {
      workerData: { buffer, headerByte: layout.ringHeaderByte(0), dataByte: layout.ringDataByte(0), capacity, total, seed: 7 },
    });
    const done = nextMessage<{ dropped: number }>(worker);
    let next = 0;
    let finished = false;
    void done.then(() => {
      finished = true;
    });
    const sink: RecordSink = {
      observation(word0, aux, value) {
        // The producer drops only past its spill bound, which this test makes unbounded.
        if (value !== next || aux !== next % 7 || word0 !== packWord0(OP_ADD, next % 1000)) throw new Error(`record ${next} arrived as ${value}`);
        next++;
      },
      declaration() {},
    };
    const deadline = Date.now() + 30_000;
    while ((!finished || next < total) && Date.now() < deadline) {
      reader.drain(sink);
      await new Promise((r) => setImmediate(r));
    }
    expect((await done).dropped).toBe(0);
    expect(next).toBe(total);
    await worker.terminate();
  });

  it("uses 16-byte records", () => {
    expect(kRecordBytes).toBe(16);
  });
});
