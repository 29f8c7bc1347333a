/**
 * A body's buffer goes back for a later scrape only once every write of it is done: with two clients that
 * share one response, one of them reading nothing, the buffer stays lent until that client has it all
 * (or went away), and goes back once, a turn of the event loop later.
 */
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { BodyLease, SpareBuffer } from "../../../src/main/serve/body-lease.js";
import { send } from "../../../src/main/serve/respond.js";
import type { ScrapeResponse } from "../../../src/main/serve/scrape.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("BodyLease", () => {
  it("gives the buffer back once, a turn after the last holder is done, not while one still holds it", async () => {
    let given = 0;
    const lease = new BodyLease(() => given++);
    lease.hold();
    lease.hold();
    lease.drop();
    await turn();
    await turn();
    expect(given).toBe(0);
    lease.drop();
    expect(given).toBe(0);
    await turn();
    expect(given).toBe(1);
    // A holder that comes and goes in the turn before the give-back delays it.
    const late = new BodyLease(() => given++);
    late.hold();
    late.drop();
    late.hold();
    await turn();
    expect(given).toBe(1);
    late.drop();
    await turn();
    expect(given).toBe(2);
  });
});

describe("a pinned BodyLease", () => {
  it("never gives its buffer back, whoever held it", async () => {
    let given = 0;
    const lease = new BodyLease(() => given++);
    lease.hold();
    lease.pin();
    lease.drop();
    for (let i = 0; i < 5; i++) await turn();
    expect(given).toBe(0);
  });
});

describe("SpareBuffer", () => {
  it("hands back the spare only when it has a sixteenth more room than asked, and keeps the largest", () => {
    const spares = new SpareBuffer();
    const first = spares.take(1000, 16);
    expect(first.length).toBe(1125);
    spares.give(first);
    // 1,000 + 1/16 fits in 1,125: the same buffer.
    expect(spares.take(1000, 16)).toBe(first);
    // Taken: the next one is new.
    expect(spares.take(1000, 16)).not.toBe(first);
    spares.give(first);
    // 1,100 + 1/16 does not fit: a new one, and the spare stays.
    const larger = spares.take(1100, 16);
    expect(larger).not.toBe(first);
    expect(larger.length).toBe(1100 + (1100 >>> 3));
    spares.give(larger);
    expect(spares.take(1100, 16)).toBe(larger);
    expect(spares.take(1, 64).length).toBe(72);
  });
});

describe("a response shared by two clients", () => {
  it("keeps its body lent while one client has not read it, and gives it back once both are done", async () => {
    let given = 0;
    // 16 MB: more than the kernel takes for a client that reads nothing, so the write waits for it.
    const body = Buffer.alloc(16 * 1024 * 1024, 0x61);
    const response: ScrapeResponse = { status: 200, headers: { "Content-Length": String(body.length) }, body, lease: new BodyLease(() => given++) };
    const server: Server = createServer((req, res) => send(req, res, response));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as AddressInfo;
    const open = () =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path: "/metrics", agent: false }, resolve);
        req.on("error", reject);
        req.end();
      });
    const readAll = (res: IncomingMessage) =>
      new Promise<number>((resolve, reject) => {
        let bytes = 0;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
        });
        res.on("end", () => resolve(bytes));
        res.on("error", reject);
      });
    const slow = await open();
    slow.pause();
    const fast = await open();
    expect(await readAll(fast)).toBe(body.length);
    // The fast client has all of it; the slow one has read nothing: the body is still lent.
    for (let i = 0; i < 20; i++) await turn();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(given).toBe(0);
    const rest = readAll(slow);
    slow.resume();
    expect(await rest).toBe(body.length);
    for (let i = 0; i < 200 && given === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(given).toBe(1);
  });

  it("is not held by a HEAD request, which writes no body", async () => {
    let given = 0;
    const body = Buffer.alloc(1024, 0x61);
    const response: ScrapeResponse = { status: 200, headers: { "Content-Length": String(body.length) }, body, lease: new BodyLease(() => given++) };
    const server: Server = createServer((req, res) => send(req, res, response));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, method: "HEAD", agent: false }, (res) => {
        res.resume();
        res.on("end", resolve);
      });
      req.on("error", reject);
      req.end();
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(given).toBe(0);
  });
});
