/** A handle on a `scripted.mjs` worker: send an action, await its reply. */
import type { Worker, WorkerOptions } from "node:worker_threads";
import { exited, nextMessage, startWorker } from "./workers.js";

export interface Reply {
  ok: boolean;
  result?: unknown;
  code?: string;
  message?: string;
  name?: string;
}

export class Scripted {
  private constructor(readonly worker: Worker) {}

  /** Start a scripted worker and wait until it is ready. */
  static async start(options: WorkerOptions = {}): Promise<Scripted> {
    const worker = startWorker("scripted.mjs", options);
    const ready = await nextMessage<{ ready?: boolean }>(worker);
    if (!ready.ready) throw new Error("scripted worker did not report ready");
    return new Scripted(worker);
  }

  /**
   * Start a scripted worker connected through `workerData` (a hub's), and push onto `cleanups` a step that
   * terminates it and waits for its exit.
   */
  static async connected(workerData: unknown, cleanups: Array<() => Promise<unknown> | unknown>): Promise<Scripted> {
    const scripted = await Scripted.start({ workerData });
    cleanups.push(async () => {
      await scripted.worker.terminate();
      await exited(scripted.worker);
    });
    return scripted;
  }

  /** Observe `value` `count` times (cycling through an array of values) on the histogram declared by `config`. */
  observe(config: object, labels: Record<string, unknown> | undefined, value: number | number[], count = 1): Promise<unknown> {
    return this.ok("record", { kind: "histogram", config, labels, value, count });
  }

  /** Run one action in the worker. */
  async run(action: string, args: Record<string, unknown> = {}): Promise<Reply> {
    const reply = nextMessage<Reply>(this.worker);
    this.worker.postMessage({ action, ...args });
    return reply;
  }

  /** Run an action that must succeed, returning its result. */
  async ok(action: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const reply = await this.run(action, args);
    if (!reply.ok) throw new Error(`${action} failed in the worker: ${reply.code} ${reply.message}`);
    return reply.result;
  }
}
