// express: a metrics route next to the app's routes. Run: PORT=3000 node examples/express/server.mjs
import express from "express";
import { Piscina } from "piscina";
import { MetricsHub, metricsHandler } from "prom-threads";

const hub = new MetricsHub();
const pool = new Piscina({ filename: new URL("./task.mjs", import.meta.url).href, workerData: hub.workerData });
hub.attach(pool, { name: "sums" });

const app = express();
app.all("/metrics", metricsHandler({ hub })); // all: other methods get 405, not 404
app.get("/sum", async (req, res) => {
  const n = Math.min(Number(req.query.n ?? 1000), 1e8);
  res.json({ n, sum: await pool.run(n) });
});
const server = app.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
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
