// fastify: the prom-threads plugin adds GET /metrics. Run: PORT=3000 node examples/fastify/server.mjs
import Fastify from "fastify";
import { Piscina } from "piscina";
import { MetricsHub } from "prom-threads";
import promThreads from "prom-threads/fastify";

const hub = new MetricsHub();
const pool = new Piscina({ filename: new URL("./task.mjs", import.meta.url).href, workerData: hub.workerData });
hub.attach(pool, { name: "sums" });

const app = Fastify();
await app.register(promThreads, { hub });
app.get("/sum", async (request) => {
  const n = Math.min(Number(request.query.n ?? 1000), 1e8);
  return { n, sum: await pool.run(n) };
});
const address = await app.listen({ port: Number(process.env.PORT ?? 3000), host: "127.0.0.1" });
console.log(`listening on ${address} (GET /sum?n=1000, /metrics)`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, async () => {
    await app.close();
    await pool.close();
    await hub.close();
  });
}
