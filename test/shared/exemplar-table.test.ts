/**
 * The latest-exemplar table: a real writer thread overwrites entries as fast as it can while the main
 * thread reads; every entry read must be whole (its fields all follow from its value), and the last read
 * finds the last write of every entry.
 */
import { describe, expect, it } from "vitest";
import { ExemplarTableReader, ExemplarTableWriter, kEncoded, kInvalid, kTooLong, type TableExemplar } from "../../src/shared/transport/exemplar-table.js";
import { kExemplarHeaderBytes, kExemplarTableMaxBytes, kExTextUnits } from "../../src/shared/transport/layout.js";
import { nextMessage, startWorker } from "../helpers/workers.js";

function table(): SharedArrayBuffer {
  return new SharedArrayBuffer(kExemplarHeaderBytes, { maxByteLength: kExemplarTableMaxBytes });
}

function consistent(e: TableExemplar, series: number): void {
  const i = e.value;
  expect(e.timestampMs).toBe(i);
  expect(e.seriesId).toBe(i % series);
  expect(e.bucket).toBe(i % 4);
  expect(e.labels).toEqual({ trace_id: `t${i}`, span_id: i.toString(16).repeat(1 + (i % 3)) });
}

describe("the latest-exemplar table", () => {
  it("a reader racing a writer thread never sees a torn entry, and ends with the last write of each", async () => {
    const buffer = table();
    const series = 3;
    const writes = 400_000;
    const reader = new ExemplarTableReader(buffer);
    const latest = new Map<string, TableExemplar>();
    let reads = 0;
    const visit = (e: TableExemplar): boolean => {
      consistent(e, series);
      const key = `${e.seriesId}/${e.bucket}`;
      const before = latest.get(key);
      // Entries only move forward.
      if (before !== undefined) expect(e.value).toBeGreaterThanOrEqual(before.value);
      latest.set(key, e);
      reads++;
      return true;
    };
    const worker = startWorker("exemplar-table-writer.mjs", { workerData: { table: buffer, writes, series } });
    const done = nextMessage(worker);
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished) {
      reader.read(visit);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await done;
    reader.read(visit);
    await worker.terminate();
    // Writes i = writes - 11 … writes cover every (series, bucket) pair once at least: the last of each.
    for (let i = writes - 11; i <= writes; i++) expect(latest.get(`${i % series}/${i % 4}`)?.value).toBeGreaterThanOrEqual(i);
    expect(latest.size).toBe(12);
    expect(reads).toBeGreaterThan(12);
  });

  it("encodes what fits, refuses what is too long or invalid, and frees a removed series' entries", () => {
    const buffer = table();
    const writer = new ExemplarTableWriter(buffer);
    const reader = new ExemplarTableReader(buffer);
    expect(writer.encode({ trace_id: "x".repeat(kExTextUnits - "trace_id".length - 2) })).toBe(kEncoded);
    expect(writer.encode({ trace_id: "x".repeat(kExTextUnits - "trace_id".length - 1) })).toBe(kTooLong);
    expect(writer.encode({ "bad-name": "x" })).toBe(kInvalid);
    expect(writer.encode({ trace_id: {} as never })).toBe(kInvalid);
    // More than 128 characters never fits an entry: it goes to the ring path, which validates and throws.
    expect(writer.encode({ a: "y".repeat(128) })).toBe(kTooLong);

    const first = { trace_id: "first", span: "😀 ünï" };
    expect(writer.encode(first)).toBe(kEncoded);
    const entry = writer.entryOf(7, 2);
    writer.commit(entry + 1, 7, 1, 0.5, 1000);
    const seen: TableExemplar[] = [];
    reader.read((e) => seen.push(e) > 0);
    expect(seen).toEqual([{ seriesId: 7, bucket: 1, value: 0.5, timestampMs: 1000, labels: { trace_id: "first", span: "😀 ünï" } }]);
    // Nothing new: nothing read.
    reader.read((e) => seen.push(e) > 0);
    expect(seen).toHaveLength(1);
    writer.release(7);
    reader.read((e) => seen.push(e) > 0);
    expect(seen).toHaveLength(1);
    // An entry the visitor cannot place yet is offered again at the next read.
    const second = { trace_id: "second" };
    expect(writer.encode(second)).toBe(kEncoded);
    writer.commit(writer.entryOf(3, 1), 3, 0, 2, 2000);
    let offers = 0;
    reader.read(() => ++offers > 1);
    reader.read(() => ++offers > 1);
    reader.read(() => ++offers > 1);
    expect(offers).toBe(2);
    // The freed run goes to the next series that needs as many entries.
    expect(writer.entryOf(9, 2)).toBe(entry);
    reader.clear();
    expect(new Uint32Array(buffer).every((w) => w === 0)).toBe(true);
  });

  it("is due for a slot's first exemplar after each read of the hub, and for every 256th in between", () => {
    const buffer = table();
    const writer = new ExemplarTableWriter(buffer);
    const reader = new ExemplarTableReader(buffer);
    const seen: TableExemplar[] = [];
    const readAll = (): void => reader.read((e) => seen.push(e) > 0);
    expect(writer.encode({ trace_id: "a" })).toBe(kEncoded);
    const counter = writer.entryOf(1, 1);
    const buckets = writer.entryOf(2, 3);
    // The first exemplar of an entry is due; the next 255 of it are not, the 256th is.
    const dueCalls: number[] = [];
    for (let call = 0; call < 600; call++) {
      if (writer.due(counter)) {
        dueCalls.push(call);
        writer.commit(counter, 1, 0, call, 1000 + call);
      }
    }
    expect(dueCalls).toEqual([0, 256, 512]);
    // Another entry is not held back by the busy one: its first exemplar is due.
    expect(writer.due(buckets + 2)).toBe(true);
    writer.commit(buckets + 2, 2, 2, 0.5, 5000);
    expect(writer.due(buckets + 2)).toBe(false);
    readAll();
    expect(seen.map((e) => [e.seriesId, e.bucket, e.value])).toEqual([
      [1, 0, 512],
      [2, 2, 0.5],
    ]);
    // After the read, each entry's next exemplar is due again, once.
    expect(writer.due(counter)).toBe(true);
    writer.commit(counter, 1, 0, 600, 1600);
    expect(writer.due(counter)).toBe(false);
    expect(writer.due(buckets + 2)).toBe(true);
    writer.commit(buckets + 2, 2, 2, 0.7, 6000);
    expect(writer.due(buckets + 2)).toBe(false);
    // A released series' entries are due for the series that takes them next, with no read between.
    writer.release(2);
    const reused = writer.entryOf(3, 3);
    expect(reused).toBe(buckets);
    expect(writer.due(reused + 2)).toBe(true);
    // The count moves once the hub has copied the entries, not before: an owner that saw it move during
    // the read would write the very entries being copied, and the copies would be torn.
    writer.commit(counter, 1, 0, 700, 1700);
    let dueDuringRead: boolean | undefined;
    reader.read(() => {
      dueDuringRead = writer.due(counter);
      return true;
    });
    expect(dueDuringRead).toBe(false);
    expect(writer.due(counter)).toBe(true);
  });

  it("reads every commit whole whether it rewrites the whole text or only the values", () => {
    const buffer = table();
    const writer = new ExemplarTableWriter(buffer);
    const reader = new ExemplarTableReader(buffer);
    const entry = writer.entryOf(1, 1);
    const read = (): TableExemplar[] => {
      const seen: TableExemplar[] = [];
      reader.read((e) => seen.push(e) > 0);
      return seen;
    };
    // Same names and lengths (values only), a longer value, other lengths of the same total, the names swapped, numbers,
    // fewer labels, more labels, and back: each read finds exactly what was committed last.
    const commits: Array<Record<string, string | number>> = [
      { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736", span_id: "00f067aa0ba902b7" },
      { trace_id: "a".repeat(32), span_id: "b".repeat(16) },
      { trace_id: "a".repeat(32), span_id: "b".repeat(17) },
      { trace_id: "c".repeat(32), span_id: "d".repeat(17) },
      // The same total length, split otherwise.
      { trace_id: "c".repeat(33), span_id: "d".repeat(16) },
      { span_id: "d".repeat(17), trace_id: "c".repeat(32) },
      { trace_id: 12345, span_id: 6.5 },
      { trace_id: 54321, span_id: 7.5 },
      { trace_id: "54321", span_id: "7.5" },
      // Another name of the same length, then a shorter one.
      { trace_ix: "54321", span_id: "7.5" },
      { traceid: "12345", span_id: "7.5" },
      { trace_id: "e" },
      { trace_id: "f", span_id: "g", user: "h" },
      { trace_id: "😀".repeat(8), span_id: "ünï" },
      { trace_id: "😀".repeat(8), span_id: "àbc" },
    ];
    commits.forEach((labels, i) => {
      expect(writer.encode(labels)).toBe(kEncoded);
      writer.commit(entry, 1, 0, i, 1000 + i);
      const expected = Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]));
      expect(read()).toEqual([{ seriesId: 1, bucket: 0, value: i, timestampMs: 1000 + i, labels: expected }]);
    });
    // A released run reused by another series: its first commit with the same names writes values only.
    writer.release(1);
    expect(read()).toEqual([]);
    const reused = writer.entryOf(2, 1);
    expect(reused).toBe(entry);
    const last = { trace_id: "😀".repeat(8), span_id: "xyz" };
    expect(writer.encode(last)).toBe(kEncoded);
    writer.commit(reused, 2, 0, 99, 2000);
    expect(read()).toEqual([{ seriesId: 2, bucket: 0, value: 99, timestampMs: 2000, labels: last }]);
  });
});
