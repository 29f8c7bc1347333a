import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { Counter, Gauge, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { ErrorCodes, MetricsHub, PromThreadsError, startHttpServer } from "../../../src/main/index.js";
import { assertValidExposition, skipWithout } from "../../helpers/exposition-checkers.js";
import { get, PROMETHEUS_ACCEPT } from "../../helpers/http.js";
import { serverScope } from "../../helpers/servers.js";

const TEXT = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

const { serve, cleanups } = serverScope();

function appRegistry(): Registry {
  const registry = new Registry();
  new Counter({ name: "app_requests_total", help: "Requests.", labelNames: ["code"], registers: [registry] }).inc({ code: "200" }, 5);
  return registry;
}

/** Run the record.mjs fixture to completion: it records `count` increments of fx_jobs_total{kind}. */
async function recordInWorker(hub: MetricsHub, count: number, label: string): Promise<void> {
  const worker = new Worker(new URL("../../fixtures/record.mjs", import.meta.url), { workerData: { ...hub.workerData, job: { count, label } } });
  // Listen for both at once: a worker that exits right after posting may emit 'exit' in the same task
  // that delivers its last message, before a listener added afterwards could see it.
  const exited = once(worker, "exit");
  await once(worker, "message");
  await exited;
}

describe("routes and methods", () => {
  it("serves the metrics path, ignores a query string, 404s elsewhere", async () => {
    const server = await serve({ registry: appRegistry() });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
    const ok = await get(server.url);
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('app_requests_total{code="200"} 5');
    expect((await get(`${server.url}?debug=1`)).status).toBe(200);
    for (const path of ["/nope", "/metrics/", "/metricsx", "/favicon.ico"]) {
      const missing = await get(`http://127.0.0.1:${server.port}${path}`);
      expect(missing.status, path).toBe(404);
    }
  });

  it("serves a custom path only", async () => {
    const server = await serve({ registry: appRegistry(), path: "/internal/prom" });
    expect((await get(`http://127.0.0.1:${server.port}/internal/prom`)).status).toBe(200);
    expect((await get(`http://127.0.0.1:${server.port}/metrics`)).status).toBe(404);
  });

  it("answers other methods with 405 and Allow: GET, HEAD on every route", async () => {
    const server = await serve({ registry: appRegistry() });
    for (const path of ["/metrics", "/", "/status"]) {
      for (const method of ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"]) {
        const reply = await get(`http://127.0.0.1:${server.port}${path}`, { method });
        expect(reply.status, `${method} ${path}`).toBe(405);
        expect(reply.headers.allow).toBe("GET, HEAD");
      }
    }
  });

  it("answers HEAD with GET's headers and no body", async () => {
    const server = await serve({ registry: appRegistry() });
    const variants: Record<string, string>[] = [{}, { accept: PROMETHEUS_ACCEPT, "accept-encoding": "gzip" }];
    for (const headers of variants) {
      const full = await get(server.url, { headers });
      const head = await get(server.url, { method: "HEAD", headers });
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      expect(head.headers["content-type"]).toBe(full.headers["content-type"]);
      expect(head.headers["content-encoding"]).toBe(full.headers["content-encoding"]);
      expect(Number(head.headers["content-length"])).toBe(full.body.length);
    }
  });
});

describe("negotiation over HTTP", () => {
  it("gives Prometheus OpenMetrics and everyone else the text format, with exact Content-Types", async () => {
    const server = await serve({ registry: appRegistry() });
    const om = await get(server.url, { headers: { accept: PROMETHEUS_ACCEPT } });
    expect(om.headers["content-type"]).toBe(OPENMETRICS);
    expect(om.text).toContain("# TYPE app_requests counter\n");
    expect(om.text.endsWith("# EOF\n")).toBe(true);
    for (const accept of [undefined, "*/*", "text/plain", "application/json"]) {
      const text = await get(server.url, { headers: accept === undefined ? {} : { accept } });
      expect(text.headers["content-type"], String(accept)).toBe(TEXT);
      expect(text.text).toContain("# TYPE app_requests_total counter\n");
    }
    expect(om.headers.vary).toBe("Accept, Accept-Encoding");
  });

  it("gzips when Accept-Encoding allows it, and not when q=0", async () => {
    const server = await serve({ registry: appRegistry() });
    const plain = await get(server.url);
    expect(plain.headers["content-encoding"]).toBeUndefined();
    const zipped = await get(server.url, { headers: { "accept-encoding": "br, gzip" } });
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(zipped.body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(zipped.text).toBe(plain.text);
    expect(Number(zipped.headers["content-length"])).toBe(zipped.body.length);
    for (const refused of ["gzip;q=0", "gzip;q=0, *", "identity", "*;q=0"]) {
      const reply = await get(server.url, { headers: { "accept-encoding": refused } });
      expect(reply.headers["content-encoding"], refused).toBeUndefined();
      expect(reply.text).toBe(plain.text);
    }
  });
});

describe("the hub", () => {
  it("is drained before each scrape: a worker's records are in the first scrape after it finished", async () => {
    const registry = new Registry();
    // A drain interval of an hour: only the scrape itself can bring the records in.
    const hub = new MetricsHub({ registry, drainIntervalMs: 3_600_000 });
    cleanups.push(() => hub.close());
    const server = await serve({ hub });
    await recordInWorker(hub, 1000, "first");
    const reply = await get(server.url, { headers: { accept: PROMETHEUS_ACCEPT } });
    expect(reply.text).toContain('fx_jobs_total{kind="first"} 1000\n');
    expect(reply.text).toContain('fx_job_seconds_count{kind="first"} 1000\n');
    await recordInWorker(hub, 250, "second");
    const text = await get(server.url);
    expect(text.text).toContain('fx_jobs_total{kind="second"} 250\n');
    // Each run records count increments, count observations and one gauge set.
    expect(text.text).toContain("prom_threads_records_drained_total 2502\n");
  });

  it("keeps serving the registry after the hub is closed, and says the hub is closed", async () => {
    const registry = appRegistry();
    const hub = new MetricsHub({ registry });
    const server = await serve({ hub });
    await recordInWorker(hub, 5, "late");
    await hub.close();
    const reply = await get(server.url);
    expect(reply.status).toBe(200);
    expect(reply.text).toContain('app_requests_total{code="200"} 5');
    // close() removed the hub's metrics from the registry.
    expect(reply.text).not.toContain("fx_jobs_total");
    expect(JSON.parse((await get(`http://127.0.0.1:${server.port}/status`)).text).hub.closed).toBe(true);
  });

  it("shows the hub's state on / and /status, and says when there is no hub", async () => {
    const registry = new Registry();
    const hub = new MetricsHub({ registry, maxWorkers: 5 });
    cleanups.push(() => hub.close());
    const server = await serve({ hub });
    await recordInWorker(hub, 100, "a");
    await get(server.url);
    const status = await get(`http://127.0.0.1:${server.port}/status`);
    expect(status.headers["content-type"]).toBe("application/json; charset=utf-8");
    const document = JSON.parse(status.text) as { metricsPath: string; hub: { recordsDrained: number; maxWorkers: number; recordsDropped: Record<string, number>; ringFill: number; workersConnected: number } };
    expect(document.metricsPath).toBe("/metrics");
    expect(document.hub.maxWorkers).toBe(5);
    // 100 increments, 100 observations and one gauge set.
    expect(document.hub.recordsDrained).toBe(201);
    expect(document.hub.workersConnected).toBe(0);
    expect(document.hub.recordsDropped.ring_full).toBe(0);
    const page = await get(`http://127.0.0.1:${server.port}/`);
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.text).toContain('<a href="./metrics">');
    expect(page.text).toMatch(/<span class="value" id="drained">201<\/span>/);
    expect(page.text).toMatch(/<span class="value" id="workers">0 of 5<\/span>/);
    expect(page.text).toContain('data-status="status"');
    // The inline script is the only script allowed, by its hash.
    const script = /<script>([\s\S]*?)<\/script>/.exec(page.text)?.[1] ?? "";
    const { createHash } = await import("node:crypto");
    expect(page.headers["content-security-policy"]).toContain(`script-src 'sha256-${createHash("sha256").update(script).digest("base64")}'`);

    const bare = await serve({ registry: appRegistry() });
    expect(JSON.parse((await get(`http://127.0.0.1:${bare.port}/status`)).text)).toMatchObject({ metricsPath: "/metrics", hub: null, slots: [], pools: [], threads: [] });
    expect((await get(`http://127.0.0.1:${bare.port}/`)).text).toContain("No MetricsHub");
  });
});

describe("a collect callback that fails", () => {
  function failingRegistry(mode: { fail: false | "throw" | "reject" }): Registry {
    const registry = appRegistry();
    new Gauge({
      name: "app_flaky",
      help: "Fails on demand.",
      registers: [registry],
      collect() {
        if (mode.fail === "throw") throw new Error("sensor unplugged");
        if (mode.fail === "reject") return Promise.reject(new Error("sensor timed out"));
        this.set(1);
        return undefined;
      },
    });
    return registry;
  }

  it("gets a 500, is reported on the hub's error event, and the server keeps serving", async () => {
    const mode: { fail: false | "throw" | "reject" } = { fail: "throw" };
    const registry = failingRegistry(mode);
    const hub = new MetricsHub({ registry });
    cleanups.push(() => hub.close());
    const errors: PromThreadsError[] = [];
    hub.on("error", (error) => errors.push(error));
    const server = await serve({ hub });
    for (const [fail, message] of [["throw", "sensor unplugged"], ["reject", "sensor timed out"]] as const) {
      mode.fail = fail;
      for (const accept of [PROMETHEUS_ACCEPT, "text/plain"]) {
        const reply = await get(server.url, { headers: { accept } });
        expect(reply.status).toBe(500);
        expect(reply.headers["content-type"]).toBe("text/plain; charset=utf-8");
        expect(reply.text).toBe("500 Internal Server Error: collecting metrics failed\n");
        expect(reply.text).not.toContain(message);
        const error = errors.pop();
        expect(error).toBeInstanceOf(PromThreadsError);
        expect(error?.code).toBe(ErrorCodes.COLLECT_FAILED);
        expect(error?.message).toContain(message);
        expect((error?.cause as Error | undefined)?.message).toBe(message);
      }
    }
    expect((await get(`http://127.0.0.1:${server.port}/status`)).status).toBe(200);
    mode.fail = false;
    const healthy = await get(server.url);
    expect(healthy.status).toBe(200);
    expect(healthy.text).toContain("app_flaky 1\n");
    expect(errors).toEqual([]);
  });

  it("without a hub, goes to onError", async () => {
    const errors: PromThreadsError[] = [];
    const server = await serve({ registry: failingRegistry({ fail: "reject" }), onError: (error) => errors.push(error) });
    expect((await get(server.url)).status).toBe(500);
    expect(errors.map((e) => e.code)).toEqual([ErrorCodes.COLLECT_FAILED]);
  });

  it("with nobody listening, becomes one process warning per distinct problem", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on("warning", onWarning);
    cleanups.push(() => void process.off("warning", onWarning));
    const server = await serve({ registry: failingRegistry({ fail: "throw" }) });
    for (let i = 0; i < 3; i++) expect((await get(server.url)).status).toBe(500);
    await new Promise((resolve) => setImmediate(resolve));
    const ours = warnings.filter((w) => (w as Error & { code?: string }).code === ErrorCodes.COLLECT_FAILED);
    expect(ours).toHaveLength(1);
    expect(ours[0]?.message).toContain("sensor unplugged");
  });
});

describe("options", () => {
  it.each([
    [{ port: -1 }, "options.port must be an integer from 0 to 65535, got -1"],
    [{ port: 1.5 }, "options.port must be"],
    [{ port: "80" }, "options.port must be"],
    [{ host: "" }, "options.host must be"],
    [{ path: "metrics" }, 'options.path must be a path that starts with "/"'],
    [{ path: "/metrics?x" }, "options.path must be"],
    [{ registry: {} }, "options.registry must be a prom-client Registry"],
    [{ hub: {} }, "options.hub must be a MetricsHub"],
    [{ onError: "log" }, "options.onError must be a function"],
    [{ maxConcurrentScrapes: 0 }, "options.maxConcurrentScrapes must be an integer from 1"],
    [{ headersTimeout: 5000, requestTimeout: 1000 }, "options.headersTimeout must be at most options.requestTimeout (1000), got 5000"],
    [{ requestTimeout: 0 }, "options.requestTimeout must be"],
    [{ maxHeaderSize: 10 }, "options.maxHeaderSize must be"],
    [{ maxConnections: 0 }, "options.maxConnections must be"],
    [{ tls: {} }, "options.tls must be given key and cert"],
    [{ tls: { key: "k", cert: "c", minVersion: "TLSv1.1" } }, 'options.tls.minVersion must be "TLSv1.2" or "TLSv1.3" (TLS below 1.2 is refused), got "TLSv1.1"'],
    [{ tls: { key: "k", cert: "c", maxVersion: "TLSv1" } }, "options.tls.maxVersion must be"],
    [{ tls: { key: "k", cert: "c", secureProtocol: "TLSv1_1_method" } }, "options.tls.secureProtocol must be left out"],
    [{ auth: { username: "a:b", password: "x" } }, "options.auth.username must be a non-empty string without ':'"],
    [{ auth: { username: "a", password: "" } }, "options.auth.password must be a non-empty string"],
    [{ auth: { username: "a", password: "$2b$10$tooshort" } }, "options.auth.password must be a valid bcrypt hash"],
  ])("rejects %j", async (options, message) => {
    const attempt = startHttpServer({ port: 0, ...(options as object) });
    await expect(attempt).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION });
    await expect(attempt).rejects.toThrow(message);
  });

  it("rejects with ERR_PROM_THREADS_LISTEN_FAILED when the port is taken", async () => {
    const first = await serve({ registry: appRegistry() });
    const second = startHttpServer({ registry: appRegistry(), port: first.port });
    await expect(second).rejects.toMatchObject({ code: ErrorCodes.LISTEN_FAILED });
    await expect(second).rejects.toThrow(`cannot listen on 127.0.0.1:${first.port}`);
  });

  it("closes idempotently and frees the port", async () => {
    const server = await startHttpServer({ registry: appRegistry(), port: 0 });
    await get(server.url);
    await Promise.all([server.close(), server.close()]);
    await expect(get(server.url, { timeoutMs: 2000 })).rejects.toThrow(/ECONNREFUSED/);
    const again = await serve({ registry: appRegistry(), port: server.port });
    expect(again.port).toBe(server.port);
  });
});

describe.skipIf(skipWithout(["promtool", "python"], "served exposition checks"))("what the server sends", () => {
  it("is valid in both formats, for prom-client and hub metrics with hostile labels", async () => {
    const registry = appRegistry();
    const hub = new MetricsHub({ registry });
    cleanups.push(() => hub.close());
    new Counter({ name: "app_odd_total", help: 'Odd "labels" \\ here.', labelNames: ["v"], registers: [registry] }).inc({ v: 'q"b\\n\nü 😀' });
    const server = await serve({ hub });
    await recordInWorker(hub, 10, 'w"orker\\\n✓');
    const om = await get(server.url, { headers: { accept: PROMETHEUS_ACCEPT, "accept-encoding": "gzip" } });
    const omFamilies = await assertValidExposition(om.text, "openmetrics");
    expect(omFamilies.find((f) => f.name === "fx_jobs")?.samples[0]?.labels.kind).toBe('w"orker\\\n✓');
    const text = await get(server.url);
    const textFamilies = await assertValidExposition(text.text, "text");
    expect(textFamilies.find((f) => f.name === "app_odd")?.samples[0]?.labels.v).toBe('q"b\\n\nü 😀');
  });
});
