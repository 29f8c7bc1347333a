/**
 * When the hub drains: on every scrape (everything), on a timer and on the doorbell (a ring's worth per
 * slot, continued at the next turn while a backlog remains), never two drains at once.
 * @module
 */
import { kDoorbellWord } from "../../shared/transport/layout.js";

/**
 * One drain of every slot, at most `budget` records of each; returns `true` when records were left and
 * the drain made progress (a next step would take more).
 */
export type DrainWork = (budget: number) => boolean;

/** Where and how often to drain. */
export interface SchedulerOptions {
  /** The control buffer as Int32: its doorbell word is waited on. */
  control: Int32Array;
  /** Milliseconds between background drains. */
  intervalMs: number;
  /** Records per slot a background drain takes at most (a ring's worth). */
  chunk: number;
}

/**
 * Run a hub's drains.
 *
 * @example
 * const scheduler = new DrainScheduler((budget) => slots.drain(budget), { control, intervalMs: 100, chunk: 65536 });
 * scheduler.drainAll();
 */
export class DrainScheduler {
  readonly #work: DrainWork;
  readonly #control: Int32Array;
  readonly #chunk: number;
  readonly #timer: ReturnType<typeof setInterval>;
  #draining = false;
  /** A background drain left records and has its next step scheduled. */
  #chunkScheduled = false;
  /** Set by a full drain, cleared at the next microtask checkpoint: see {@link drainForCollect}. */
  #drainedThisTurn = false;
  #closed = false;

  /** Start the timer and the doorbell. */
  constructor(work: DrainWork, options: SchedulerOptions) {
    this.#work = work;
    this.#control = options.control;
    this.#chunk = options.chunk;
    this.#timer = setInterval(() => this.#drainInBackground(), options.intervalMs);
    this.#timer.unref();
    this.#armDoorbell();
  }

  /** Drain everything published, now (a drain already running, or a closed scheduler, returns at once). */
  drainAll(): void {
    this.#drain(Infinity);
  }

  /**
   * The drain a metric's `get()` or a self-metric's `collect` asks for. A scrape calls every metric's
   * `get()` synchronously, right after the registry hook drained everything published before the scrape
   * began; draining again for each metric would only add records published during the scrape, at the
   * cost of one full drain per metric, which under overload multiplies the scrape's time. So these drain
   * only when no drain ran yet in the current synchronous turn (a lone `getSingleMetricAsString()` does).
   */
  drainForCollect(): void {
    if (!this.#drainedThisTurn) this.drainAll();
  }

  /** Stop draining: the timer, the doorbell loop and any scheduled step end. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  #drain(budget: number): boolean {
    if (this.#closed || this.#draining) return false;
    this.#draining = true;
    if (budget === Infinity && !this.#drainedThisTurn) {
      this.#drainedThisTurn = true;
      queueMicrotask(() => {
        this.#drainedThisTurn = false;
      });
    }
    try {
      return this.#work(budget);
    } finally {
      this.#draining = false;
    }
  }

  /**
   * The timer's and the doorbell's drain: at most a ring's worth of records per slot, then, if more is
   * waiting (a worker's overflow under load) and this step made progress, again at the next turn of the
   * event loop. A backlog of a million records is taken in short steps, between which the event loop
   * serves scrapes and I/O; a scrape itself still drains everything published before it.
   *
   * The next step is a ref'd immediate: an unref'd one runs only once something else wakes the event loop
   * (the next timer tick, at worst). It is ref'd only while a backlog remains, so an idle hub never keeps
   * the process alive; a step that took nothing (a half-published declaration) leaves the rest to the timer.
   */
  #drainInBackground(): void {
    if (!this.#drain(this.#chunk) || this.#chunkScheduled) return;
    this.#chunkScheduled = true;
    setImmediate(() => {
      this.#chunkScheduled = false;
      this.#drainInBackground();
    });
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
