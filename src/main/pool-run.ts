/**
 * The instrumented `pool.run()` of an attached piscina pool. It counts how every call ends, exactly once,
 * and (unless turned off) sends the task through prom-threads' task wrapper in the worker, which times
 * its wait and its run (see `src/shared/transport/pool-task.ts` and `src/worker/pool-task.ts`).
 * @module
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { kEnvelopeKey, kEnvelopeVersion, type TaskEnvelope } from "../shared/transport/pool-task.js";

/** How a `pool.run()` call ended. */
export type TaskOutcome = "completed" | "failed" | "aborted";

/** Every outcome, in the order they are exported. */
export const kTaskOutcomes: readonly TaskOutcome[] = ["completed", "failed", "aborted"];

/** The part of a piscina pool the instrumented run uses. */
export interface RunnablePool {
  run(task: unknown, options?: unknown): Promise<unknown>;
  readonly options?: { readonly filename?: string | null; readonly name?: string | null };
}

/** What the instrumented run needs to know. */
export interface RunSettings {
  /** The pool's name (the `pool` label). */
  pool: string;
  /** Route tasks through the task wrapper, which times them in the worker. */
  wrapTasks: boolean;
  /** Per-thread metrics period in the workers, 0 for none. */
  threadMetricsMs: number;
  /** Called once per call, when it settles. */
  onOutcome(outcome: TaskOutcome): void;
}

// piscina's public symbols (`Piscina.transferableSymbol`, `Piscina.valueSymbol`, `Piscina.queueOptionsSymbol`).
const kTransferable = Symbol.for("Piscina.transferable");
const kValue = Symbol.for("Piscina.valueOf");
const kQueueOptions = Symbol.for("Piscina.queueOptions");

let wrapperPath: string | undefined;

/** Absolute path of the worker-side task wrapper, `dist/worker/pool-task.js`. */
function taskWrapperPath(): string {
  if (wrapperPath !== undefined) return wrapperPath;
  const built = fileURLToPath(new URL("../worker/pool-task.js", import.meta.url));
  // From the TypeScript sources (the test suite) the worker side runs from the build, like test fixtures.
  wrapperPath = existsSync(built) ? built : fileURLToPath(new URL("../../dist/worker/pool-task.js", import.meta.url));
  return wrapperPath;
}

/**
 * Whether piscina would unwrap `task` as a `Piscina.move()` result: a Transferable marked movable. The
 * mark is a private symbol of piscina's, found by its description.
 */
function isMovable(task: unknown): task is Record<symbol, unknown> {
  if (task === null || typeof task !== "object" || !(kTransferable in task) || !(kValue in task)) return false;
  for (const symbol of Object.getOwnPropertySymbols(task)) {
    if (symbol.description === "Piscina.kMovable") return (task as Record<symbol, unknown>)[symbol] === true;
  }
  return false;
}

function outcomeOf(error: unknown): TaskOutcome {
  return (error as { name?: unknown } | null)?.name === "AbortError" ? "aborted" : "failed";
}

/**
 * Replace `pool.run` with the instrumented run (an own property of the pool object, shadowing piscina's
 * method). Returns a function that puts the original back, unless someone replaced ours since.
 */
export function instrumentRun(pool: RunnablePool, settings: RunSettings): () => void {
  const target = pool as unknown as { run: RunnablePool["run"] };
  const hadOwn = Object.hasOwn(pool, "run");
  const original = pool.run;
  const wrapper = settings.wrapTasks ? taskWrapperPath() : undefined;
  const settled = (outcome: TaskOutcome) => () => settings.onOutcome(outcome);
  const onResolve = settled("completed");
  const onReject = (error: unknown): void => settings.onOutcome(outcomeOf(error));

  const send = (task: unknown, options: unknown): Promise<unknown> => {
    // Anything piscina would reject (bad options, no filename) goes to it unchanged, to be rejected alike.
    if (wrapper === undefined || (options !== undefined && (options === null || typeof options !== "object"))) return original.call(pool, task, options);
    const runOptions = (options ?? {}) as { filename?: unknown; name?: unknown; transferList?: unknown };
    const filename = runOptions.filename ?? pool.options?.filename;
    const name = runOptions.name ?? pool.options?.name ?? "default";
    if (typeof filename !== "string" || typeof name !== "string" || filename === wrapper) return original.call(pool, task, options);
    if (runOptions.transferList !== undefined && !Array.isArray(runOptions.transferList)) return original.call(pool, task, options);
    let value = task;
    let transferList = runOptions.transferList as unknown[] | undefined;
    if (isMovable(task)) {
      // What piscina does with a moved task, done here because the envelope hides it from piscina.
      value = task[kValue];
      transferList = (transferList ?? []).concat(task[kTransferable]);
    }
    const envelope: TaskEnvelope & { [kQueueOptions]?: unknown } = {
      [kEnvelopeKey]: kEnvelopeVersion,
      task: value,
      filename: filename.startsWith("file:") ? fileURLToPath(filename) : filename,
      name,
      pool: settings.pool,
      queuedAt: process.hrtime.bigint(),
      threadMetricsMs: settings.threadMetricsMs,
    };
    // A custom piscina task queue reads this main-side; symbols are not cloned to the worker.
    if (task !== null && typeof task === "object" && kQueueOptions in task) envelope[kQueueOptions] = (task as Record<symbol, unknown>)[kQueueOptions];
    return original.call(pool, envelope, { ...runOptions, filename: wrapper, name: "default", transferList });
  };

  const run = function run(task: unknown, options?: unknown): Promise<unknown> {
    let promise: Promise<unknown>;
    try {
      promise = send(task, options);
    } catch (error) {
      onReject(error);
      throw error;
    }
    // A separate branch: the caller's promise is returned untouched, and this one never goes unhandled.
    Promise.resolve(promise).then(onResolve, onReject);
    return promise;
  };
  target.run = run;
  return () => {
    if (target.run !== run) return;
    if (hadOwn) target.run = original;
    else delete (target as { run?: unknown }).run;
  };
}
