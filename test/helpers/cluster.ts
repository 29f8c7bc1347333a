/**
 * Real node:cluster worker processes for tests: fork them from the test process (the cluster primary),
 * command them over the IPC channel, kill them, and always clean up.
 */
import cluster, { type Worker } from "node:cluster";

/** A forked cluster worker process running test/fixtures/cluster-process.mjs. */
export interface Proc {
  readonly worker: Worker;
  readonly pid: number;
  /** The port of its own metrics server (with SERVE=1). */
  readonly port: number | undefined;
  /** Resolves once the process has exited and its channel is closed (every message it sent was read). */
  readonly gone: Promise<void>;
}

let nextId = 1;
const live = new Set<Worker>();

/** Fork one worker process on `fixture` (default: cluster-process.mjs) with extra environment variables. */
export async function fork(env: Record<string, string> = {}, fixture = "cluster-process.mjs"): Promise<Proc> {
  cluster.setupPrimary({ exec: new URL(`../fixtures/${fixture}`, import.meta.url).pathname, execArgv: [], silent: false });
  const worker = cluster.fork(env);
  live.add(worker);
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  const disconnected = new Promise<void>((resolve) => worker.once("disconnect", () => resolve()));
  const gone = Promise.all([exited, disconnected]).then(() => {
    live.delete(worker);
  });
  const ready = await new Promise<{ pid: number; port?: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("cluster worker not ready after 15 s")), 15_000);
    const onMessage = (message: { test?: string; pid: number; port?: number }): void => {
      if (message?.test !== "ready") return;
      clearTimeout(timer);
      worker.off("message", onMessage);
      resolve(message);
    };
    worker.on("message", onMessage);
    worker.once("exit", (code) => reject(new Error(`cluster worker exited with ${code} before it was ready`)));
  });
  return { worker, pid: ready.pid, port: ready.port, gone };
}

/** Send a test command and resolve with the process's answer (`{ pushed, sent, error? }`). */
export function command<T = { pushed: boolean; sent: number; error?: string }>(proc: Proc, body: Record<string, unknown>, timeoutMs = 15_000): Promise<T> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no answer to ${JSON.stringify(body)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: { test?: string; id?: number }): void => {
      if (message?.test !== "done" || message.id !== id) return;
      cleanup();
      resolve(message as T);
    };
    const onExit = (): void => {
      cleanup();
      reject(new Error(`cluster worker exited before answering ${JSON.stringify(body)}`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      proc.worker.off("message", onMessage);
      proc.worker.off("exit", onExit);
    };
    proc.worker.on("message", onMessage);
    proc.worker.once("exit", onExit);
    proc.worker.send({ ...body, id });
  });
}

/** SIGKILL a process and resolve once it is gone and every message it had written was read. */
export async function kill(proc: Proc): Promise<void> {
  proc.worker.process.kill("SIGKILL");
  await proc.gone;
}

/** Kill every process still running (afterEach/afterAll). */
export async function killAll(): Promise<void> {
  const workers = [...live];
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          worker.once("exit", () => resolve());
          worker.process.kill("SIGKILL");
        }),
    ),
  );
  live.clear();
}
