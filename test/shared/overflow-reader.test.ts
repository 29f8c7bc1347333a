/**
 * The overflow reader against a read index it did not write: a stray store into the slot's header before
 * the hub opened the slot must not make a drain step forever.
 */
import { describe, expect, it } from "vitest";
import { kOverflowRead, kOverflowWrite, kRecordBytes, kRingHeaderWords } from "../../src/shared/transport/layout.js";
import { OverflowReader } from "../../src/shared/transport/overflow-reader.js";
import { observeRun, type RecordSink } from "../../src/shared/transport/record-sink.js";

describe("OverflowReader", () => {
  it.each([2 * 100, 2 * 100 + 7, 0xffffffff])("reports a read index of %d that cannot be its own and drains again from a sane place", (forged) => {
    const capacity = 100;
    const header = new Uint32Array(new SharedArrayBuffer(kRingHeaderWords * 4));
    const data = new SharedArrayBuffer(capacity * kRecordBytes);
    Atomics.store(header, kOverflowRead, forged);
    Atomics.store(header, kOverflowWrite, 10);
    const reader = new OverflowReader(header, data, 0, capacity);
    const corrupt: string[] = [];
    let observations = 0;
    const sink: RecordSink = {
      observations(u32, f64, first, stop) {
        return observeRun(this, u32, f64, first, stop);
      },
      observation: () => observations++,
      declaration: () => {},
      corrupt: (detail) => corrupt.push(detail),
    };
    expect(reader.drain(sink, 10)).toBe(0);
    expect(corrupt).toHaveLength(1);
    expect(corrupt[0]).toContain(`read index ${forged}`);
    expect(Atomics.load(header, kOverflowRead)).toBe(10);
    // The writer's next records are read from there.
    Atomics.store(header, kOverflowWrite, 13);
    expect(reader.drain(sink, 13)).toBe(3);
    expect(observations).toBe(3);
  });
});
