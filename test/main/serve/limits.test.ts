import { Gauge, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { get, rawConnect, sleep, untilClosed } from "../../helpers/http.js";
import { serverScope } from "../../helpers/servers.js";

const { serve } = serverScope();

function simpleRegistry(): Registry {
  const registry = new Registry();
  new Gauge({ name: "app_up", help: "Up.", registers: [registry] }).set(1);
  return registry;
}

/** Write `bytes` one at a time every `everyMs`, until the socket closes; resolves with how many were written. */
function trickle(socket: import("node:net").Socket, bytes: string, everyMs: number): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || sent >= bytes.length) {
        clearInterval(timer);
        resolve(sent);
        return;
      }
      socket.write(bytes[sent++] as string);
    }, everyMs);
    socket.once("close", () => {
      clearInterval(timer);
      resolve(sent);
    });
  });
}

describe("concurrent scrapes", () => {
  it("shares one render among scrapes of one format, answers 503 with Retry-After only past maxConcurrentScrapes distinct renders", async () => {
    const registry = simpleRegistry();
    let entered = 0;
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let blocking = true;
    new Gauge({
      name: "app_slow",
      help: "Collects slowly while blocking is on.",
      registers: [registry],
      async collect() {
        if (!blocking) return;
        entered++;
        await released;
      },
    });
    const server = await serve({ registry, maxConcurrentScrapes: 2 });
    const openMetrics = { headers: { accept: "application/openmetrics-text;version=1.0.0" } };
    const held = [get(server.url), get(server.url, openMetrics)];
    for (let i = 0; i < 200 && entered < 2; i++) await sleep(10);
    expect(entered).toBe(2);
    // A third kind of scrape (gzip) would be a third render: refused.
    const refused = await get(server.url, { headers: { "accept-encoding": "gzip" } });
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("1");
    // The same kind as one in progress joins it instead: no new collect, no 503.
    const joined = [get(server.url), get(server.url, openMetrics), get(server.url)];
    await sleep(100);
    expect(entered).toBe(2);
    // Other routes are not scrapes and stay available.
    expect((await get(`http://127.0.0.1:${server.port}/status`)).status).toBe(200);
    blocking = false;
    release();
    const replies = await Promise.all([...held, ...joined]);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(replies[2]?.text).toBe(replies[0]?.text);
    expect(replies[3]?.headers["content-type"]).toContain("openmetrics");
    expect((await get(server.url)).status).toBe(200);
  });
});

describe("slow clients", () => {
  it("cuts off a client that sends its headers byte by byte slower than headersTimeout, while serving others", async () => {
    const server = await serve({ registry: simpleRegistry(), headersTimeout: 600, requestTimeout: 5000 });
    const socket = await rawConnect(server.port);
    const closed = untilClosed(socket, 8000);
    const headers = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\nAccept: */*\r\n\r\n";
    const writing = trickle(socket, headers, 100);
    // While the slow client holds its connection, scrapes go through.
    for (let i = 0; i < 3; i++) expect((await get(server.url)).status).toBe(200);
    const received = await closed;
    expect(received.startsWith("HTTP/1.1 408")).toBe(true);
    // It never managed to finish its request.
    expect(await writing).toBeLessThan(headers.length);
  });

  it("cuts off a client that sends its body slower than requestTimeout", async () => {
    const server = await serve({ registry: simpleRegistry(), headersTimeout: 500, requestTimeout: 1000 });
    const socket = await rawConnect(server.port);
    const closed = untilClosed(socket, 8000);
    socket.write("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 200\r\n\r\n");
    const writing = trickle(socket, "x".repeat(200), 50);
    expect((await get(server.url)).status).toBe(200);
    await closed;
    expect(await writing).toBeLessThan(200);
  });

  it("(control) a client as slow but within the timeouts is served", async () => {
    const server = await serve({ registry: simpleRegistry(), headersTimeout: 5000, requestTimeout: 10_000 });
    const socket = await rawConnect(server.port);
    const closed = untilClosed(socket, 8000);
    await trickle(socket, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 20);
    expect(await closed).toMatch(/^HTTP\/1.1 200 OK[\s\S]*app_up 1\n$/);
  });
});

describe("request size", () => {
  it("answers 431 to request headers larger than maxHeaderSize", async () => {
    const server = await serve({ registry: simpleRegistry(), maxHeaderSize: 2048 });
    const big = await get(server.url, { headers: { "x-padding": "p".repeat(4000) } });
    expect(big.status).toBe(431);
    const fits = await get(server.url, { headers: { "x-padding": "p".repeat(1000) } });
    expect(fits.status).toBe(200);
  });
});

describe("connections", () => {
  it("closes connections past maxConnections at once, and accepts again when one leaves", async () => {
    const server = await serve({ registry: simpleRegistry(), maxConnections: 3, headersTimeout: 10_000, requestTimeout: 20_000 });
    const holders = await Promise.all([rawConnect(server.port), rawConnect(server.port), rawConnect(server.port)]);
    const extra = await rawConnect(server.port);
    expect(await untilClosed(extra, 3000)).toBe("");
    // The holders are still open: the first of them can still make a request.
    const first = holders[0]!;
    const answer = untilClosed(first, 3000);
    first.write("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(await answer).toMatch(/^HTTP\/1.1 200 OK/);
    // With one connection gone, a new client gets in (the server counts the close asynchronously).
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = await get(server.url).then(
        (reply) => reply.status,
        () => 0,
      );
      if (status !== 200) await sleep(20);
    }
    expect(status).toBe(200);
    for (const socket of holders) socket.destroy();
  });
});
