/** A handle on a `scripted.mjs` worker: send an action, await its reply. */
import type { Worker, WorkerOptions } from "node:worker_threads";
import { nextMessage, startWorker } from "./workers.js";

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
