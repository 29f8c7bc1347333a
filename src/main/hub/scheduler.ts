/**
 * When the hub drains: on `registry.metrics()` and `drainSync()` (everything, at once); on a timer and on
 * the doorbell (steps of about {@link kDrainSliceMs}, continued at the next turn while a backlog remains);
 * for a scrape, everything published before it began, in steps too. Never two drains at once.
 * @module
 */
import { kDoorbellWord } from "../../shared/transport/layout.js";
import { endStep, startStep, stepTiming, type StepStart } from "./step-timing.js";

/**
 * Longest a drain step holds the main thread, in milliseconds, before it lets the event loop run (plus
 * the chunk that crossed it): the background drain and a scrape's drain both work in steps this long
 * (why half a millisecond: docs/design.md, "The main thread stays responsive").
 */
const kDrainSliceMs = 0.5;

/**
 * While a scrape is in progress, the background drain takes at most one step per this many milliseconds:
 * the scrape's own drain reads what was published before it, so the background drain only has to show
 * the workers that the hub makes progress (a worker whose overflow is full waits, instead of dropping,
 * while the hub makes progress at least every `overflowWaitMs`, 500 ms by default), and the scrape gets
 * the main thread's other turns.
 */
const kScrapeBackgroundGapMs = 20;

/**
 * What each slot had published at a moment: the positions its record sequence must reach. `pending` holds
 * the marks not reached yet; a step removes those it reaches.
 */
type DrainMarks = { readonly pending: unknown[] };

/** The drains a scheduler runs; the hub implements them over its slot table. */
export interface DrainWork {
  /** Drain everything published now. */
  all(): void;
  /**
   * Drain chunks of every slot in turn until `deadline` (a `performance.now()` time) or nothing is left;
   * `true` when records were left and this step made progress (a next step would take more).
   */
  step(deadline: number): boolean;
  /** Mark what every slot has published now. */
  mark(): DrainMarks;
  /** Drain toward `marks` until `deadline`; `true` while marks are left. */
  stepToward(marks: DrainMarks, deadline: number): boolean;
}

/** Where and how often to drain. */
export interface SchedulerOptions {
  /** The control buffer as Int32: its doorbell word is waited on. */
  control: Int32Array;
  /** Milliseconds between background drains. */
  intervalMs: number;
}

/**
 * Run a hub's drains.
 *
 * @example
 * const scheduler = new DrainScheduler(work, { control, intervalMs: 100 });
 * scheduler.drainAll();
 */
export class DrainScheduler {
  readonly #work: DrainWork;
  readonly #control: Int32Array;
  readonly #timer: ReturnType<typeof setInterval>;
  #draining = false;
  /** A background drain left records and has its next step scheduled. */
  #chunkScheduled = false;
  /** Set by a full drain, cleared at the next microtask checkpoint: see {@link drainForCollect}. */
  #drainedThisTurn = false;
  /** Reads of the registry that asked for no collect-time drain (see {@link quietly}) in progress. */
  #quiet = 0;
  /** Scrapes in progress (see {@link scraping}). */
  #scrapes = 0;
  /** When the last background step ended. */
  #lastBackgroundStep = 0;
  #closed = false;

  /** Start the timer and the doorbell. */
  constructor(work: DrainWork, options: SchedulerOptions) {
    this.#work = work;
    this.#control = options.control;
    this.#timer = setInterval(() => this.#drainInBackground(), options.intervalMs);
    this.#timer.unref();
    this.#armDoorbell();
  }

  /** Drain everything published, now (a drain already running, or a closed scheduler, returns at once). */
  drainAll(): void {
    if (this.#closed || this.#draining) return;
    this.#draining = true;
    if (!this.#drainedThisTurn) {
      this.#drainedThisTurn = true;
      queueMicrotask(() => {
        this.#drainedThisTurn = false;
      });
    }
    const timed = stepTiming.enabled ? startStep() : undefined;
    try {
      this.#work.all();
    } finally {
      this.#draining = false;
      if (timed !== undefined) endStep("drain", timed);
    }
  }

  /**
   * The drain a metric's `get()` or a self-metric's `collect` asks for. A scrape calls every metric's
   * `get()` synchronously, right after the registry hook drained everything published before the scrape
   * began; draining again for each metric would only add records published during the scrape, at the
   * cost of one full drain per metric, which under overload multiplies the scrape's time. So these drain
   * only when no drain ran yet in the current synchronous turn (a lone `getSingleMetricAsString()` does),
   * and not at all inside {@link quietly}.
   */
  drainForCollect(): void {
    if (!this.#drainedThisTurn && this.#quiet === 0) this.drainAll();
  }

  /** Whether the registry hook's drain is off now (inside {@link quietly}). */
  get quiet(): boolean {
    return this.#quiet > 0;
  }

  /**
   * Run `read` (a listing of the registry, a metric's `get()`) without the drains it would ask for: a
   * scrape that drained in steps reads its metrics without a full drain per metric.
   */
  quietly<T>(read: () => T): T {
    this.#quiet++;
    try {
      return read();
    } finally {
      this.#quiet--;
    }
  }

  /**
   * Drain every record published before the call, in steps of about {@link kDrainSliceMs} between which
   * the event loop runs (the background drain may take records meanwhile, and records published later
   * may be applied too). The first step ends by `deadline` when given: a scrape passes the end of the
   * step it is in, so the turn that received the request, drained and began to render is one slice long,
   * not two. Resolves to the deadline of the last step (what is left of it is the caller's), and early
   * when `signal` aborts or the scheduler closes.
   */
  async drainPublished(signal?: { readonly aborted: boolean }, deadline: number = performance.now() + kDrainSliceMs): Promise<number> {
    if (this.#closed) return deadline;
    // The marking and the first step run in one turn: timed as one step.
    let timed: StepStart | undefined = stepTiming.enabled ? startStep() : undefined;
    const marks = this.#work.mark();
    for (;;) {
      if (!this.#draining) {
        this.#draining = true;
        let left: boolean;
        try {
          left = this.#work.stepToward(marks, deadline);
        } finally {
          this.#draining = false;
          if (timed !== undefined) endStep("drain", timed);
        }
        if (!left) return deadline;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
      deadline = performance.now() + kDrainSliceMs;
      if (signal?.aborted === true || this.#closed) return deadline;
      timed = stepTiming.enabled ? startStep() : undefined;
    }
  }

  /**
   * A scrape begins: until the returned function is called, the background drain steps aside (one step per
   * {@link kScrapeBackgroundGapMs} at most), so the scrape's drain, render and write get the main thread's
   * turns. Call the returned function once, when the scrape ends however it ends.
   */
  scraping(): () => void {
    this.#scrapes++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#scrapes--;
    };
  }

  /** Stop draining: the timer, the doorbell loop and any scheduled step end. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  /**
   * The timer's and the doorbell's drain: one step of about {@link kDrainSliceMs} over every slot in turn,
   * in the check phase of the event loop; then, if more is waiting (a worker's overflow under load) and
   * this step made progress, another at the next turn. At most one background step runs per turn,
   * whatever asks for it (timer, doorbell, the last step), so under overload the drain takes about one
   * slice per turn and a scrape's steps, requests and I/O get the rest. A backlog of a million records is
   * taken in short steps.
   *
   * While a scrape is in progress the steps are at least {@link kScrapeBackgroundGapMs} apart (a timer
   * instead of the next turn).
   *
   * The step is a ref'd immediate: an unref'd one runs only once something else wakes the event loop
   * (the next timer tick, at worst). It is ref'd only while a backlog remains, so an idle hub never keeps
   * the process alive; a step that took nothing (a half-published declaration) leaves the rest to the timer.
   */
  #drainInBackground(): void {
    if (this.#chunkScheduled || this.#closed) return;
    this.#chunkScheduled = true;
    const wait = this.#scrapes > 0 ? this.#lastBackgroundStep + kScrapeBackgroundGapMs - performance.now() : 0;
    if (wait > 0) setTimeout(() => this.#backgroundStep(), wait);
    else setImmediate(() => this.#backgroundStep());
  }

  #backgroundStep(): void {
    this.#chunkScheduled = false;
    if (this.#closed || this.#draining) return;
    this.#draining = true;
    const timed = stepTiming.enabled ? startStep() : undefined;
    let left: boolean;
    try {
      left = this.#work.step(performance.now() + kDrainSliceMs);
    } finally {
      this.#draining = false;
      this.#lastBackgroundStep = performance.now();
      if (timed !== undefined) endStep("drain", timed);
    }
    if (left) this.#drainInBackground();
  }

  #armDoorbell(seen: number = Atomics.load(this.#control, kDoorbellWord)): void {
    if (this.#closed) return;
    // Why waitAsync: a worker whose ring passes half full adds to the doorbell word and notifies; the hub
    // wakes and drains at once instead of at the next tick. A pending waitAsync does not keep Node alive.
    // `seen` was loaded before the last drain: a ring during that drain changed the word, so the wait
    // returns at once and the hub drains again (a wake-up is never lost between drain and wait).
    const result = Atomics.waitAsync(this.#control, kDoorbellWord, seen);
    const next = (): void => {
      if (this.#closed) return;
      // Acquire load of the word workers add to, before the drain it is meant to cover.
      const before = Atomics.load(this.#control, kDoorbellWord);
      this.#drainInBackground();
      this.#armDoorbell(before);
    };
    if (result.async) void result.value.then(next);
    else setImmediate(next);
  }
}
