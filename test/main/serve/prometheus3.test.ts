/**
 * Prometheus 3 serving without a Prometheus: escaping negotiation, UTF-8 names from worker threads in
 * every format, `name[]` filtering, and created timestamps (protobuf always, OpenMetrics `_created` when
 * asked), with a real piscina pool, hub and server.
 */
import { Piscina } from "piscina";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsHub, startHttpServer, type MetricsServer } from "../../../src/main/index.js";
import { escapeName } from "../../../src/shared/model/names.js";
import { negotiate } from "../../../src/main/serve/negotiation.js";
import { PROMETHEUS_ACCEPT } from "../../helpers/http.js";
import { delimited, fields } from "../../helpers/protobuf.js";

/** The Accept header Prometheus 3.5 sends by default. */
const PROMETHEUS_3_ACCEPT =
  "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
/** The Accept header Prometheus 3.5 sends with created-timestamp-zero-ingestion: protobuf first, no escaping. */
const PROMETHEUS_3_PROTOBUF_ACCEPT =
  "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

/** GET `url`: its Content-Type and body as text. */
async function get(url: string, init: { headers?: Record<string, string> } = {}): Promise<{ headers: Record<string, string | null>; body: string }> {
  const response = await fetch(url, init);
  return { headers: { "content-type": response.headers.get("content-type") }, body: await response.text() };
}

describe("negotiating the escaping of names", () => {
  it("follows the scraper's escaping= and escapes with underscores when it names none", () => {
    expect(negotiate(PROMETHEUS_3_ACCEPT)).toEqual({ format: "openmetrics", version: "1.0.0", escaping: "allow-utf-8", escapingNamed: true });
    expect(negotiate(PROMETHEUS_ACCEPT)).toEqual({ format: "openmetrics", version: "1.0.0", escaping: "underscores", escapingNamed: false });
    expect(negotiate(PROMETHEUS_3_PROTOBUF_ACCEPT)).toEqual({ format: "protobuf", version: "", escaping: "underscores", escapingNamed: false });
    expect(negotiate("text/plain;version=1.0.0;escaping=allow-utf-8")).toEqual({ format: "text", version: "1.0.0", escaping: "allow-utf-8", escapingNamed: true });
    expect(negotiate("text/plain;version=1.0.0;escaping=dots")).toMatchObject({ version: "1.0.0", escaping: "dots" });
    expect(negotiate("text/plain;version=1.0.0;escaping=values")).toMatchObject({ version: "1.0.0", escaping: "values" });
    expect(negotiate("text/plain;version=1.0.0;escaping=bogus")).toMatchObject({ version: "1.0.0", escaping: "underscores", escapingNamed: false });
    expect(negotiate("text/plain")).toMatchObject({ format: "text", version: "0.0.4" });
    expect(negotiate(undefined)).toMatchObject({ format: "text", version: "0.0.4", escaping: "underscores" });
  });

  it("escapes names as prometheus/docs' escaping schemes say", () => {
    expect(escapeName("metric.name/with/slashes", "underscores")).toBe("metric_name_with_slashes");
    expect(escapeName("metric.name.with.dots", "dots")).toBe("metric_dot_name_dot_with_dot_dots");
    expect(escapeName("my_metric", "dots")).toBe("my__metric");
    expect(escapeName("a.b", "values")).toBe("U__a_2e_b");
    expect(escapeName("a_b.c", "values")).toBe("U__a__b_2e_c");
    expect(escapeName("classic_name", "values")).toBe("classic_name");
    expect(escapeName("classic:name", "underscores")).toBe("classic:name");
    expect(escapeName("http:route", "underscores", "label")).toBe("http_route");
    expect(escapeName("9lives", "underscores")).toBe("_lives");
    expect(escapeName("Ω.x", "values")).toBe("U___3a9__2e_x");
    expect(escapeName("http.route", "allow-utf-8")).toBe("http.route");
  });
});

describe("UTF-8 names and created timestamps from worker threads", () => {
  let hub: MetricsHub;
  let server: MetricsServer;
  let pool: Piscina;
  let before = 0;
  let after = 0;

  beforeAll(async () => {
    hub = new MetricsHub({ registry: new Registry() });
    server = await startHttpServer({ hub, port: 0, openMetricsCreatedSamples: true });
    pool = new Piscina({ filename: new URL("../../fixtures/utf8-names-task.mjs", import.meta.url).href, workerData: hub.workerData });
    hub.attach(pool);
    before = Date.now() / 1000;
    await pool.run({ route: "/a", count: 3 });
    await pool.run({ kind: "x", count: 5 });
  });

  afterAll(async () => {
    after = Date.now() / 1000;
    await pool.destroy();
    await server.close();
    await hub.close();
  });

  it("writes the declared names, quoted, to a scraper that allows UTF-8, and says so in the Content-Type", async () => {
    const om = await get(`${server.url}`, { headers: { Accept: PROMETHEUS_3_ACCEPT } });
    expect(om.headers["content-type"]).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8");
    expect(om.body).toContain('# TYPE "http.server.request.duration" histogram\n');
    expect(om.body).toContain('{"http.server.request.duration_bucket",le="0.25","http.route"="/a"} 1\n');
    expect(om.body).toContain('{"http.server.request.duration_count","http.route"="/a"} 3\n');
    const text = await get(`${server.url}`, { headers: { Accept: "text/plain;version=1.0.0;escaping=allow-utf-8" } });
    expect(text.headers["content-type"]).toBe("text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8");
    expect(text.body).toContain('# HELP "http.server.request.duration" Request time.\n');
    expect(text.body).toContain('{"http.server.request.duration_sum","http.route"="/a"} 2.625\n');
  });

  it("escapes the names for a scraper that does not allow UTF-8: underscores by default, or the scheme it names", async () => {
    const plain = await get(`${server.url}`);
    expect(plain.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(plain.body).toContain('http_server_request_duration_bucket{le="0.25",http_route="/a"} 1\n');
    expect(plain.body).not.toContain("http.server");
    const prometheus2 = await get(`${server.url}`, { headers: { Accept: PROMETHEUS_ACCEPT } });
    expect(prometheus2.headers["content-type"]).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
    expect(prometheus2.body).toContain('http_server_request_duration_count{http_route="/a"} 3\n');
    const dots = await get(`${server.url}`, { headers: { Accept: "text/plain;version=1.0.0;escaping=dots" } });
    expect(dots.headers["content-type"]).toBe("text/plain; version=1.0.0; charset=utf-8; escaping=dots");
    expect(dots.body).toContain('http_dot_server_dot_request_dot_duration_count{http_dot_route="/a"} 3\n');
    expect(dots.body).toContain('otel__jobs_total{kind="x"} 5\n');
    const values = await get(`${server.url}`, { headers: { Accept: "text/plain;version=1.0.0;escaping=values" } });
    expect(values.body).toContain('U__http_2e_server_2e_request_2e_duration_count{U__http_2e_route="/a"} 3\n');
  });

  it("registers the metric in prom-client's registry under its escaped names, so registry.metrics() stays valid", async () => {
    const text = await hub.registry.metrics();
    expect(text).toContain('http_server_request_duration_count{http_route="/a"} 3');
    expect(text).not.toContain("http.server");
    expect(hub.registry.getSingleMetric("http_server_request_duration")).toBeDefined();
  });

  it("renders only the families named by name[] (declared or escaped names)", async () => {
    const jobs = await get(`${server.url}?name[]=otel_jobs_total`);
    expect(jobs.body).toContain("otel_jobs_total");
    expect(jobs.body).not.toContain("request_duration");
    const both = await get(`${server.url}?name[]=otel_jobs_total&name%5B%5D=http.server.request.duration`, { headers: { Accept: PROMETHEUS_3_ACCEPT } });
    expect(both.body).toContain("otel_jobs_total");
    expect(both.body).toContain('"http.server.request.duration_count"');
    expect(both.body).not.toContain("prom_threads_");
    const none = await get(`${server.url}?name[]=nothing_here`);
    expect(none.body).toBe("\n");
  });

  it("writes OpenMetrics _created samples when asked: when the hub first saw each series", async () => {
    const om = await get(`${server.url}`, { headers: { Accept: PROMETHEUS_ACCEPT } });
    const created = /^otel_jobs_created\{kind="x"\} (\S+)$/m.exec(om.body);
    expect(created, om.body).not.toBeNull();
    const seconds = Number(created![1]);
    expect(seconds).toBeGreaterThanOrEqual(before);
    expect(seconds).toBeLessThanOrEqual(Date.now() / 1000);
    expect(om.body).toMatch(/^http_server_request_duration_created\{http_route="\/a"\} \S+$/m);
    // Never in the text format, which has no created samples.
    expect((await get(`${server.url}`)).body).not.toMatch(/^otel_jobs_created/m);
  });

  it("carries created_timestamp in protobuf for counters and histograms", async () => {
    const response = await fetch(server.url, { headers: { Accept: PROMETHEUS_3_PROTOBUF_ACCEPT } });
    expect(response.headers.get("content-type")).toBe("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited");
    const families = delimited(new Uint8Array(await response.arrayBuffer())).map((bytes) => fields(bytes));
    const byName = (name: string) => families.find((f) => new TextDecoder().decode(f.get(1)?.[0]?.value as Uint8Array) === name);
    const createdOf = (family: ReturnType<typeof byName>, typeField: number, createdField: number): number => {
      const metric = fields(family!.get(4)![0]!.value as Uint8Array);
      const typed = fields(metric.get(typeField)![0]!.value as Uint8Array);
      const ts = fields(typed.get(createdField)![0]!.value as Uint8Array);
      return Number(ts.get(1)![0]!.value) + Number(ts.get(2)?.[0]?.value ?? 0n) / 1e9;
    };
    // Names escaped with underscores: the scraper named no scheme.
    const counter = createdOf(byName("otel_jobs_total"), 3, 3);
    const histogram = createdOf(byName("http_server_request_duration"), 7, 15);
    for (const created of [counter, histogram]) {
      expect(created).toBeGreaterThanOrEqual(Math.floor(before));
      expect(created).toBeLessThanOrEqual(Date.now() / 1000);
    }
  });

  it("moves the created time on reset()", async () => {
    const createdOf = async () => Number(/^otel_jobs_created\{kind="x"\} (\S+)$/m.exec((await get(`${server.url}`, { headers: { Accept: PROMETHEUS_ACCEPT } })).body)?.[1]);
    const first = await createdOf();
    await new Promise((resolve) => setTimeout(resolve, 20));
    hub.registry.resetMetrics();
    await pool.run({ kind: "x", count: 2 });
    const second = await createdOf();
    expect(second).toBeGreaterThan(first);
    void after;
  });
});
