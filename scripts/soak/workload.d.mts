/** Types of workload.mjs, for the tests that drive it. */
export declare const CRASH_KINDS: readonly ["throw", "exit", "oom", "terminate", "abort"];
export type CrashKind = (typeof CRASH_KINDS)[number];

export interface Progress {
  elapsedMs: number;
  tasks: number;
  crashes: Record<CrashKind, number>;
  counted: number;
  dropped: Record<string, number>;
  scrapes: number;
  scrapeP99Ms: number;
  rssMiB: number;
  decreases: number;
}

export interface WorkloadOptions {
  /** Stop after this many tasks. */
  tasks?: number;
  /** Stop submitting after this long. */
  durationMs?: number;
  seed?: number;
  /** Share of tasks that crash their worker, spread over CRASH_KINDS. @default 0.01 */
  crashRate?: number;
  maxThreads?: number;
  idleTimeoutMs?: number;
  waveSize?: number;
  /** Tasks per pool; each pool is destroyed before its tasks' accounting is read. */
  epochTasks?: number;
  scrapeIntervalMs?: number;
  progressIntervalMs?: number;
  onProgress?: (progress: Progress) => void;
  /** Busy-wait the main thread for `stallMs` every `stallEveryMs` (0: never). */
  stallEveryMs?: number;
  stallMs?: number;
  /** Also run a worker that records without pause until the end (so stalls overflow its ring). */
  firehose?: boolean;
  /** The hub's overflowRecords. @default the hub's default */
  overflowRecords?: number;
  /** Test-only: claim one call the hub never saw, so the report must fail. */
  simulateLoss?: boolean;
}

export interface WorkloadReport {
  ok: boolean;
  seed: number;
  elapsedMs: number;
  tasks: number;
  completed: number;
  crashes: Record<CrashKind, number>;
  /** Observation calls started. */
  attempted: number;
  /** Calls that returned. */
  returned: number;
  /** Calls that threw at the call site. */
  rejected: number;
  /** Calls started and neither returned nor threw: killed tasks only, at most one each. */
  inFlight: number;
  /** Records applied to metrics (prom_threads_records_drained_total). */
  counted: number;
  /** Records dropped, by reason (prom_threads_records_dropped_total). */
  dropped: Record<string, number>;
  /** attempted - (counted + dropped + rejected): the in-flight calls whose records never arrived. */
  unresolved: number;
  /** Completed tasks whose piscina result disagreed with their shared-memory words. */
  resultMismatches: number;
  /** Counter-like samples that went down between two scrapes. */
  decreases: string[];
  /** Main-thread stalls done. */
  stalls: number;
  scrapes: number;
  scrapeMs: { p50: number; p99: number; max: number };
  maxRssMiB: number;
  /** Label sets folded into soak_task_calls_total's overflow series (one label value per task). */
  seriesOverflow: number;
  /** Label sets soak_task_calls_total exports at the end (at most maxSeries + 1). */
  taskSeries: number;
  /** soak_tasks_running at the end (every worker dead): absent (null) or 0. */
  gaugeLeft: number | null;
  workersConnected: number;
  errors: Record<string, number>;
  conservation: { ok: boolean; rule: string };
}

export declare function runWorkload(options?: WorkloadOptions): Promise<WorkloadReport>;
