/**
 * Memory mappings a hub reserves (Linux): one growable SharedArrayBuffer per worker slot, ring, exemplar
 * table and overflow together, so about two mappings per slot (the grown part and the reserved rest).
 * docs/guarantees.md states the figure. And the memory a slot's exemplar table takes, as the hub counts it.
 */
import { existsSync, readFileSync } from "node:fs";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { kExemplarEntryBytes, kExemplarGrowEntries, kExemplarHeaderBytes } from "../../src/shared/transport/layout.js";
import { nextMessage, startWorker } from "../helpers/workers.js";

const kMaps = "/proc/self/maps";
const mappings = (): number => readFileSync(kMaps, "utf8").split("\n").filter(Boolean).length;

describe.runIf(existsSync(kMaps))("memory mappings per hub", () => {
  it("one hub with the default 1,024 slots adds about 2,050 mappings", async () => {
    const before = mappings();
    const hub = new MetricsHub({ registry: new Registry() });
    try {
      const added = mappings() - before;
      // Two per slot (the buffer's grown bytes and the rest of its reservation), and a few of V8's own.
      expect(added).toBeGreaterThanOrEqual(1024);
      expect(added).toBeLessThan(2 * 1024 + 100);
    } finally {
      await hub.close();
    }
  });
});

describe("shared memory of a slot's exemplar table", () => {
  it("sharedMemoryBytes counts the table from its owner's first exemplar, as far as the owner grew it", async () => {
    const hub = new MetricsHub({ registry: new Registry() });
    const worker = startWorker("exemplar-labels.mjs", { workerData: hub.workerData });
    try {
      await nextMessage(worker);
      // A value without exemplar: the thread holds its slot (its ring), no table yet.
      worker.postMessage({ exemplarLabels: {}, value: 1 });
      expect(await nextMessage(worker)).toEqual({ done: true });
      await hub.collect();
      const ring = hub.stats().sharedMemoryBytes;
      worker.postMessage({ exemplarLabels: { trace_id: "t" }, value: 1 });
      expect(await nextMessage(worker)).toEqual({ done: true });
      await hub.collect();
      expect(hub.stats().sharedMemoryBytes).toBe(ring + kExemplarHeaderBytes + kExemplarGrowEntries * kExemplarEntryBytes);
    } finally {
      await worker.terminate();
      await hub.close();
    }
  });
});
