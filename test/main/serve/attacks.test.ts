/**
 * Attacks on the metrics server that once starved real scrapers, each reproduced on loopback and bounded
 * in time: slow readers of a large exposition, clients that pipeline without reading, a keep-alive gzip
 * flood, and an absolute-form request target.
 */
import { Agent, createServer, request } from "node:http";
import type { Socket } from "node:net";
import { Gauge, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { metricsHandler } from "../../../src/main/index.js";
import { get, rawConnect, sleep, untilClosed } from "../../helpers/http.js";
import { serverScope } from "../../helpers/servers.js";

const { serve, cleanups } = serverScope();

/** A registry whose text exposition is about `mebibytes` MiB. */
function bigRegistry(mebibytes: number): Registry {
  const registry = new Registry();
  const gauge = new Gauge({ name: "app_big", help: "Many series.", labelNames: ["id", "pad"], registers: [registry] });
  const pad = "p".repeat(100);
  const series = Math.ceil((mebibytes * 1024 * 1024) / 130);
  for (let i = 0; i < series; i++) gauge.set({ id: String(i), pad }, i);
  return registry;
}

/** Whether a new client can get a 200 now (false when its connection is refused or closed). */
function scrapeOk(url: string): Promise<boolean> {
  return get(url, { timeoutMs: 5000 }).then(
    (reply) => reply.status === 200,
    () => false,
  );
}

describe("slow readers", () => {
  it("cuts off clients that ask for a multi-MiB exposition and never read it, after writeTimeout", async () => {
    const server = await serve({ registry: bigRegistry(6), maxConnections: 8, writeTimeout: 1000 });
    const readers: Socket[] = [];
    const sent = Date.now();
    for (let i = 0; i < 8; i++) {
      const socket = await rawConnect(server.port);
      socket.on("error", () => {});
      // Never read: the kernel buffers fill and the server's writes stall.
      socket.pause();
      socket.write("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
      readers.push(socket);
    }
    cleanups.push(() => {
      for (const socket of readers) socket.destroy();
    });
    // While they hold every connection nobody else is served (this is the attack); once writeTimeout
    // passes, the server has cut them off and serves again.
    let ok = false;
    while (!ok && Date.now() - sent < 10_000) {
      ok = await scrapeOk(server.url);
      if (!ok) await sleep(100);
    }
    expect(ok).toBe(true);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(900);
  });

  it("closes a connection that pipelines requests while it leaves more than maxBufferedBytes unread", async () => {
    const server = await serve({ registry: bigRegistry(4), maxBufferedBytes: 65_536, writeTimeout: 60_000 });
    const socket = await rawConnect(server.port);
    socket.on("error", () => {});
    socket.pause();
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    await sleep(500);
    socket.write("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3));
    // The client sees the close only once it reads what reached it.
    await sleep(500);
    socket.resume();
    socket.on("data", () => {});
    // Well before any of Node's own timeouts (keep-alive, headers) could close it.
    await Promise.race([closed, sleep(2500).then(() => Promise.reject(new Error("the pipelining connection was not closed")))]);
    expect(await scrapeOk(server.url)).toBe(true);
  });
});

describe("scrape floods", () => {
  it("serves real scrapes while 8 keep-alive loops ask for gzip without pause (no 503)", async () => {
    const server = await serve({ registry: bigRegistry(1) });
    let stop = false;
    const floodStatuses = new Map<number, number>();
    const loop = async (): Promise<void> => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        while (!stop) {
          const status = await new Promise<number>((resolve) => {
            const req = request(server.url, { agent, headers: { "accept-encoding": "gzip" } }, (res) => {
              res.resume();
              res.on("end", () => resolve(res.statusCode ?? 0));
            });
            req.on("error", () => resolve(0));
            req.end();
          });
          floodStatuses.set(status, (floodStatuses.get(status) ?? 0) + 1);
        }
      } finally {
        agent.destroy();
      }
    };
    const flood = Array.from({ length: 8 }, loop);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const reply = await get(server.url, { headers: { "accept-encoding": "gzip" } });
        statuses.push(reply.status);
        expect(reply.text).toContain('app_big{id="0"');
      }
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
    } finally {
      stop = true;
      await Promise.all(flood);
    }
    // The flood itself was served too (and kept going the whole time).
    expect(floodStatuses.get(200) ?? 0).toBeGreaterThan(30);
    expect(floodStatuses.get(503) ?? 0).toBe(0);
  });
});

describe("metricsHandler", () => {
  it("shares one render among concurrent scrapes of one format too", async () => {
    const registry = new Registry();
    let collects = 0;
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    new Gauge({
      name: "app_slow",
      help: "Slow.",
      registers: [registry],
      async collect() {
        collects++;
        await released;
      },
    });
    const server = createServer(metricsHandler({ registry }));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/metrics`;
    const replies = Promise.all([get(url), get(url), get(url)]);
    await sleep(200);
    release();
    expect((await replies).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(collects).toBe(1);
  });
});

describe("request targets", () => {
  it("accepts the absolute form (GET http://host/metrics), as RFC 9112 requires", async () => {
    const registry = new Registry();
    new Gauge({ name: "app_up", help: "Up.", registers: [registry] }).set(1);
    const server = await serve({ registry });
    const ask = async (target: string): Promise<string> => {
      const socket = await rawConnect(server.port);
      const answer = untilClosed(socket, 5000);
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`);
      return answer;
    };
    expect(await ask(`http://127.0.0.1:${server.port}/metrics`)).toMatch(/^HTTP\/1.1 200 OK[\s\S]*app_up 1\n$/);
    expect(await ask(`HTTP://example.com/metrics?x=1`)).toMatch(/^HTTP\/1.1 200 OK/);
    expect(await ask(`http://127.0.0.1:${server.port}/status`)).toMatch(/^HTTP\/1.1 200 OK[\s\S]*"metricsPath"/);
    expect(await ask(`http://127.0.0.1:${server.port}`)).toMatch(/^HTTP\/1.1 200 OK[\s\S]*<html/i);
    expect(await ask(`http://127.0.0.1:${server.port}/nope`)).toMatch(/^HTTP\/1.1 404/);
  });
});
