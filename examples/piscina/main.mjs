// piscina: a pool attached to the hub exports its own metrics (tasks by outcome, wait and run times,
// threads, queue) next to what its tasks record. Run: node examples/piscina/main.mjs
import { Piscina } from "piscina";
import { register } from "prom-client";
import { MetricsHub } from "prom-threads";

const hub = new MetricsHub();
const pool = new Piscina({ filename: new URL("./task.mjs", import.meta.url).href, workerData: hub.workerData, maxThreads: 2 });
hub.attach(pool, { name: "squares" });

const results = await Promise.allSettled([...Array.from({ length: 20 }, (_, n) => pool.run(n)), pool.run("seven")]);
console.log(`${results.filter((r) => r.status === "fulfilled").length} squared, ${results.filter((r) => r.status === "rejected").length} failed`);
console.log(await register.metrics()); // prom_threads_pool_tasks_total{pool="squares",outcome="completed"} 20, ...
await pool.destroy();
await hub.close();
