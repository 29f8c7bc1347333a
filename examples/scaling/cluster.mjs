// node:cluster with prom-threads: every worker process runs a piscina pool with its own MetricsHub; the
// primary adds them all up and serves one port, and also lists each process's own port for Prometheus
// service discovery.
//
//   node examples/scaling/cluster.mjs          serve until Ctrl-C (PORT, WORKERS, JOBS to change the defaults)
//   node examples/scaling/cluster.mjs --once   print what Prometheus would see, then exit
import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import { ClusterAggregator, ClusterPublisher, MetricsHub, TargetDirectory, announceToPrimary, startHttpServer } from "prom-threads";

const WORKERS = Number(process.env.WORKERS ?? Math.min(2, availableParallelism()));
const JOBS = Number(process.env.JOBS ?? 100);

if (cluster.isPrimary) {
  const aggregator = new ClusterAggregator(); // its own registry, filled by the worker processes
  const directory = new TargetDirectory({ labels: { service: "example" } });
  directory.acceptClusterWorkers();
  const server = await startHttpServer({ registry: aggregator.registry, port: Number(process.env.PORT ?? 9464), httpSd: directory });
  console.log(`primary: all processes at ${server.url}, their own ports at ${server.url.replace(/metrics$/, "http_sd")}`);

  const done = [];
  for (let i = 0; i < WORKERS; i++) {
    const worker = cluster.fork();
    done.push(new Promise((resolve) => worker.on("message", (message) => message === "batch-done" && resolve())));
  }
  await Promise.all(done);

  const metrics = await (await fetch(server.url)).text();
  console.log(metrics.split("\n").filter((line) => /^(jobs_total|job_seconds_count|prom_threads_records_drained_total)/.test(line)).join("\n"));
  console.log(`http_sd: ${JSON.stringify(directory.groups())}`);

  const stop = async () => {
    for (const worker of Object.values(cluster.workers)) worker.disconnect(); // workers close on disconnect
    await new Promise((resolve) => cluster.on("exit", () => Object.keys(cluster.workers).length === 0 && resolve()));
    await server.close();
    await aggregator.close();
  };
  if (process.argv.includes("--once")) await stop();
  else process.once("SIGINT", stop);
} else {
  const hub = new MetricsHub();
  const pool = new Piscina({ filename: new URL("./task.mjs", import.meta.url).href, workerData: hub.workerData, maxThreads: 2 });
  hub.attach(pool);
  const publisher = new ClusterPublisher({ hub, intervalMs: 1000 }); // pushes to the primary
  const server = await startHttpServer({ hub, port: 0 }); // this process alone, on a port of its own
  const withdraw = announceToPrimary(server, { labels: { worker: String(cluster.worker.id) } });

  await Promise.all(Array.from({ length: JOBS }, (_, n) => pool.run({ n })));
  await publisher.push(); // acknowledged: the primary has every count of this batch, whatever happens next
  process.send("batch-done");

  process.once("disconnect", async () => {
    withdraw();
    await server.close();
    await publisher.close();
    await pool.destroy();
    await hub.close();
  });
}
