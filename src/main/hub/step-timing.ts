/**
 * How long each synchronous step of metrics work held the main thread: a drain step, a render slice, the
 * compression of a small body or the hand-off of a large one to the thread pool, the write of a response. Off by default (one branch per step);
 * `bench/stalls.js` turns it on to tell the main thread's own metrics work from the gaps the operating
 * system adds when it deschedules the thread: each step is timed by the wall clock and, when the bench
 * gives one, by a clock of the thread's time on a CPU, which stops while the thread is descheduled.
 * Internal: not exported from the package's entry points.
 * @module
 */

/** The kinds of synchronous metrics work on the main thread. */
export type StepKind = "drain" | "render" | "compress" | "write";

/** One kind of step: the longest and the total by wall clock and by CPU clock, how many ran. */
interface StepStats {
  longestMs: number;
  longestCpuMs: number;
  totalMs: number;
  totalCpuMs: number;
  count: number;
  /** Steps longer than 2 ms by the wall clock, and by the CPU clock. */
  over2Ms: number;
  over2CpuMs: number;
}

/** The timings kept while {@link stepTiming} is enabled. */
export interface StepTiming {
  enabled: boolean;
  /** The calling thread's time on a CPU in milliseconds, when the platform gives one (set by the bench). */
  cpuClock: (() => number) | undefined;
  readonly steps: Record<StepKind, StepStats>;
}

/** When a step began, by both clocks. */
export interface StepStart {
  readonly wall: number;
  readonly cpu: number;
}

const empty = (): StepStats => ({ longestMs: 0, longestCpuMs: 0, totalMs: 0, totalCpuMs: 0, count: 0, over2Ms: 0, over2CpuMs: 0 });

/**
 * The process's step timings: one object, kept under a registered symbol so that a second copy of this
 * module (the package loaded twice) adds to the same one.
 */
export const stepTiming: StepTiming = (() => {
  const key = Symbol.for("prom-threads.stepTiming");
  const holder = globalThis as { [key]?: StepTiming };
  holder[key] ??= { enabled: false, cpuClock: undefined, steps: { drain: empty(), render: empty(), compress: empty(), write: empty() } };
  return holder[key];
})();

/** A step begins now. Call only while {@link stepTiming} is enabled. */
export function startStep(): StepStart {
  return { wall: performance.now(), cpu: stepTiming.cpuClock?.() ?? 0 };
}

/** Add a step of `kind` that began at `start` and ends now. */
export function endStep(kind: StepKind, start: StepStart): void {
  const ms = performance.now() - start.wall;
  const clock = stepTiming.cpuClock;
  // A step ran between none and all of the time it lasted: a clock that reads otherwise (two clocks, read
  // apart, and the run-queue wait counted in whole scheduler ticks) is capped at both ends.
  const cpuMs = clock === undefined ? Number.NaN : Math.max(0, Math.min(ms, clock() - start.cpu));
  const stats = stepTiming.steps[kind];
  stats.count++;
  stats.totalMs += ms;
  stats.totalCpuMs += cpuMs;
  if (ms > stats.longestMs) stats.longestMs = ms;
  if (cpuMs > stats.longestCpuMs) stats.longestCpuMs = cpuMs;
  if (ms > 2) stats.over2Ms++;
  if (cpuMs > 2) stats.over2CpuMs++;
}

/** Forget the timings so far (and enable or disable timing). */
export function resetStepTiming(enabled: boolean): void {
  stepTiming.enabled = enabled;
  for (const kind of Object.keys(stepTiming.steps) as StepKind[]) stepTiming.steps[kind] = empty();
}
