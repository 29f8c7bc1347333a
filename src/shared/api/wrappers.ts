/**
 * prometheus_async's wrappers for Node: `time`, `countExceptions` and `trackInProgress`.
 *
 * They depend on the shape of a metric, not on a library: anything with `observe` (or `inc`, `dec`) works,
 * so the same wrappers serve prom-client metrics in the main thread and prom-threads metrics in workers.
 * Each wraps a function (sync or async), a promise, or, called without a target, a class method as a
 * TypeScript standard decorator.
 * @module
 */
import type { LabelValues } from "../model/types.js";

/** Anything that observes a number: a histogram, a summary, or a child bound to labels. */
export interface Observer {
  observe(value: number): void;
}

/** An observer that takes labels chosen at observation time (needed with `options.labels`). */
export interface LabeledObserver {
  observe(labels: LabelValues, value: number): void;
}

/** Anything that counts: a counter, or a child bound to labels. */
export interface Incrementer {
  inc(value?: number): void;
}

/** A counter that takes labels chosen at increment time (needed with `options.labels`). */
export interface LabeledIncrementer {
  inc(labels: LabelValues, value?: number): void;
}

/** Anything that goes up and down: a gauge, or a child bound to labels. */
export interface UpDown {
  inc(value?: number): void;
  dec(value?: number): void;
}

/** A clock in seconds; only differences matter. */
export type Clock = () => number;

/** Options of {@link time}. */
export interface TimeOptions<R = unknown> {
  /**
   * Choose labels from the outcome: `result` when the call succeeded, `error` when it threw or rejected.
   * Needs a metric that takes labels at observation time.
   */
  labels?: (result: R | undefined, error: unknown) => LabelValues;
  /**
   * Seconds from an arbitrary origin; swap it in tests to make durations exact.
   * @default () => performance.now() / 1000
   */
  clock?: Clock;
}

/** Which errors {@link countExceptions} counts: an error class, or a predicate. */
export type ExceptionFilter = (abstract new (...args: never[]) => unknown) | ((error: unknown) => boolean);

/** Options of {@link countExceptions}. */
export interface CountExceptionsOptions {
  /**
   * Count only errors of this class, or for which this predicate returns `true`.
   * @default every error
   */
  filter?: ExceptionFilter;
  /** Choose labels from the error. Needs a counter that takes labels at increment time. */
  labels?: (error: unknown) => LabelValues;
}

/** A TypeScript standard method decorator that keeps the method's type. */
export type MethodDecorator = <This, Args extends unknown[], Return>(
  method: (this: This, ...args: Args) => Return,
  context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Return>,
) => (this: This, ...args: Args) => Return;

type AnyFunction = (...args: never[]) => unknown;

/**
 * What a wrapper does around each call. One object per wrapper, shared by every call: what a call needs
 * from `before` to `after` (the start time) travels as a value, so a call allocates no closure for it.
 */
interface Hooks {
  /** Runs before the call; its result is handed to `after`. */
  before(): number;
  /** Runs once, when a sync call returns or throws or a promise settles. */
  after(started: number, result: unknown, error: unknown, failed: boolean): void;
}

const defaultClock: Clock = () => performance.now() / 1000;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as { then?: unknown }).then === "function";
}

/** Run `after` when `result` is known: now, or when it settles if it is a promise. */
function settle(hooks: Hooks, started: number, result: unknown): unknown {
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (value) => {
        hooks.after(started, value, undefined, false);
        return value;
      },
      (error: unknown) => {
        hooks.after(started, undefined, error, true);
        throw error;
      },
    );
  }
  hooks.after(started, result, undefined, false);
  return result;
}

/**
 * Wrap `fn` so that it keeps its shape: the same `name` and `length` (Express tells an error middleware
 * `(err, req, res, next)` by `length === 4`), an `AsyncFunction` for an async function (some frameworks
 * and linters check `fn.constructor.name`), and the caller's `this`.
 */
function wrapFunction(fn: (...args: unknown[]) => unknown, hooks: Hooks): unknown {
  // The hot path of time() around a sync function: `arguments` passed straight to apply() costs no
  // array (a rest parameter would allocate one per call), and nothing is allocated for the call.
  const instrumented = function (this: unknown): unknown {
    const started = hooks.before();
    let result: unknown;
    try {
      // biome-ignore lint/complexity/noArguments: a rest parameter would allocate an array per call
      result = fn.apply(this, arguments as unknown as unknown[]);
    } catch (error) {
      hooks.after(started, undefined, error, true);
      throw error;
    }
    return settle(hooks, started, result);
  };
  const wrapped =
    // The tag, unlike instanceof, also recognises async functions from another realm (a vm context).
    Object.prototype.toString.call(fn) === "[object AsyncFunction]"
      ? async function (this: unknown): Promise<unknown> {
          // biome-ignore lint/complexity/noArguments: as above, no array per call
          return instrumented.apply(this, arguments as unknown as []);
        }
      : instrumented;
  Object.defineProperty(wrapped, "name", { value: fn.name, configurable: true });
  Object.defineProperty(wrapped, "length", { value: fn.length, configurable: true });
  return wrapped;
}

/** Apply `hooks` to a function, a promise, or (no target) return a method decorator. */
function wrap(target: unknown, hooks: Hooks, api: string): unknown {
  if (typeof target === "function") return wrapFunction(target as (...args: unknown[]) => unknown, hooks);
  if (isThenable(target)) return settle(hooks, hooks.before(), target);
  if (target === undefined) {
    return (method: unknown, context: { kind?: string }) => {
      if (typeof method !== "function" || context?.kind !== "method") {
        throw new TypeError(`@${api}() decorates class methods only`);
      }
      return wrap(method, hooks, api);
    };
  }
  throw new TypeError(`${api}() takes a function, a promise, or nothing (as a decorator), got ${typeof target}`);
}

function splitOptions<O extends object>(target: unknown, options: O | undefined): [unknown, O | undefined] {
  // `time(metric, { labels })` is the decorator form with options: the target is absent.
  if (target !== null && typeof target === "object" && !isThenable(target) && options === undefined) return [undefined, target as O];
  return [target, options];
}

/**
 * Observe how long a call takes, in seconds, whether it returns, throws or rejects.
 *
 * @example
 * const handler = time(requestSeconds, async (req) => work(req));
 * await time(requestSeconds, fetchSomething());
 * class Jobs { @time(jobSeconds) run() { ... } }
 * const run = time(jobSeconds, job, { labels: (_r, error) => ({ status: error ? "error" : "ok" }) });
 */
export function time<F extends AnyFunction>(metric: Observer | LabeledObserver, fn: F, options?: TimeOptions<Awaited<ReturnType<F>>>): F;
export function time<T>(metric: Observer | LabeledObserver, promise: PromiseLike<T>, options?: TimeOptions<T>): Promise<T>;
export function time(metric: Observer | LabeledObserver, options?: TimeOptions): MethodDecorator;
export function time(metric: Observer | LabeledObserver, target?: unknown, maybeOptions?: TimeOptions): unknown {
  const [fnOrPromise, options] = splitOptions(target, maybeOptions);
  checkMetric(metric, "time", "observe");
  const clock = options?.clock ?? defaultClock;
  const labels = options?.labels;
  const hooks: Hooks = {
    before: () => clock(),
    after: (started, result, error) => {
      const elapsed = clock() - started;
      if (labels === undefined) (metric as Observer).observe(elapsed);
      else (metric as LabeledObserver).observe(labels(result, error), elapsed);
    },
  };
  return wrap(fnOrPromise, hooks, "time");
}

/**
 * Count the errors a call throws or rejects with, then rethrow them.
 *
 * @example
 * const parse = countExceptions(parseErrors, JSON.parse, { filter: SyntaxError });
 */
export function countExceptions<F extends AnyFunction>(counter: Incrementer | LabeledIncrementer, fn: F, options?: CountExceptionsOptions): F;
export function countExceptions<T>(counter: Incrementer | LabeledIncrementer, promise: PromiseLike<T>, options?: CountExceptionsOptions): Promise<T>;
export function countExceptions(counter: Incrementer | LabeledIncrementer, options?: CountExceptionsOptions): MethodDecorator;
export function countExceptions(counter: Incrementer | LabeledIncrementer, target?: unknown, maybeOptions?: CountExceptionsOptions): unknown {
  const [fnOrPromise, options] = splitOptions(target, maybeOptions);
  checkMetric(counter, "countExceptions", "inc");
  const matches = toPredicate(options?.filter);
  const labels = options?.labels;
  const hooks: Hooks = {
    before: () => 0,
    after: (_started, _result, error, failed) => {
      if (!failed || !matches(error)) return;
      if (labels === undefined) (counter as Incrementer).inc();
      else (counter as LabeledIncrementer).inc(labels(error));
    },
  };
  return wrap(fnOrPromise, hooks, "countExceptions");
}

/**
 * Count calls in progress: `inc()` before the call, `dec()` when it returns, throws or settles.
 *
 * @example
 * const handle = trackInProgress(jobsInProgress, async (job) => run(job));
 */
export function trackInProgress<F extends AnyFunction>(gauge: UpDown, fn: F): F;
export function trackInProgress<T>(gauge: UpDown, promise: PromiseLike<T>): Promise<T>;
export function trackInProgress(gauge: UpDown): MethodDecorator;
export function trackInProgress(gauge: UpDown, target?: unknown): unknown {
  checkMetric(gauge, "trackInProgress", "inc");
  checkMetric(gauge, "trackInProgress", "dec");
  const hooks: Hooks = {
    before: () => {
      gauge.inc();
      return 0;
    },
    after: () => gauge.dec(),
  };
  return wrap(target, hooks, "trackInProgress");
}

function toPredicate(filter: ExceptionFilter | undefined): (error: unknown) => boolean {
  if (filter === undefined) return () => true;
  if (typeof filter !== "function") throw new TypeError("countExceptions(): options.filter must be an error class or a predicate");
  const proto = (filter as { prototype?: unknown }).prototype;
  // A class (Error or a subclass, or any class with a prototype chain to match) filters by instanceof;
  // an arrow function has no prototype and is a predicate.
  if (proto !== undefined && (filter === Error || proto instanceof Error || /^class[\s{]/.test(Function.prototype.toString.call(filter)))) {
    const cls = filter as abstract new (...args: never[]) => unknown;
    return (error) => error instanceof cls;
  }
  return filter as (error: unknown) => boolean;
}

function checkMetric(metric: unknown, api: string, method: string): void {
  if (metric === null || typeof metric !== "object" || typeof (metric as Record<string, unknown>)[method] !== "function") {
    throw new TypeError(`${api}() needs a metric with a ${method}() method`);
  }
}
