/**
 * A demo service for the status page and monitoring tests: a hub served by `startHttpServer`, a real
 * piscina pool attached to it, and a load that keeps the pool busy (a queue, some failures, a
 * declaration conflict, a metric past maxSeries) until stopped: every prom_threads_* series has data.
 */
import { Piscina } from "piscina";
import { Counter, Registry } from "prom-client";
import { MetricsHub, startHttpServer, type MetricsServer, type StartHttpServerOptions } from "../../src/main/index.js";
import { sleep } from "./http.js";

/** A running demo service. */
export interface DemoHub {
  readonly hub: MetricsHub;
  readonly server: MetricsServer;
  readonly pool: Piscina;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /** Tasks settled so far by the load. */
  settled(): number;
  /** Stop the load, the server, the pool and the hub. */
  stop(): Promise<void>;
}

/** Start the demo: `inFlight` tasks kept in flight on `threads` workers, every 10th one failing. */
export async function startDemoHub(options: { threads?: number; inFlight?: number; server?: Omit<StartHttpServerOptions, "hub"> } = {}): Promise<DemoHub> {
  const { threads = 2, inFlight = 6 } = options;
  const registry = new Registry();
  // The workers declare this name too: their declaration conflicts, and their records are dropped.
  new Counter({ name: "demo_taken_total", help: "Main thread's.", registers: [registry] });
  const hub = new MetricsHub({ registry, maxSeries: 64, maxWorkers: 16 });
  const pool = new Piscina({
    filename: new URL("../fixtures/status-jobs.mjs", import.meta.url).href,
    workerData: hub.workerData,
    minThreads: threads,
    maxThreads: threads,
    atomics: "async",
  });
  hub.attach(pool, { name: "jobs", threadMetricsIntervalMs: 200 });
  const server = await startHttpServer({ port: 0, ...options.server, hub });
  let running = true;
  let settled = 0;
  let n = 0;
  const lane = async (): Promise<void> => {
    while (running) {
      const i = n++;
      await pool.run({ ms: 1 + (i % 7), fail: i % 10 === 9, kind: i % 3 === 0 ? "resize" : "hash", item: i % 100 }).catch(() => {});
      settled++;
      // A pause now and then, so the queue size and the rates move.
      if (i % 50 === 49) await sleep(20);
    }
  };
  const lanes = Array.from({ length: inFlight }, lane);
  return {
    hub,
    server,
    pool,
    origin: new URL(server.url).origin,
    settled: () => settled,
    async stop() {
      running = false;
      await Promise.all(lanes);
      await server.close();
      await pool.destroy();
      await hub.close();
    },
  };
}
