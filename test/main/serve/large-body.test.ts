/**
 * A body of several megabytes is handed to the socket a quarter of a megabyte per turn of the event loop
 * (on loopback the kernel would take all of it in one write, inside the call): the client must get every
 * byte, identity or gzip, through a socket that fills up; HEAD gets the headers alone; a client that
 * leaves halfway through stops the writing and the server answers the next request. A body that grows
 * by a few bytes a scrape is rendered into the buffer of the scrape before.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { request, type ServerResponse } from "node:http";
import { Gauge, Registry } from "prom-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { scrape } from "../../../src/main/serve/scrape.js";
import { expectBodiesReused, largeRegistry } from "../../helpers/body-reuse.js";
import { get } from "../../helpers/http.js";
import { serverScope } from "../../helpers/servers.js";

const { serve, cleanups } = serverScope();
afterEach(() => {
  vi.restoreAllMocks();
});

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

  it("is handed to the socket one part per turn of the event loop, on loopback too", async () => {
    const registry = largeRegistry();
    const server = await serve({ registry });
    // The turn of the event loop each write of the response ran in, counted by a setImmediate loop.
    let turn = 0;
    let looping = true;
    const loop = (): void => {
      turn++;
      if (looping) setImmediate(loop);
    };
    setImmediate(loop);
    cleanups.push(() => {
      looping = false;
    });
    const writes: number[] = [];
    const onRequest = (message: unknown): void => {
      const response = (message as { response: ServerResponse }).response;
      const { write, end } = response;
      response.write = function (this: ServerResponse, ...args: Parameters<ServerResponse["write"]>) {
        writes.push(turn);
        return write.apply(this, args);
      } as ServerResponse["write"];
      response.end = function (this: ServerResponse, ...args: Parameters<ServerResponse["end"]>) {
        writes.push(turn);
        return end.apply(this, args);
      } as ServerResponse["end"];
    };
    subscribe("http.server.request.start", onRequest);
    cleanups.push(() => unsubscribe("http.server.request.start", onRequest));
    const reply = await get(server.url, { headers: { "accept-encoding": "identity" } });
    expect(reply.status).toBe(200);
    expect(reply.body.length).toBeGreaterThan(2.5 * 1024 * 1024);
    // A quarter of a megabyte per write: more than ten writes, each in a later turn than the one before.
    expect(writes.length).toBeGreaterThan(10);
    for (let i = 1; i < writes.length; i++) expect(writes[i], `write ${i} of ${writes.length}: ${writes.join(",")}`).toBeGreaterThan(writes[i - 1] as number);
  });

  it("that grows by a few bytes a scrape is written into the buffer of the scrape before", async () => {
    const registry = largeRegistry();
    const gauge = registry.getSingleMetric("large_body_bytes") as Gauge;
    const source = { registry, hub: undefined, report: (error: unknown) => expect.fail(String(error)) };
    const request = { accept: undefined, acceptEncoding: "gzip" };
    const first = await scrape(source, request);
    expect(first.status).toBe(200);
    const bodyBytes = Buffer.byteLength(await registry.metrics());
    const allocate = vi.spyOn(Buffer, "allocUnsafe");
    const large: number[] = [];
    for (let i = 1; i <= 5; i++) {
      // One value gains a digit per scrape: the body grows by a byte.
      gauge.set({ path: "/api/v1/resource/00000000/items", shard: "0" }, 10 ** i);
      allocate.mockClear();
      const reply = await scrape(source, request);
      expect(reply.status).toBe(200);
      large.push(allocate.mock.calls.filter(([bytes]) => (bytes as number) >= bodyBytes * 0.9).length);
    }
    // The second scrape may take a buffer with room to spare; from then on the body has a buffer.
    expect(large.slice(1), large.join(",")).toEqual([0, 0, 0, 0]);
  });

  it("rendered for nobody (every client went away) leaves its buffer to the next render", async () => {
    // Many metrics: the render yields between them, so the abort comes halfway.
    const registry = new Registry();
    for (let m = 0; m < 40; m++) {
      const gauge = new Gauge({ name: `large_body_${m}_bytes`, help: "A large body.", labelNames: ["path"], registers: [registry] });
      for (let i = 0; i < 1000; i++) gauge.set({ path: `/api/v1/resource/${i.toString(36).padStart(8, "0")}/items` }, i * 1.5);
    }
    const source = { registry, hub: undefined, report: (error: unknown) => expect.fail(String(error)) };
    const request = { accept: undefined, acceptEncoding: "gzip" };
    // Gzipped bodies give the rendered buffer back once compressed: the second render writes into it.
    for (let i = 0; i < 2; i++) expect((await scrape(source, request)).status).toBe(200);
    const bodyBytes = Buffer.byteLength(await registry.metrics());
    const allocate = vi.spyOn(Buffer, "allocUnsafe");
    const large = (): number => allocate.mock.calls.filter(([bytes]) => (bytes as number) >= bodyBytes * 0.9).length;
    const signal = { aborted: false };
    setImmediate(() => (signal.aborted = true));
    const stopped = await scrape(source, request, signal);
    expect(stopped.status).toBe(503);
    expect(large()).toBe(0);
    const next = await scrape(source, request);
    expect(next.status).toBe(200);
    expect(large()).toBe(0);
  });

  it("sent as it is or gzipped, is written into the buffer of the scrape before once that one was written", async () => {
    const server = await serve({ registry: largeRegistry() });
    await expectBodiesReused(server.url);
  });
});
