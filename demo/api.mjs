// The demo's HTTP API: GET /jobs/<kind>?params runs one job in the pool and answers its result as JSON.
import { createServer } from "node:http";
import { Counter } from "prom-client";
import { KINDS } from "./jobs/kinds.mjs";

/** Read and check the query parameters of `kind`; returns the parameters or an error message. */
function paramsOf(kind, query) {
  const params = {};
  for (const [name, { min, max, default: fallback }] of Object.entries(KINDS[kind])) {
    const text = query.get(name);
    const value = text === null ? fallback : Number(text);
    if (!Number.isInteger(value) || value < min || value > max) return { error: `${name} must be an integer from ${min} to ${max}` };
    params[name] = value;
  }
  return { params };
}

/**
 * Start the API server on `host`:`port`. Responses are counted in `demo_http_responses_total{route,code}`
 * (a main-thread prom-client counter, in the same registry as the workers' metrics).
 * @returns {Promise<{ url: string, close(): Promise<void> }>}
 */
export async function startApi({ pool, host, port, registry }) {
  const responses = new Counter({
    name: "demo_http_responses_total",
    help: "API responses sent, by route and status code.",
    labelNames: ["route", "code"],
    registers: [registry],
  });
  const send = (res, route, code, body, headers = {}) => {
    const text = typeof body === "string" ? body : `${JSON.stringify(body)}\n`;
    const type = typeof body === "string" ? "text/plain; charset=utf-8" : "application/json";
    res.writeHead(code, { "Content-Type": type, "Content-Length": Buffer.byteLength(text), ...headers });
    res.end(res.req.method === "HEAD" ? undefined : text);
    responses.inc({ route, code: String(code) });
  };

  async function handle(req, res) {
    const url = new URL(req.url ?? "/", "http://demo");
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, "other", 405, "405 Method Not Allowed\n", { Allow: "GET, HEAD" });
    if (url.pathname === "/healthz") return send(res, "/healthz", 200, "ok\n");
    if (url.pathname === "/") return send(res, "/", 200, { jobs: Object.keys(KINDS).map((kind) => `/jobs/${kind}`), metrics: "see the metrics port" });
    const kind = url.pathname.startsWith("/jobs/") ? url.pathname.slice("/jobs/".length) : "";
    if (!Object.hasOwn(KINDS, kind)) return send(res, "other", 404, "404 Not Found\n");
    const route = `/jobs/${kind}`;
    const { params, error } = paramsOf(kind, url.searchParams);
    if (error !== undefined) return send(res, route, 400, { error });
    let result;
    try {
      result = await pool.run({ kind, params });
    } catch (err) {
      // piscina's full queue: back off. Anything else is the job's failure.
      if (/queue is at limit|no task queue available/i.test(err.message)) return send(res, route, 503, { error: "busy, retry later" }, { "Retry-After": "1" });
      return send(res, route, 500, { error: err.message });
    }
    send(res, route, 200, { kind, params, result });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) send(res, "other", 500, { error: err.message });
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const shownHost = host.includes(":") ? `[${host}]` : host;
  let closing;
  return {
    url: `http://${shownHost}:${address.port}/`,
    /** Stop accepting connections, let requests in progress finish (at most 5 s), then resolve. */
    close() {
      closing ??= new Promise((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), 5000).unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
