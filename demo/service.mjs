// Helpers of the load test: start and stop a demo service as a child process, read its metrics.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const SERVER = fileURLToPath(new URL("./server.mjs", import.meta.url));
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** Throw unless `url` points at this machine: the load test sends nothing anywhere else. */
export function assertLoopback(url, flag) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${flag} must be a URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" || !LOOPBACK.has(parsed.hostname)) throw new Error(`${flag} must be an http URL on loopback (127.0.0.1, localhost or [::1]), got ${url}`);
  return parsed;
}

/** Whether a demo answers on `apiUrl` (GET /healthz within 1 s). */
export async function isUp(apiUrl) {
  try {
    const response = await fetch(new URL("/healthz", apiUrl), { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Start `demo/server.mjs` on free loopback ports; resolves once it printed both URLs.
 * @returns {Promise<{ apiUrl: string, metricsUrl: string, stop(): Promise<number | null> }>}
 */
export async function startDemo({ threads } = {}) {
  const args = [SERVER, "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0"];
  if (threads !== undefined) args.push("--threads", String(threads));
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  const urls = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`the demo did not start within 15 s:\n${output}`)), 15_000);
    const fail = (error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(error);
    };
    const onExit = (code) => fail(new Error(`the demo exited with code ${code} before it started:\n${output}`));
    const onData = (chunk) => {
      output += chunk;
      const api = /API\s+(http:\/\/\S+)/.exec(output)?.[1];
      const metrics = /metrics\s+(http:\/\/\S+)/.exec(output)?.[1];
      if (api === undefined || metrics === undefined) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      child.stdout.off("data", onData);
      resolve({ apiUrl: api, metricsUrl: metrics });
    };
    child.once("exit", onExit);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", onData);
  });
  // Pass on what it prints from now on (its shutdown lines); this also keeps the pipe from filling.
  child.stdout.on("data", (chunk) => process.stdout.write(chunk));
  return {
    ...urls,
    /** SIGTERM, then resolve with the exit code (SIGKILL after 20 s, resolving null). */
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const [code] = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Scrape `metricsUrl` and return the values of `name{kind="..."}` by kind. */
export async function jobCounts(metricsUrl, name = "demo_jobs_total") {
  const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`scraping ${metricsUrl} answered ${response.status}`);
  const counts = {};
  const pattern = new RegExp(`^${name}\\{kind="([^"]+)"\\} (\\S+)$`, "gm");
  for (const [, kind, value] of (await response.text()).matchAll(pattern)) counts[kind] = Number(value);
  return counts;
}
