/**
 * The status document and page without a browser: what `/status` and `statusPage()` serve, that reading
 * them drains nothing (a poll costs less than a scrape), the CSP hash, escaping, and option errors.
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { Piscina } from "piscina";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes, MetricsHub, startHttpServer, statusPage, type StatusDocument } from "../../../src/main/index.js";
import { get } from "../../helpers/http.js";
import { Scripted } from "../../helpers/scripted.js";
import { waitFor } from "../../helpers/workers.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function newHub(options: ConstructorParameters<typeof MetricsHub>[0] = {}): MetricsHub {
  const hub = new MetricsHub({ registry: new Registry(), ...options });
  cleanups.push(() => hub.close());
  return hub;
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
}

describe("the status document", () => {
  it("is read without draining: polling it leaves the rings to the next drain, a scrape drains", async () => {
    const hub = newHub({ drainIntervalMs: 3_600_000, maxWorkers: 200 });
    const server = await startHttpServer({ hub, port: 0 });
    cleanups.push(() => server.close());
    const origin = new URL(server.url).origin;
    const worker = await Scripted.start({ workerData: hub.workerData });
    cleanups.push(() => worker.worker.terminate());
    await worker.ok("record", { kind: "counter", config: { name: "polled_total", help: "Polled." }, count: 100 });
    for (let i = 0; i < 20; i++) {
      const doc = JSON.parse((await get(`${origin}/status`)).body.toString()) as StatusDocument;
      expect(doc.hub?.recordsDrained).toBe(0);
      expect((await get(`${origin}/`)).status).toBe(200);
    }
    // The slot's owner comes from shared memory, with no drain. Of 200 slots, those up to the last one in
    // use are listed, and at least 16.
    const { slots, hub: stats } = JSON.parse((await get(`${origin}/status`)).body.toString()) as StatusDocument;
    expect(slots.filter((slot) => slot.inUse).map((slot) => slot.threadId)).toEqual([worker.worker.threadId]);
    expect(slots).toHaveLength(16);
    expect(stats?.maxWorkers).toBe(200);
    expect((await get(server.url)).status).toBe(200);
    const after = JSON.parse((await get(`${origin}/status`)).body.toString()) as StatusDocument;
    expect(after.hub?.recordsDrained).toBeGreaterThanOrEqual(100);
  });

  it("has a slot per worker, the attached pool with its task counts and buckets, and a row per thread", async () => {
    const hub = newHub({ maxWorkers: 4 });
    const pool = new Piscina({ filename: new URL("../../fixtures/pool-jobs.mjs", import.meta.url).href, workerData: hub.workerData, minThreads: 2, maxThreads: 2, atomics: "async" });
    cleanups.push(() => pool.destroy());
    hub.attach(pool, { name: "images", threadMetricsIntervalMs: 50 });
    await Promise.all([...Array.from({ length: 8 }, () => pool.run({ ms: 2 })), pool.run({ fail: true }).catch(() => {})]);
    const url = await listen(statusPage({ hub }));
    let doc: StatusDocument | undefined;
    await waitFor(async () => {
      doc = JSON.parse((await get(`${url}/ops?format=json`)).body.toString()) as StatusDocument;
      return doc.threads.length === 2 && doc.threads.every((t) => t.eventLoopUtilization !== null && t.heapUsedBytes !== null) && doc.pools[0]?.run?.counts.at(-1) === 9;
    });
    expect(doc?.slots).toHaveLength(4);
    expect(doc?.slots.filter((slot) => slot.inUse && slot.threadId !== null)).toHaveLength(2);
    const [images] = doc?.pools ?? [];
    expect(images).toMatchObject({ name: "images", threads: 2, queueSize: 0, tasks: { completed: 8, failed: 1, aborted: 0 } });
    expect(images?.wait?.le.at(-1)).toBeNull(); // +Inf
    expect(images?.run?.counts.at(-1)).toBe(9);
    expect(new Set(doc?.threads.map((t) => t.pool))).toEqual(new Set(["images"]));
  });
});

describe("statusPage()", () => {
  it("serves the page with a CSP that allows exactly its one script, which polls the handler's JSON", async () => {
    const hub = newHub();
    const url = await listen(statusPage({ hub, metricsPath: "/internal/metrics" }));
    const reply = await get(`${url}/ops/status`);
    const page = { ...reply, body: reply.body.toString() };
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    const scripts = [...page.body.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? "");
    expect(scripts).toHaveLength(1);
    const hash = createHash("sha256").update(scripts[0] ?? "", "utf8").digest("base64");
    expect(page.headers["content-security-policy"]).toContain(`script-src 'sha256-${hash}'`);
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.body).toContain('data-status="?format=json"');
    expect(page.body).toContain('href="/internal/metrics"');
    // Nothing is loaded from elsewhere: no src attribute at all, no absolute URL.
    expect(page.body).not.toMatch(/\ssrc=|https?:\/\//);
    expect((await get(`${url}/ops/status`, { method: "POST" })).status).toBe(405);
    const head = await get(`${url}/`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it("escapes what workers and users name, in the markup and in the embedded document", async () => {
    const hub = newHub();
    const name = `</script><img src=x onerror=alert(1)>"&'`;
    const pool = new Piscina({ filename: new URL("../../fixtures/pool-jobs.mjs", import.meta.url).href, workerData: hub.workerData, maxThreads: 1 });
    cleanups.push(() => pool.destroy());
    hub.attach(pool, { name });
    await pool.run({});
    const url = await listen(statusPage({ hub }));
    const body = (await get(url)).body.toString();
    expect(body).not.toContain("<img");
    expect(body).not.toContain("</script><");
    const embedded = /<script type="application\/json" id="initial">([\s\S]*?)<\/script>/.exec(body)?.[1] ?? "";
    expect((JSON.parse(embedded) as StatusDocument).pools[0]?.name).toBe(name);
  });

  it("ships a page script that parses in the built package too (the renderer's own source, as tsc emits it)", async () => {
    const built = (await import(new URL("../../../dist/main/serve/status-page.js", import.meta.url).href)) as typeof import("../../../src/main/serve/status-page.js");
    const hub = newHub();
    const html = built.statusPage(built.statusDocument(hub, "/metrics")).body.toString();
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? "";
    expect(script).toContain("function renderStatus(doc, history)");
    expect(() => new Function(script)).not.toThrow();
    // The renderer needs nothing from its module: evaluated alone, it renders the same markup.
    const alone = new Function(`${/const renderStatus = ([\s\S]*?);\nconst live/.exec(script)?.[1]}; return renderStatus;`)() as (doc: unknown, history: unknown[]) => string;
    const document = built.statusDocument(hub, "/metrics");
    const { renderStatus } = await import("../../../src/main/serve/status-render.js");
    expect(alone(document, [document])).toBe(renderStatus(document, [document]));
  });

  it("rejects bad options with a ConfigurationError", () => {
    expect(() => statusPage(undefined as never)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION }));
    expect(() => statusPage({ hub: {} as never })).toThrow(/options\.hub must be a MetricsHub/);
    expect(() => statusPage({ hub: newHub(), metricsPath: "" })).toThrow(/options\.metricsPath/);
  });
});
