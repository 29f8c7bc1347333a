/**
 * A body of several megabytes is handed to the socket a quarter of a megabyte per turn of the event loop
 * (on loopback the kernel would take all of it in one write, inside the call): the client must get every
 * byte, identity or gzip, through a socket that fills up; HEAD gets the headers alone; a client that
 * leaves halfway through stops the writing and the server answers the next request.
 */
import { request } from "node:http";
import { Gauge, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { get } from "../../helpers/http.js";
import { serverScope } from "../../helpers/servers.js";

const { serve } = serverScope();

/** A registry whose text exposition is about 3 MB: 40,000 label sets of one gauge. */
function largeRegistry(): Registry {
  const registry = new Registry();
  const gauge = new Gauge({ name: "large_body_bytes", help: "A large body.", labelNames: ["path", "shard"], registers: [registry] });
  for (let i = 0; i < 40_000; i++) gauge.set({ path: `/api/v1/resource/${i.toString(36).padStart(8, "0")}/items`, shard: String(i % 97) }, i * 1.5);
  return registry;
}

describe("a large body", () => {
  it("arrives whole, identity and gzip, as registry.metrics() writes it", async () => {
    const registry = largeRegistry();
    const expected = await registry.metrics();
    expect(Buffer.byteLength(expected)).toBeGreaterThan(2.5 * 1024 * 1024);
    const server = await serve({ registry });
    for (const encoding of ["identity", "gzip"]) {
      const reply = await get(server.url, { headers: { "accept-encoding": encoding } });
      expect(reply.status, encoding).toBe(200);
      expect(reply.headers["content-length"], encoding).toBe(String(reply.body.length));
      expect(reply.text === expected, encoding).toBe(true);
    }
    const head = await get(server.url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(Number(head.headers["content-length"])).toBe(Buffer.byteLength(expected));
  });

  it("stops when the client leaves halfway, and the next request is answered whole", async () => {
    const registry = largeRegistry();
    const expected = await registry.metrics();
    const server = await serve({ registry });
    // Read the first chunk only, then destroy the connection.
    await new Promise<void>((resolve, reject) => {
      const req = request(server.url, { agent: false, headers: { "accept-encoding": "identity" } }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", (error: NodeJS.ErrnoException) => (error.code === "ECONNRESET" ? resolve() : reject(error)));
      req.end();
    });
    const reply = await get(server.url, { headers: { "accept-encoding": "identity" } });
    expect(reply.status).toBe(200);
    expect(reply.text === expected).toBe(true);
  });
});
