/** Every program in examples/ runs as documented: started, scraped or read, stopped; loopback only. */
import { afterEach, describe, expect, it } from "vitest";
import { samples } from "./helpers/exposition.js";
import { get } from "./helpers/http.js";
import { Child, runToEnd } from "./helpers/processes.js";

const running: Child[] = [];
afterEach(async () => {
  for (const child of running.splice(0)) await child.stop("SIGKILL");
});

describe("examples that print their metrics", () => {
  it("worker-threads: two plain workers' counts, exact", async () => {
    const { code, stdout, stderr } = await runToEnd(["examples/worker-threads/main.mjs"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const all = samples(stdout);
    expect(all.get('example_items_total{worker="0"}')).toBe(1000);
    expect(all.get('example_items_total{worker="1"}')).toBe(1000);
    expect(all.get("example_item_size_count")).toBe(2000);
    expect(all.get("prom_threads_workers_connected")).toBe(0); // both exited, slots freed
  });

  it("piscina: the task's counts and the pool's own metrics", async () => {
    const { code, stdout, stderr } = await runToEnd(["examples/piscina/main.mjs"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toContain("20 squared, 1 failed");
    const all = samples(stdout);
    expect(all.get('example_squared_total{parity="odd"}')).toBe(10);
    expect(all.get('example_squared_total{parity="even"}')).toBe(10);
    expect(all.get('prom_threads_pool_tasks_total{pool="squares",outcome="completed"}')).toBe(20);
    expect(all.get('prom_threads_pool_tasks_total{pool="squares",outcome="failed"}')).toBe(1);
    expect(all.get('prom_threads_pool_task_run_seconds_count{pool="squares"}')).toBe(21);
  });
});

describe.each(["node-http", "express", "fastify"])("server example %s", (name) => {
  it("serves its route and /metrics, and stops on SIGTERM", async () => {
    const child = new Child([`examples/${name}/server.mjs`], { env: { PORT: "0" } });
    running.push(child);
    const base = (await child.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const reply = await get(`${base}/sum?n=1000`);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text)).toEqual({ n: 1000, sum: 500500 });
    expect((await get(`${base}/sum?n=10`)).status).toBe(200);
    const metrics = await get(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    const all = samples(metrics.text);
    expect(all.get("example_additions_total")).toBe(1010);
    expect(all.get('prom_threads_pool_tasks_total{pool="sums",outcome="completed"}')).toBe(2);
    const { code, signal } = await child.stop("SIGTERM", 15_000);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(child.stderr).toBe("");
  });
});
