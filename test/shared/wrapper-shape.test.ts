import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import Fastify from "fastify";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { countExceptions, time, trackInProgress } from "../../src/main/index.js";
import { get } from "../helpers/http.js";
import { samples } from "../helpers/exposition.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function metrics() {
  const registry = new Registry();
  const seconds = new Histogram({ name: "handler_seconds", help: "h", buckets: [1], registers: [registry] });
  const errors = new Counter({ name: "handler_errors_total", help: "h", registers: [registry] });
  const active = new Gauge({ name: "handler_active", help: "h", registers: [registry] });
  return { registry, seconds, errors, active, read: async () => samples(await registry.metrics()) };
}

type Wrapper = (fn: (...args: never[]) => unknown) => (...args: never[]) => unknown;
function wrappers(m: ReturnType<typeof metrics>): Record<string, Wrapper> {
  return {
    time: (fn) => time(m.seconds, fn),
    countExceptions: (fn) => countExceptions(m.errors, fn),
    trackInProgress: (fn) => trackInProgress(m.active, fn),
  };
}

describe("wrapped functions keep their shape", () => {
  for (const name of ["time", "countExceptions", "trackInProgress"]) {
    it(`${name}() keeps length and name, and this`, () => {
      const wrap = wrappers(metrics())[name] as Wrapper;
      function handler(this: { k: number }, a: number, b: number, c: number, d: number) {
        return this.k + a + b + c + d;
      }
      const wrapped = wrap(handler as never) as unknown as typeof handler;
      expect(wrapped.length).toBe(4);
      expect(wrapped.name).toBe("handler");
      expect(wrapped.call({ k: 10 }, 1, 2, 3, 4)).toBe(20);
      expect(wrapped.constructor.name).toBe("Function");
    });

    it(`${name}() returns an AsyncFunction for an async function, and a plain one for a sync one`, async () => {
      const wrap = wrappers(metrics())[name] as Wrapper;
      const wrappedAsync = wrap(async function load(this: { k: number }, x: number) {
        return this.k * x;
      } as never) as unknown as (this: { k: number }, x: number) => Promise<number>;
      expect(wrappedAsync.constructor.name).toBe("AsyncFunction");
      expect(Object.prototype.toString.call(wrappedAsync)).toBe("[object AsyncFunction]");
      expect(wrappedAsync.name).toBe("load");
      expect(wrappedAsync.length).toBe(1);
      await expect(wrappedAsync.call({ k: 3 }, 5)).resolves.toBe(15);
      const wrappedSync = wrap(() => 1);
      expect(wrappedSync.constructor.name).toBe("Function");
    });
  }

  it("an async wrapper still records when the function rejects", async () => {
    const m = metrics();
    const failing = countExceptions(m.errors, time(m.seconds, trackInProgress(m.active, async () => {
      throw new Error("no");
    })));
    expect(failing.constructor.name).toBe("AsyncFunction");
    await expect(failing()).rejects.toThrow("no");
    const all = await m.read();
    expect(all.get("handler_errors_total")).toBe(1);
    expect(all.get("handler_seconds_count")).toBe(1);
    expect(all.get("handler_active")).toBe(0);
  });
});

async function listen(app: express.Express): Promise<string> {
  const server: Server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("a real Express app", () => {
  for (const name of ["time", "countExceptions", "trackInProgress"]) {
    it(`keeps an error middleware wrapped by ${name}() an error middleware`, async () => {
      const m = metrics();
      const wrap = wrappers(m)[name] as Wrapper;
      const app = express();
      app.get("/boom", () => {
        throw new Error("kaput");
      });
      app.get("/ok", wrap((_req: Request, res: Response) => {
        res.send("fine");
      }) as never);
      // Express calls this only for errors, and only because its length is 4.
      const onError = (err: Error, _req: Request, res: Response, _next: NextFunction) => {
        res.status(599).send(`handled ${err.message}`);
      };
      app.use(wrap(onError as never) as never);
      const url = await listen(app);
      const failed = await get(`${url}/boom`);
      expect(failed.status).toBe(599);
      expect(failed.body.toString()).toBe("handled kaput");
      const ok = await get(`${url}/ok`);
      expect(ok.status).toBe(200);
      expect(ok.body.toString()).toBe("fine");
      const all = await m.read();
      if (name === "time") expect(all.get("handler_seconds_count")).toBe(2);
      if (name === "trackInProgress") expect(all.get("handler_active")).toBe(0);
      if (name === "countExceptions") expect(all.get("handler_errors_total")).toBe(0);
    });
  }

  it("counts an async route's rejection, which Express 5 passes to the error middleware", async () => {
    const m = metrics();
    const app = express();
    app.get("/reject", countExceptions(m.errors, async (_req: Request, _res: Response) => {
      throw new Error("async kaput");
    }));
    app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
      res.status(598).send(err.message);
    });
    const url = await listen(app);
    const reply = await get(`${url}/reject`);
    expect(reply.status).toBe(598);
    expect(reply.body.toString()).toBe("async kaput");
    expect((await m.read()).get("handler_errors_total")).toBe(1);
  });
});

describe("a real fastify route", () => {
  it("serves an async handler wrapped by all three wrappers, with fastify's this", async () => {
    const m = metrics();
    const app = Fastify();
    cleanups.push(() => app.close());
    let seenThis: unknown;
    const handler = async function route(this: unknown, request: { params: { n: string } }) {
      seenThis = this;
      if (request.params.n === "0") throw new Error("zero");
      return { double: Number(request.params.n) * 2 };
    };
    const wrapped = countExceptions(m.errors, time(m.seconds, trackInProgress(m.active, handler)));
    expect(wrapped.constructor.name).toBe("AsyncFunction");
    app.get("/double/:n", wrapped as never);
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    const ok = await get(`${url}/double/21`);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body.toString())).toEqual({ double: 42 });
    // fastify binds a handler's `this` to its instance.
    expect(seenThis).toBe(app);
    const failed = await get(`${url}/double/0`);
    expect(failed.status).toBe(500);
    const all = await m.read();
    expect(all.get("handler_seconds_count")).toBe(2);
    expect(all.get("handler_errors_total")).toBe(1);
    expect(all.get("handler_active")).toBe(0);
  });
});
