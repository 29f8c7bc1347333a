/**
 * Large bodies for serving tests, and a check that a server writes a body into the buffer of the scrape
 * before instead of new memory (docs/design.md, "No full collection per scrape").
 */
import { Gauge, Registry } from "prom-client";
import { expect, vi } from "vitest";
import { get } from "./http.js";

/** A registry whose text exposition is about 3 MB: 40,000 label sets of one gauge. */
export function largeRegistry(): Registry {
  const registry = new Registry();
  const gauge = new Gauge({ name: "large_body_bytes", help: "A large body.", labelNames: ["path", "shard"], registers: [registry] });
  for (let i = 0; i < 40_000; i++) gauge.set({ path: `/api/v1/resource/${i.toString(36).padStart(8, "0")}/items`, shard: String(i % 97) }, i * 1.5);
  return registry;
}

/**
 * Scrape `url` five times in each encoding and expect that, from the third scrape on, the server made no
 * buffer of about the body's size (the second may take one with room to spare). Buffers the test's own
 * client makes to join what it reads are not counted.
 */
export async function expectBodiesReused(url: string): Promise<void> {
  for (const encoding of ["identity", "gzip"]) {
    const first = await get(url, { headers: { "accept-encoding": encoding } });
    expect(first.status).toBe(200);
    const original = Buffer.allocUnsafe;
    let made = 0;
    const allocate = vi.spyOn(Buffer, "allocUnsafe").mockImplementation((bytes: number) => {
      if (bytes >= first.body.length * 0.9 && !/helpers[\\/]http/.test(new Error().stack ?? "")) made++;
      return original(bytes);
    });
    const large: number[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        made = 0;
        const reply = await get(url, { headers: { "accept-encoding": encoding } });
        expect(reply.status).toBe(200);
        expect(reply.text === first.text, encoding).toBe(true);
        large.push(made);
      }
    } finally {
      allocate.mockRestore();
    }
    expect(large.slice(1), `${encoding}: ${large.join(",")}`).toEqual([0, 0, 0]);
  }
}
