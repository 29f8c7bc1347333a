/**
 * The latest-exemplar table as a region of a slot's data buffer (between the ring and the overflow): the
 * writer and the reader stay inside the region, the reader trusts nothing the owner wrote about its size,
 * the changed flag tells the reader when to look, and clearing the table touches only what was grown.
 */
import { describe, expect, it } from "vitest";
import { ExemplarTableReader, ExemplarTableWriter, kEmpty, kEncoded, type TableExemplar } from "../../src/shared/transport/exemplar-table.js";
import {
  Layout,
  kExemplarChangedWord,
  kExemplarEntriesWord,
  kExemplarEntryBytes,
  kExemplarGrowEntries,
  kExemplarHeaderBytes,
  kExemplarMaxEntries,
  kExemplarTableMaxBytes,
} from "../../src/shared/transport/layout.js";

const layout = new Layout(1, 1024, 4096);

/** A slot buffer grown as a claimer grows it (the ring), its ring filled with a canary. */
function slotBuffer(): { buffer: SharedArrayBuffer; ring: Uint8Array } {
  const buffer = new SharedArrayBuffer(1, { maxByteLength: layout.slotBufferMaxBytes });
  buffer.grow(layout.ringBytes);
  const ring = new Uint8Array(buffer, 0, layout.ringBytes);
  ring.fill(0xa5);
  return { buffer, ring };
}

function readAll(reader: ExemplarTableReader): TableExemplar[] {
  const seen: TableExemplar[] = [];
  reader.read((e) => seen.push(e) > 0);
  return seen;
}

describe("the exemplar table region of a slot buffer", () => {
  it("lies between the ring and the overflow; the layout's slot buffer holds all three", () => {
    expect(layout.exemplarTableByte).toBe(layout.ringBytes);
    expect(layout.overflowDataByte).toBe(layout.ringBytes + kExemplarTableMaxBytes);
    expect(layout.slotBufferMaxBytes).toBe(layout.overflowDataByte + layout.overflowCapacity * 16);
  });

  it("writes and reads at the table's offset, leaving the ring and the overflow untouched", () => {
    const { buffer, ring } = slotBuffer();
    // The overflow grew (past the table's whole region) before the thread's first exemplar.
    buffer.grow(layout.overflowDataByte + 4096);
    const tableEnd = new Uint8Array(buffer, layout.overflowDataByte - 16, 16);
    const after = new Uint8Array(buffer, layout.overflowDataByte, 4096);
    after.fill(0x5a);
    const writer = new ExemplarTableWriter(buffer, layout.exemplarTableByte);
    const reader = new ExemplarTableReader(buffer, layout.exemplarTableByte);
    expect(reader.bytes).toBe(0);
    const labels = { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736", span_id: "00f067aa0ba902b7" };
    expect(writer.encode(labels)).toBe(kEncoded);
    const entry = writer.entryOf(3, 12);
    writer.commit(entry + 11, 3, 11, 2.5, 1234);
    expect(readAll(reader)).toEqual([{ seriesId: 3, bucket: 11, value: 2.5, timestampMs: 1234, labels }]);
    expect(reader.bytes).toBe(kExemplarHeaderBytes + kExemplarGrowEntries * kExemplarEntryBytes);
    expect(ring.every((b) => b === 0xa5)).toBe(true);
    expect(after.every((b) => b === 0x5a)).toBe(true);
    expect(tableEnd.every((b) => b === 0)).toBe(true);
  });

  it("grows the buffer at the first exemplar, reads nothing while the changed flag is low, and reads again an entry it could not place", () => {
    const { buffer } = slotBuffer();
    const writer = new ExemplarTableWriter(buffer, layout.exemplarTableByte);
    const reader = new ExemplarTableReader(buffer, layout.exemplarTableByte);
    expect(readAll(reader)).toEqual([]);
    writer.encode({ trace_id: "a" });
    writer.commit(writer.entryOf(1, 1), 1, 0, 1, 1);
    // Grown by 256 entries behind the ring, not up to the overflow.
    expect(buffer.byteLength).toBe(layout.exemplarTableByte + kExemplarHeaderBytes + kExemplarGrowEntries * kExemplarEntryBytes);
    const header = new Uint32Array(buffer, layout.exemplarTableByte, kExemplarHeaderBytes / 4);
    expect(Atomics.load(header, kExemplarChangedWord)).toBe(1);
    // The reader cannot place it yet: left for the next read, although the flag is low now.
    reader.read(() => false);
    expect(Atomics.load(header, kExemplarChangedWord)).toBe(0);
    expect(readAll(reader).map((e) => e.labels)).toEqual([{ trace_id: "a" }]);
    // Read whole: nothing more until the owner writes again.
    expect(readAll(reader)).toEqual([]);
    // A flag a hostile owner keeps raised costs a scan, and finds nothing new.
    Atomics.store(header, kExemplarChangedWord, 1);
    expect(readAll(reader)).toEqual([]);
    writer.encode({ trace_id: "b" });
    writer.commit(writer.entryOf(1, 1), 1, 0, 2, 2);
    expect(readAll(reader).map((e) => e.labels)).toEqual([{ trace_id: "b" }]);
  });

  it("trusts no entry count the owner publishes: it never reads past the region or the grown buffer", () => {
    const { buffer } = slotBuffer();
    buffer.grow(layout.exemplarTableByte + 64 * 1024);
    const header = new Uint32Array(buffer, layout.exemplarTableByte, kExemplarHeaderBytes / 4);
    const reader = new ExemplarTableReader(buffer, layout.exemplarTableByte);
    for (const entries of [kExemplarMaxEntries + 1, 0xffffffff]) {
      Atomics.store(header, kExemplarEntriesWord, entries);
      Atomics.store(header, kExemplarChangedWord, 1);
      expect(readAll(reader)).toEqual([]);
      expect(reader.bytes).toBeLessThanOrEqual(kExemplarTableMaxBytes);
    }
    // Garbage in the region (zero checksum never matches a whole entry): nothing read, no throw.
    new Uint32Array(buffer, layout.exemplarTableByte + kExemplarHeaderBytes, 1024).fill(0x12345678);
    Atomics.store(header, kExemplarChangedWord, 1);
    expect(readAll(reader)).toEqual([]);
    // A buffer that does not reach the table: nothing to read, nothing counted.
    const short = new SharedArrayBuffer(layout.ringBytes, { maxByteLength: layout.slotBufferMaxBytes });
    const shortReader = new ExemplarTableReader(short, layout.exemplarTableByte);
    expect(readAll(shortReader)).toEqual([]);
    expect(shortReader.bytes).toBe(0);
    shortReader.clear();
  });

  it("clear() zeroes the header and the grown entries only; a next owner starts empty even over old bytes", () => {
    const { buffer } = slotBuffer();
    buffer.grow(layout.overflowDataByte);
    const words = new Uint32Array(buffer, layout.exemplarTableByte, kExemplarTableMaxBytes / 4);
    const writer = new ExemplarTableWriter(buffer, layout.exemplarTableByte);
    writer.encode({ trace_id: "old" });
    writer.commit(writer.entryOf(5, 1), 5, 0, 1, 1);
    const grownWords = (kExemplarHeaderBytes + kExemplarGrowEntries * kExemplarEntryBytes) / 4;
    // A stray word behind the grown entries: not the table's, left alone.
    words[grownWords + 60] = 77;
    const reader = new ExemplarTableReader(buffer, layout.exemplarTableByte);
    expect(readAll(reader)).toHaveLength(1);
    reader.clear();
    expect(words.subarray(0, grownWords).every((w) => w === 0)).toBe(true);
    expect(words[grownWords + 60]).toBe(77);
    // The next owner: its first exemplar is the only one read; the old bytes past the grown entries are
    // zeroed as its table grows over them.
    const next = new ExemplarTableWriter(buffer, layout.exemplarTableByte);
    for (let series = 0; series < kExemplarGrowEntries + 1; series++) {
      next.encode({ trace_id: `n${series}` });
      next.commit(next.entryOf(series, 1), series, 0, series, series);
    }
    expect(words[grownWords + 60]).toBe(0);
    const read = readAll(reader);
    expect(read).toHaveLength(kExemplarGrowEntries + 1);
    expect(read.at(-1)?.labels).toEqual({ trace_id: `n${kExemplarGrowEntries}` });
  });

  it("tells an empty label set from one that fits", () => {
    const { buffer } = slotBuffer();
    const writer = new ExemplarTableWriter(buffer, layout.exemplarTableByte);
    expect(writer.encode({})).toBe(kEmpty);
    expect(writer.encode({ trace_id: 1 })).toBe(kEncoded);
  });
});
