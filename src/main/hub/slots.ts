/**
 * The slot lifecycle as the hub sees it: open a slot's drain state when a worker claims it, drain it,
 * release it when its owner is gone, and know which owners the hub can follow to their exit.
 * @module
 */
import { kSlotClaimed, kSlotClaiming, kSlotExited, kSlotFree, isSlotState } from "../../shared/transport/layout.js";
import type { AttachedTargets } from "../attach.js";
import { SlotDrain, type SlotContext } from "../slot-drain.js";
import type { Tally } from "../tally.js";
import type { HubMemory } from "./memory.js";
import type { HubReports } from "./reports.js";

/**
 * How long a followed, live owner's slot may read EXITED before the hub calls the store stray: the owner's
 * own store comes right before its thread ends, and its Worker's `exit` event a few milliseconds later.
 */
const kStrayExitGraceMs = 1000;

/**
 * Records of one slot a drain step takes before it looks at the clock: one chunk costs far less than a
 * step's time even for records that create series, and reading the clock costs nothing next to it.
 */
const kDrainChunk = 2048;

/** What one slot had published when a scrape began: the position its record sequence must reach. */
export interface SlotMark {
  readonly index: number;
  readonly slot: SlotDrain;
  readonly target: number;
}

/** One slot as the status page shows it. */
export interface SlotStatus {
  /** Whether a worker owns the slot. */
  inUse: boolean;
  /** The owner's threadId, or `null`. */
  threadId: number | null;
  /** Fill of the slot's ring, from 0 to 1. */
  fill: number;
}

/**
 * The hub's slots.
 *
 * @example
 * const slots = new SlotTable(memory, context, targets, reports);
 * const left = slots.drain(Infinity);
 */
export class SlotTable {
  readonly #memory: HubMemory;
  readonly #context: SlotContext;
  readonly #tally: Tally;
  readonly #targets: AttachedTargets;
  readonly #reports: HubReports;
  /** Drain state of each slot, made when the slot is first claimed (its ring exists from then on). */
  readonly #slots: Array<SlotDrain | undefined> = [];
  /**
   * Why each slot is quarantined now, if it is: its entry in the slot table is impossible (a state no
   * worker writes, a claimed slot whose buffer never grew on the hub's side), or reading it threw. A
   * quarantined slot is not read; it is counted and reported once per occurrence.
   */
  readonly #quarantine: Array<string | undefined> = [];
  /** When a drain first saw EXITED in the slot of a followed owner that has not exited, or -1. */
  readonly #exitedSeen: number[] = [];
  #quarantined = 0;
  /** The slot the next drain step starts with, so every slot gets its turn under load. */
  #nextSlot = 0;
  #lastUnslotted = 0;
  #lastLate = 0;
  #ringFillWindow = 0;

  /** Manage the slots of `memory`; slots apply records through `context`. */
  constructor(memory: HubMemory, context: SlotContext, targets: AttachedTargets, reports: HubReports) {
    this.#memory = memory;
    this.#context = context;
    this.#tally = context.tally;
    this.#targets = targets;
    this.#reports = reports;
  }

  /**
   * Drain every slot, at most `budget` records of each, and count what workers lost without a slot.
   * @returns `true` when records were left for a next drain.
   */
  drain(budget: number): boolean {
    let left = false;
    const highWater = this.#memory.highWater();
    for (let slot = 0; slot < highWater; slot++) if (this.#drainSlot(slot, budget)) left = true;
    this.#countLost();
    return left;
  }

  /**
   * Drain chunks of every slot in turn, starting where the last step stopped, until `deadline` (a
   * `performance.now()` time) or nothing is left; count what workers lost without a slot.
   * @returns `true` when records were left and this step took some.
   */
  drainUntil(deadline: number): boolean {
    const highWater = this.#memory.highWater();
    let tookAny = false;
    let progressed = true;
    let left = false;
    try {
      while (progressed) {
        progressed = false;
        left = false;
        for (let n = 0; n < highWater; n++) {
          const index = (this.#nextSlot + n) % highWater;
          const before = this.#slots[index]?.consumed() ?? 0;
          const more = this.#drainSlot(index, kDrainChunk);
          if ((this.#slots[index]?.consumed() ?? 0) !== before) progressed = tookAny = true;
          if (!more) continue;
          left = true;
          if (performance.now() >= deadline) {
            this.#nextSlot = (index + 1) % highWater;
            return tookAny;
          }
        }
      }
      return left && tookAny;
    } finally {
      this.#countLost();
    }
  }

  /**
   * Mark what every slot has published now (opening slots claimed since the last drain), for
   * {@link drainToward}.
   */
  mark(): SlotMark[] {
    const marks: SlotMark[] = [];
    const highWater = this.#memory.highWater();
    for (let index = 0; index < highWater; index++) {
      // A drain of no records: opens a newly claimed slot, releases one whose owner left.
      this.#drainSlot(index, 0);
      const slot = this.#slots[index];
      if (slot?.active !== true || this.#quarantine[index] !== undefined) continue;
      marks.push({ index, slot, target: slot.consumed() + slot.pendingRecords() });
    }
    this.#countLost();
    return marks;
  }

  /**
   * Drain chunks of the marked slots until each reached its mark, or `deadline`. A mark is reached when
   * its slot's sequence passed it (a released slot was drained whole), or its slot made no progress (what
   * is left cannot be read yet: a half-published declaration; or the slot was quarantined); reached marks
   * are removed from `marks`.
   * @returns `true` while marks are left.
   */
  drainToward(marks: SlotMark[], deadline: number): boolean {
    try {
      while (marks.length > 0) {
        for (let i = marks.length - 1; i >= 0; i--) {
          const mark = marks[i] as SlotMark;
          const before = mark.slot.consumed();
          this.#drainSlot(mark.index, kDrainChunk);
          const after = mark.slot.consumed();
          if (after >= mark.target || after === before) marks.splice(i, 1);
          if (performance.now() >= deadline) return marks.length > 0;
        }
      }
      return false;
    } finally {
      this.#countLost();
    }
  }

  /** Release every slot owned by the thread `threadId`, which has exited. Never throws. */
  threadExited(threadId: number): void {
    const memory = this.#memory;
    const highWater = memory.highWater();
    for (let index = 0; index < highWater; index++) {
      const slot = this.#slots[index];
      if (slot?.active) {
        // The hub's own record of the owner, not the word, which any thread may overwrite.
        if (slot.threadId === threadId) this.#release(index);
        continue;
      }
      // The dead thread's last stores are visible to these loads. A slot in any other state than CLAIMED
      // or EXITED is free, or being claimed by another thread that has not written its threadId yet (the
      // word may still name the dead thread, its previous owner): it is not the dead thread's to release.
      // The state is read first: a claimer stores its threadId before CLAIMED.
      const state = memory.slotState(index);
      if (state !== kSlotClaimed && state !== kSlotExited) continue;
      if (memory.slotThreadId(index) !== threadId) continue;
      this.#release(index);
    }
  }

  /** Slots quarantined so far, each counted once per occurrence. */
  get quarantined(): number {
    return this.#quarantined;
  }

  /** Workers that own a slot now. */
  connected(): number {
    let count = 0;
    const highWater = this.#memory.highWater();
    // A relaxed reading is enough for a count that is stale the moment it is returned.
    for (let index = 0; index < highWater; index++) if (this.#memory.slotState(index) === kSlotClaimed && this.#quarantine[index] === undefined) count++;
    return count;
  }

  /** Connected workers the hub cannot follow to their exit. */
  unfollowed(): number {
    let count = 0;
    for (const slot of this.#slots) if (slot?.active && this.#isUnfollowed(slot)) count++;
    return count;
  }

  /** Fill of the fullest ring and records waiting in overflows, now. */
  backlog(): { ringFill: number; overflowRecords: number } {
    let ringFill = 0;
    let overflowRecords = 0;
    for (const slot of this.#slots) {
      if (slot === undefined || !slot.active) continue;
      ringFill = Math.max(ringFill, slot.fill());
      overflowRecords += slot.overflowPending();
    }
    return { ringFill, overflowRecords };
  }

  /** Highest ring fill seen by drains since the last call, which starts a new window. */
  takeRingFill(): number {
    const fill = this.#ringFillWindow;
    this.#ringFillWindow = 0;
    return fill;
  }

  /**
   * The owner and ring fill of each slot up to the highest ever claimed (and at least `minSlots`), read
   * without draining.
   */
  status(minSlots: number): SlotStatus[] {
    const memory = this.#memory;
    const slots: SlotStatus[] = [];
    const count = Math.min(memory.layout.slotCount, Math.max(minSlots, memory.highWater()));
    for (let index = 0; index < count; index++) {
      // Relaxed readings, as for the connected count: a worker may claim or leave the slot right after.
      const inUse = memory.slotState(index) === kSlotClaimed && this.#quarantine[index] === undefined;
      const threadId = inUse ? memory.slotThreadId(index) : null;
      slots.push({ inUse, threadId, fill: inUse ? (this.#slots[index]?.fill() ?? 0) : 0 });
    }
    return slots;
  }

  /**
   * Drain one slot (at most `budget` records); `true` when records were left. Never throws: a slot that
   * throws is quarantined.
   */
  #drainSlot(index: number, budget: number): boolean {
    try {
      return this.#drainSlotChecked(index, budget);
    } catch (error) {
      this.#quarantineSlot(index, `reading it threw (${error instanceof Error ? error.message : String(error)})`);
      return false;
    }
  }

  #drainSlotChecked(index: number, budget: number): boolean {
    const memory = this.#memory;
    let state = memory.slotState(index);
    const slot = this.#slots[index];
    if (this.#quarantine[index] !== undefined) {
      // Not read until its owner is gone (its exit event, or the hub freed it), or the entry is sane and
      // free again: a new claim starts a new occurrence. A slot quarantined for a state no worker writes
      // before the hub first read it, whose ring now holds records, is a live owner's (below).
      const ownerBehind = slot?.active !== true && this.#ownerBehindStrayState(index, state);
      if (!ownerBehind && (slot?.active === true || (state !== kSlotFree && state !== kSlotClaiming))) return false;
      this.#quarantine[index] = undefined;
    }
    if (slot?.active) return this.#drainOwned(index, slot, state, budget);
    if (this.#ownerBehindStrayState(index, state)) {
      // A free slot holds no records: the hub leaves it clean, and a claimer publishes none before
      // CLAIMED. These are a live owner's, whose slot got a stray FREE (or a state no worker writes)
      // before the hub first read it.
      this.#reports.strayStore(index, memory.slotThreadId(index), state);
      memory.restoreClaimed(index, state);
      state = kSlotClaimed;
    } else if (state === kSlotFree || state === kSlotClaiming) {
      return false;
    } else if (!isSlotState(state)) {
      this.#quarantineSlot(index, `its state word reads ${state}, which no worker writes`);
      return false;
    }
    // CLAIMED or EXITED: the owner grew the buffer before it published the state, so the hub's view of it
    // holds the ring. If not, the owner grew some other buffer (a handle that was not the hub's), or the
    // state was stored into a slot nobody claimed.
    if (!memory.holdsRing(index)) {
      this.#quarantineSlot(index, `it reads ${state === kSlotClaimed ? "claimed" : "exited"}, but its buffer was never grown to hold a ring`);
      return false;
    }
    const opened = slot ?? this.#open(index);
    opened.active = true;
    opened.threadId = memory.slotThreadId(index);
    this.#exitedSeen[index] = -1;
    if (this.#isUnfollowed(opened)) this.#reports.unfollowed(opened.threadId);
    return this.#drainOwned(index, opened, state, budget);
  }

  /**
   * Whether slot `index`, not opened by the hub, reads FREE or a state no worker writes while its ring
   * holds records: a live owner's slot that got a stray store before the hub first read it. The state is
   * loaded again after the records: a claimer that took a FREE slot meanwhile changed it, and is not a
   * stray store.
   */
  #ownerBehindStrayState(index: number, state: number): boolean {
    if (state !== kSlotFree && isSlotState(state)) return false;
    const memory = this.#memory;
    return memory.holdsRing(index) && memory.ringHasRecords(index) && memory.slotState(index) === state;
  }

  /** Drain a slot the hub knows an owner of, whatever the state word says now. */
  #drainOwned(index: number, slot: SlotDrain, state: number, budget: number): boolean {
    const fill = slot.fill();
    if (fill > this.#ringFillWindow) this.#ringFillWindow = fill;
    if (state === kSlotExited) {
      // The owner marked its exit. The exit event of an owner the hub follows is what frees its slot:
      // until then the store may be anybody's, and the slot is read as claimed.
      if (!this.#targets.follows(slot.threadId)) {
        // The only sign the hub gets: release() drains everything the owner left, whatever the budget.
        this.#release(index);
        return false;
      }
      this.#strayExit(index, slot);
    } else if (state !== kSlotClaimed) {
      // Only the hub frees a slot it reads: anything else here is a stray store. Put CLAIMED back where no
      // claimer took the slot meanwhile, and go on reading the owner.
      this.#reports.strayStore(index, slot.threadId, state);
      if (state !== kSlotClaiming) this.#memory.restoreClaimed(index, state);
    }
    return slot.drain(budget);
  }

  /** A followed owner's slot reads EXITED: a stray store once the owner outlives it by the grace period. */
  #strayExit(index: number, slot: SlotDrain): void {
    const now = performance.now();
    const seen = this.#exitedSeen[index] ?? -1;
    if (seen < 0) {
      this.#exitedSeen[index] = now;
      return;
    }
    if (now - seen < kStrayExitGraceMs) return;
    this.#exitedSeen[index] = -1;
    this.#reports.strayStore(index, slot.threadId, kSlotExited);
    this.#memory.restoreClaimed(index, kSlotExited);
  }

  /** Stop reading slot `index` until it is free again; count and report this occurrence once. */
  #quarantineSlot(index: number, why: string): void {
    if (this.#quarantine[index] !== undefined) return;
    this.#quarantine[index] = why;
    this.#quarantined++;
    this.#reports.slotQuarantined(index, why);
  }

  /** Make the drain state of a slot whose buffer holds the ring. */
  #open(index: number): SlotDrain {
    const slot = new SlotDrain(this.#memory.reader(index), this.#context, this.#memory.exemplarReader(index));
    this.#slots[index] = slot;
    return slot;
  }

  /** The owner is gone: apply what it left (unless the slot is quarantined), and free the slot. Never throws. */
  #release(index: number): void {
    this.#exitedSeen[index] = -1;
    const slot = this.#slots[index];
    if (this.#quarantine[index] === undefined && (slot !== undefined || this.#memory.holdsRing(index))) {
      try {
        (slot ?? this.#open(index)).release();
      } catch (error) {
        // Its memory is not trusted from here on: the next owner gets new drain state.
        this.#slots[index] = undefined;
        this.#quarantined++;
        this.#reports.slotQuarantined(index, `releasing it threw (${error instanceof Error ? error.message : String(error)})`);
      }
    } else if (slot !== undefined || this.#memory.holdsRing(index)) {
      // Quarantined: what it holds is not read, only skipped (counted), so the next owner finds a clean
      // ring header. Its gauge contributions leave with the drain state.
      try {
        (slot ?? this.#open(index)).discard();
      } catch {
        this.#slots[index] = undefined;
      }
    }
    this.#quarantine[index] = undefined;
    // After release() wrote the clean ring header: the next claimer sees it.
    this.#memory.freeSlot(index);
  }

  #countLost(): void {
    const { late, unslotted } = this.#memory.lostCounts();
    if (late !== this.#lastLate) {
      this.#tally.dropped.worker_exit += (late - this.#lastLate) >>> 0;
      this.#lastLate = late;
    }
    if (unslotted === this.#lastUnslotted) return;
    this.#tally.dropped.no_slot += (unslotted - this.#lastUnslotted) >>> 0;
    this.#lastUnslotted = unslotted;
    this.#reports.noFreeSlot(this.#memory.layout.slotCount);
  }

  /** A worker the hub cannot follow to its exit: not the main thread (which outlives the hub), not followed. */
  #isUnfollowed(slot: SlotDrain): boolean {
    return slot.threadId !== 0 && !this.#targets.follows(slot.threadId);
  }
}
