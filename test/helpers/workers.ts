/** Helpers to run real worker threads from tests. */
import { Worker, type WorkerOptions } from "node:worker_threads";

/** Absolute URL of a fixture in test/fixtures. */
export function fixture(name: string): URL {
  return new URL(`../fixtures/${name}`, import.meta.url);
}

/** Start a worker on a fixture. */
export function startWorker(name: string, options: WorkerOptions = {}): Worker {
  return new Worker(fixture(name), options);
}

/** Resolve with the worker's next message; reject if it errors or exits first. */
export function nextMessage<T = unknown>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: T): void => {
      cleanup();
      resolve(message);
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new Error(`worker exited with code ${code} before sending a message`));
    };
    const cleanup = (): void => {
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
    };
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
  });
}

/** Resolve when the worker has exited. */
export function exited(worker: Worker): Promise<number> {
  return new Promise((resolve) => {
    if (worker.threadId < 0) resolve(0);
    else worker.once("exit", resolve);
  });
}

/** Wait `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `check` every 10 ms until it returns true or `timeoutMs` passes; returns the last result. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(10);
  }
  return check();
}

/**
 * Start the sliced-recorder fixture (a 12-bucket histogram over `series` label sets, observations of 1)
 * on `hub`, and have it observe once into every label set. `cleanup` receives its termination.
 */
export async function startSlicedRecorder(hub: { workerData: object }, series: number, cleanup: (step: () => Promise<unknown>) => void): Promise<Worker> {
  const worker = new Worker(fixture("sliced-recorder.mjs"), { workerData: { ...hub.workerData, job: { series } } });
  cleanup(async () => {
    await worker.terminate();
    await exited(worker);
  });
  const ready = await nextMessage(worker);
  if (ready !== "ready") throw new Error(`sliced-recorder: expected "ready", got ${String(ready)}`);
  worker.postMessage({ op: "fill" });
  const filled = await nextMessage(worker);
  if (filled !== "filled") throw new Error(`sliced-recorder: expected "filled", got ${String(filled)}`);
  return worker;
}
