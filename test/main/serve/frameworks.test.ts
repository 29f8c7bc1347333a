import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Worker } from "node:worker_threads";
import express from "express";
import Fastify from "fastify";
import { Counter, Gauge, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import promThreads from "../../../src/fastify/index.js";
import { expectBodiesReused, largeRegistry } from "../../helpers/body-reuse.js";
import { ErrorCodes, MetricsHub, metricsHandler, type PromThreadsError } from "../../../src/main/index.js";
import { assertValidExposition, tools } from "../../helpers/exposition-checkers.js";
import { get, PROMETHEUS_ACCEPT } from "../../helpers/http.js";

const TEXT = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function listen(server: Server): Promise<string> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A hub with its registry, a worker's records waiting in its ring, and a drain timer that never fires. */
async function hubWithRecords(): Promise<MetricsHub> {
  const registry = new Registry();
  new Counter({ name: "app_requests_total", help: "Requests.", registers: [registry] }).inc(3);
  const hub = new MetricsHub({ registry, drainIntervalMs: 3_600_000 });
  cleanups.push(() => hub.close());
  const worker = new Worker(new URL("../../fixtures/record.mjs", import.meta.url), { workerData: { ...hub.workerData, job: { count: 40, label: "fw" } } });
  const exited = once(worker, "exit"); // before the message: 'exit' may follow it in the same task
  await once(worker, "message");
  await exited;
  return hub;
}

/** The behaviour every way of serving shares, checked against one base URL. */
async function checkServing(url: string, options: { methodNotAllowed?: boolean } = {}): Promise<void> {
  const text = await get(url);
  expect(text.status).toBe(200);
  expect(text.headers["content-type"]).toBe(TEXT);
  expect(text.text).toContain('fx_jobs_total{kind="fw"} 40\n');
  expect(text.text).toContain("app_requests_total 3\n");

  const om = await get(url, { headers: { accept: PROMETHEUS_ACCEPT, "accept-encoding": "gzip" } });
  expect(om.headers["content-type"]).toBe(OPENMETRICS);
  expect(om.headers["content-encoding"]).toBe("gzip");
  expect(om.text).toContain('fx_jobs_total{kind="fw"} 40\n');
  expect(om.text.endsWith("# EOF\n")).toBe(true);

  // Judged too where the tools exist (server.test.ts and exposition.test.ts warn when they do not).
  if (tools.promtool && tools.python) {
    await assertValidExposition(text.text, "text");
    await assertValidExposition(om.text, "openmetrics");
  }

  const head = await get(url, { method: "HEAD" });
  expect(head.status).toBe(200);
  expect(head.body.length).toBe(0);
  expect(head.headers["content-type"]).toBe(TEXT);

  if (options.methodNotAllowed !== false) {
    const post = await get(url, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
  }
}

describe("metricsHandler", () => {
  it("serves with node:http", async () => {
    const hub = await hubWithRecords();
    const base = await listen(createServer(metricsHandler({ hub })));
    await checkServing(`${base}/metrics`);
  });

  it("serves with express, mounted with app.all", async () => {
    const hub = await hubWithRecords();
    const app = express();
    app.all("/metrics", metricsHandler({ hub }));
    const base = await listen(createServer(app));
    await checkServing(`${base}/metrics`);
    expect((await get(`${base}/other`)).status).toBe(404);
  });

  it("answers 500 and reports to onError when a collect throws", async () => {
    const registry = new Registry();
    new Gauge({
      name: "app_broken",
      help: "Broken.",
      registers: [registry],
      collect() {
        throw new Error("boom");
      },
    });
    const errors: PromThreadsError[] = [];
    const base = await listen(createServer(metricsHandler({ registry, onError: (e) => errors.push(e) })));
    const reply = await get(`${base}/metrics`);
    expect(reply.status).toBe(500);
    expect(errors.map((e) => e.code)).toEqual([ErrorCodes.COLLECT_FAILED]);
  });

  it("throws synchronously for invalid options", () => {
    expect(() => metricsHandler({ registry: {} as never })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION }));
    expect(() => metricsHandler(42 as never)).toThrow("options must be an object");
  });

  it("defaults to prom-client's default registry", async () => {
    const { register } = await import("prom-client");
    const counter = new Counter({ name: "app_default_registry_total", help: "In the default registry." });
    cleanups.push(() => register.removeSingleMetric("app_default_registry_total"));
    counter.inc(2);
    const base = await listen(createServer(metricsHandler()));
    expect((await get(`${base}/metrics`)).text).toContain("app_default_registry_total 2\n");
  });
});

describe("fastify plugin", () => {
  it("serves the metrics route with the same behaviour", async () => {
    const hub = await hubWithRecords();
    const app = Fastify();
    cleanups.push(() => app.close());
    await app.register(promThreads, { hub });
    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    await checkServing(`${address}/metrics`);
    expect((await get(`${address}/other`)).status).toBe(404);
  });

  it("gives a large body's buffer back once fastify has written it, for the next scrape to write into", async () => {
    const app = Fastify();
    cleanups.push(() => app.close());
    await app.register(promThreads, { registry: largeRegistry() });
    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    await expectBodiesReused(`${address}/metrics`);
  });

  it("honours a path and a prefix", async () => {
    const hub = await hubWithRecords();
    const app = Fastify();
    cleanups.push(() => app.close());
    await app.register(promThreads, { hub, path: "/prom", prefix: "/internal" });
    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    await checkServing(`${address}/internal/prom`);
  });

  it("fails registration for invalid options", async () => {
    const app = Fastify();
    cleanups.push(() => app.close());
    await expect(app.register(promThreads, { path: "no-slash" })).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION });
  });

  it("is not loaded by the main entry (nor are express and bcryptjs, statically)", async () => {
    // Statements at the start of a line only: TSDoc examples import express and fastify on purpose.
    const { readFileSync } = await import("node:fs");
    const root = new URL("../../../src/main/", import.meta.url);
    const { readdirSync } = await import("node:fs");
    const files = readdirSync(root, { recursive: true }) as string[];
    const offenders = files.filter((f) => f.endsWith(".ts") && /^(?:import|export)[^;]*?["'](fastify|express|bcryptjs)["']/m.test(readFileSync(new URL(f, root), "utf8")));
    expect(offenders).toEqual([]);
  });
});
