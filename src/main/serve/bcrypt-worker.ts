/**
 * bcrypt comparisons on a worker thread of their own, so that a flood of wrong passwords costs that
 * thread's time and never the main thread's, where the hub drains the rings and the server answers.
 *
 * One thread, one comparison at a time: bcrypt is CPU work, and a second thread would only take a core
 * from the application. The thread is started at the first comparison, does not keep the process alive,
 * and is started again if it ever dies.
 * @module
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { ConfigurationError, ErrorCodes } from "../../shared/api/errors.js";

// Why a variable: keeps bundlers and type declarations from treating the optional peer as required.
const kPeer = "bcryptjs";

// Why a string evaluated as the worker's code: the thread must start from the source tree and from the
// built package alike, and it needs nothing but bcryptjs, whose location the main thread resolves.
const kWorkerSource = `
const { parentPort, workerData } = require("node:worker_threads");
import(workerData.bcrypt).then((module) => {
  const bcrypt = typeof module.compareSync === "function" ? module : module.default;
  parentPort.on("message", ({ id, password }) => {
    let matches = false;
    try {
      matches = bcrypt.compareSync(password, workerData.hash) === true;
    } catch {
      matches = false;
    }
    parentPort.postMessage({ id, matches });
  });
});
`;

/** Locate the optional peer dependency bcryptjs. Throws `ERR_PROM_THREADS_MISSING_PEER_DEPENDENCY` when it is not installed. */
export function resolveBcrypt(): string {
  try {
    return pathToFileURL(createRequire(import.meta.url).resolve(kPeer)).href;
  } catch (cause) {
    throw new ConfigurationError(
      ErrorCodes.MISSING_PEER_DEPENDENCY,
      "options.auth.password is a bcrypt hash, which needs the optional peer dependency bcryptjs: npm install bcryptjs",
      { cause },
    );
  }
}

/** Compares passwords with one bcrypt hash on a worker thread. */
export class BcryptWorker {
  readonly #bcrypt: string;
  readonly #hash: string;
  readonly #pending = new Map<number, (matches: boolean) => void>();
  #worker: Worker | undefined;
  #nextId = 0;
  #closed = false;

  /** Compare against `hash`, loading bcryptjs from the URL `bcrypt` (see {@link resolveBcrypt}). */
  constructor(bcrypt: string, hash: string) {
    this.#bcrypt = bcrypt;
    this.#hash = hash;
  }

  /** Comparisons sent and not answered yet. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Resolve whether `password` matches the hash; false when the thread fails or is closed. Never rejects. */
  compare(password: string): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    const worker = this.#start();
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      worker.postMessage({ id, password });
    });
  }

  /** Stop the thread; comparisons still pending resolve false. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    this.#failPending();
    await worker?.terminate();
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(kWorkerSource, { eval: true, workerData: { bcrypt: this.#bcrypt, hash: this.#hash } });
    // The thread must never keep an application alive that has otherwise finished.
    worker.unref();
    worker.on("message", ({ id, matches }: { id: number; matches: boolean }) => {
      const resolve = this.#pending.get(id);
      this.#pending.delete(id);
      resolve?.(matches === true);
    });
    const lost = (): void => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#failPending();
    };
    worker.on("error", lost);
    worker.on("exit", lost);
    this.#worker = worker;
    return worker;
  }

  #failPending(): void {
    for (const resolve of this.#pending.values()) resolve(false);
    this.#pending.clear();
  }
}
