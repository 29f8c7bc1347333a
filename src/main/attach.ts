/**
 * Following workers' lives: a Worker's `exit` event is the one signal that a thread is gone for good,
 * whether it returned, threw, called `process.exit()` or was terminated. For a piscina pool, the hub
 * follows each of the pool's Worker objects the same way.
 * @module
 */
import { Worker } from "node:worker_threads";
import { ConfigurationError, ErrorCodes } from "../shared/api/errors.js";

/** The part of a piscina pool the hub uses: its Worker objects and its `workerCreate` and `workerDestroy` events. */
export interface PoolLike {
  readonly threads: readonly Worker[];
  on(event: "workerCreate" | "workerDestroy", listener: (...args: unknown[]) => void): unknown;
  off(event: "workerCreate" | "workerDestroy", listener: (...args: unknown[]) => void): unknown;
}

/** What `hub.attach()` takes: a `worker_threads` Worker or a piscina pool. */
export type AttachTarget = Worker | PoolLike;

/** Whether `target` looks like a piscina pool. */
export function isPool(target: unknown): target is PoolLike {
  if (target === null || typeof target !== "object") return false;
  const pool = target as Partial<PoolLike>;
  return Array.isArray(pool.threads) && typeof pool.on === "function" && typeof pool.off === "function";
}

/** The Workers and pools a hub follows. */
export class AttachedTargets {
  readonly #onExit: (threadId: number) => void;
  readonly #watched = new WeakSet<Worker>();
  readonly #workers = new Map<Worker, () => void>();
  readonly #pools = new Map<PoolLike, () => void>();
  /** Workers followed from their creation: a detach() of an attach() does not stop following them. */
  readonly #followedForLife = new WeakSet<Worker>();
  /** threadIds of the live threads followed to their exit. */
  readonly #followed = new Set<number>();

  /** Call `onExit(threadId)` when a followed thread has exited. */
  constructor(onExit: (threadId: number) => void) {
    this.#onExit = onExit;
  }

  /** Follow `target`; returns a function that stops following it. */
  attach(target: AttachTarget): () => void {
    if (target instanceof Worker) {
      this.#watch(target);
      return () => {
        if (!this.#followedForLife.has(target)) this.#unwatch(target);
      };
    }
    if (isPool(target)) {
      if (!this.#pools.has(target)) {
        // workerCreate comes once a worker is ready; a worker may claim a slot earlier, while it loads
        // its task module, and the pool may destroy it before it is ready. workerDestroy comes while the
        // destroyed worker is still listed and alive (terminate() has only begun), so a scan then still
        // finds it and follows it to its exit.
        const onChange = (): void => this.#scanPool(target);
        target.on("workerCreate", onChange);
        target.on("workerDestroy", onChange);
        this.#pools.set(target, () => {
          target.off("workerCreate", onChange);
          target.off("workerDestroy", onChange);
        });
        this.#scanPool(target);
      }
      return () => {
        this.#pools.get(target)?.();
        this.#pools.delete(target);
      };
    }
    throw new ConfigurationError(ErrorCodes.INVALID_TARGET, "hub.attach() takes a worker_threads Worker or a piscina pool");
  }

  /**
   * Follow every Worker this thread creates from now on (Node's process `worker` event), so that a worker
   * that is terminated frees its slot even when nobody attached it. Returns a function that stops.
   */
  followProcessWorkers(): () => void {
    const onWorker = (worker: Worker): void => {
      this.#followedForLife.add(worker);
      this.#watch(worker);
    };
    process.on("worker", onWorker);
    return () => {
      process.off("worker", onWorker);
    };
  }

  /** Whether the thread `threadId` is followed to its exit (attached, or created after the hub). */
  follows(threadId: number): boolean {
    return this.#followed.has(threadId);
  }

  /** Pick up pool workers created since the last look (piscina announces a worker only once it is ready). */
  scan(): void {
    for (const pool of this.#pools.keys()) this.#scanPool(pool);
  }

  /** Stop following everything. */
  detachAll(): void {
    for (const stop of this.#pools.values()) stop();
    this.#pools.clear();
    for (const worker of [...this.#workers.keys()]) this.#unwatch(worker);
  }

  #scanPool(pool: PoolLike): void {
    for (const worker of pool.threads) this.#watch(worker);
  }

  #watch(worker: Worker): void {
    if (this.#watched.has(worker)) return;
    this.#watched.add(worker);
    // Read now: a Worker's threadId reads -1 once it has exited.
    const threadId = worker.threadId;
    if (threadId < 0) return;
    this.#followed.add(threadId);
    const onExit = (): void => {
      this.#workers.delete(worker);
      this.#followed.delete(threadId);
      this.#onExit(threadId);
    };
    worker.once("exit", onExit);
    this.#workers.set(worker, () => worker.off("exit", onExit));
  }

  #unwatch(worker: Worker): void {
    this.#workers.get(worker)?.();
    this.#workers.delete(worker);
    this.#watched.delete(worker);
    this.#followed.delete(worker.threadId);
  }
}
