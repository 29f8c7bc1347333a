/**
 * The demo service (`npm start`) and its load test (`npm run load`), run as the user runs them: child
 * processes on free loopback ports, stopped by signals, every wait bounded.
 */
import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { samples } from "../helpers/exposition.js";
import { get } from "../helpers/http.js";
import { Child, runToEnd } from "../helpers/processes.js";

const running: Child[] = [];
afterEach(async () => {
  for (const child of running.splice(0)) await child.stop("SIGKILL");
});

async function startDemo(args: string[] = [], env: Record<string, string> = {}) {
  const child = new Child(["demo/server.mjs", ...args], { env });
  running.push(child);
  const api = (await child.waitFor(/API\s+(http:\/\/\S+)/))[1]!;
  const metrics = (await child.waitFor(/metrics\s+(http:\/\/\S+)/))[1]!;
  // The start-up banner ends with the thread count; it may come in a later chunk than the URLs.
  await child.waitFor(/worker threads; stop with Ctrl-C/);
  return { child, api, metrics };
}

describe("the demo service", () => {
  it("prints its options, with their environment variables, for --help (also through npm start)", async () => {
    const direct = await runToEnd(["demo/server.mjs", "--help"]);
    expect(direct.code).toBe(0);
    for (const text of ["--host", "HOST", "--port", "PORT", "--metrics-port", "METRICS_PORT", "--threads", "THREADS", "/jobs/hash"]) expect(direct.stdout).toContain(text);
    // npm start builds first (prestart), then runs the same program.
    const viaNpm = await runToEnd(["start", "--", "--help"], { command: "npm" });
    expect(viaNpm.code).toBe(0);
    expect(viaNpm.stdout).toContain(direct.stdout);
  });

  it("refuses bad options with exit code 2 and a message that points to --help", async () => {
    for (const [args, env, message] of [
      [["--port", "99999"], {}, "--port (PORT) must be an integer from 0 to 65535"],
      [[], { THREADS: "0" }, "--threads (THREADS) must be an integer from 1 to 256"],
      [["--nope"], {}, "Unknown option '--nope'"],
    ] as const) {
      const result = await runToEnd(["demo/server.mjs", ...args], { env: { PORT: "0", METRICS_PORT: "0", ...env } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr).toContain("--help");
    }
  });

  it("runs jobs of every kind in its pool and serves their metrics, then stops cleanly on SIGTERM", async () => {
    const { child, api, metrics } = await startDemo([], { PORT: "0", METRICS_PORT: "0", THREADS: "2", HOST: "127.0.0.1" });
    expect(child.stdout).toContain("2 worker threads");
    expect(api).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    for (const kind of ["hash", "json", "pixels"]) {
      const reply = await get(`${api}jobs/${kind}`);
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.text)).toMatchObject({ kind, result: expect.any(Object) });
    }
    expect((await get(`${api}jobs/pixels?size=1`)).status).toBe(400);
    expect((await get(`${api}jobs/nope`)).status).toBe(404);
    expect((await get(`${api}jobs/hash`, { method: "POST" })).status).toBe(405);
    const all = samples((await get(metrics)).text);
    for (const kind of ["hash", "json", "pixels"]) {
      expect(all.get(`demo_jobs_total{kind="${kind}"}`)).toBe(1);
      expect(all.get(`demo_job_seconds_count{kind="${kind}"}`)).toBe(1);
    }
    expect(all.get('prom_threads_pool_tasks_total{pool="jobs",outcome="completed"}')).toBe(3);
    expect(all.get('prom_threads_pool_task_run_seconds_count{pool="jobs"}')).toBe(3);
    expect(all.get('prom_threads_pool_threads{pool="jobs"}')).toBe(2);
    expect(all.get('demo_http_responses_total{route="/jobs/pixels",code="400"}')).toBe(1);
    expect([...all.keys()].some((key) => key.startsWith("prom_threads_thread_heap_used_bytes{"))).toBe(true);
    expect(all.has("process_cpu_user_seconds_total")).toBe(true);
    const { code } = await child.stop("SIGTERM");
    expect(code).toBe(0);
    expect(child.stdout).toContain("demo: stopped");
  });

  it("finishes the requests in progress, queued jobs included, before it stops on SIGINT", async () => {
    const { child, api } = await startDemo(["--port", "0", "--metrics-port", "0", "--threads", "1"]);
    // Three jobs of over 100 ms each on one thread: when the signal comes, one runs and two wait.
    const slow = [0, 1, 2].map(() => get(`${api}jobs/pixels?size=2048`, { timeoutMs: 20_000 }).then((reply) => ({ reply, at: performance.now() })));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const signalled = performance.now();
    child.process.kill("SIGINT");
    for (const { reply, at } of await Promise.all(slow)) {
      expect(reply.status).toBe(200);
      expect(at).toBeGreaterThan(signalled);
    }
    expect((await child.exited()).code).toBe(0);
    expect(child.stdout).toContain("SIGINT: finishing requests in progress");
  });

  it("exits with code 1 and says why when its port is taken", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runToEnd(["demo/server.mjs", "--port", String(port), "--metrics-port", "0"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("cannot start");
    } finally {
      blocker.close();
    }
  });
});

describe("the load test", () => {
  it("drives a demo of its own, prints throughput and latency, and finds every job counted (npm run load -- --seconds 2)", async () => {
    const result = await runToEnd(["demo/load.mjs", "--seconds", "2", "--start", "--threads", "2", "--connections", "4"], { timeoutMs: 60_000 });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/load: +1\.\d s +\d+ responses\/s +\d+ 2xx so far/);
    expect(result.stdout).toMatch(/requests\/s/);
    expect(result.stdout).toMatch(/latency ms {2}p50 \d+ {2}p90 \d+ {2}p97\.5 \d+ {2}p99 \d+/);
    for (const kind of ["hash", "json", "pixels"]) expect(result.stdout).toMatch(new RegExp(`load: ${kind} +[1-9]\\d* +[1-9]\\d* +ok`));
    expect(result.stdout).toContain("load: OK");
    expect(result.stdout).toContain("load: demo stopped, exit code 0");
  });

  it("exits with code 1 when a job counter differs from the 2xx responses", async () => {
    // A stand-in demo that answers every job but whose counter never moves.
    const server = createServer((req, res) => {
      if (req.url === "/metrics") res.end('demo_jobs_total{kind="hash"} 5\ndemo_jobs_total{kind="json"} 5\ndemo_jobs_total{kind="pixels"} 5\n');
      else res.end("ok\n");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const result = await runToEnd(["demo/load.mjs", "--seconds", "1", "--connections", "2", "--url", `${base}/`, "--metrics-url", `${base}/metrics`]);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/load: hash +[1-9]\d* +0 +MISMATCH/);
      expect(result.stdout).toContain("load: FAIL");
    } finally {
      server.close();
    }
  });

  it("sends nothing off this machine", async () => {
    const result = await runToEnd(["demo/load.mjs", "--seconds", "1", "--url", "http://192.0.2.1:3000/"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--url must be an http URL on loopback");
  });
});
