/**
 * Memory mappings a hub reserves (Linux): one growable SharedArrayBuffer per worker slot, ring, exemplar
 * table and overflow together, so about two mappings per slot (the grown part and the reserved rest).
 * docs/guarantees.md states the figure.
 */
import { existsSync, readFileSync } from "node:fs";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";

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
