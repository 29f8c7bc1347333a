// node:http: one server for the app and its /metrics. Run: PORT=3000 node examples/node-http/server.mjs
import { createServer } from "node:http";
import { Piscina } from "piscina";
import { MetricsHub, metricsHandler } from "prom-threads";

const hub = new MetricsHub();
const pool = new Piscina({ filename: new URL("./task.mjs", import.meta.url).href, workerData: hub.workerData });
hub.attach(pool, { name: "sums" });
const metrics = metricsHandler({ hub });

const server = createServer(async (req, res) => {
  const url = new URL(req.url, "http://localhost");
  if (url.pathname === "/metrics") return metrics(req, res);
  if (url.pathname !== "/sum") return res.writeHead(404).end();
  const n = Math.min(Number(url.searchParams.get("n") ?? 1000), 1e8);
  res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ n, sum: await pool.run(n) }));
});
server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port} (GET /sum?n=1000, /metrics)`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, async () => {
    server.close();
    server.closeIdleConnections();
    await pool.close();
    await hub.close();
  });
}
