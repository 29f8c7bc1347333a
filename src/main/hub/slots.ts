/**
 * The slot lifecycle as the hub sees it: open a slot's drain state when a worker claims it, drain it,
 * release it when its owner is gone, and know which owners the hub can follow to their exit.
 * @module
 */
import { SLOT_CLAIMED, SLOT_EXITED } from "../../shared/transport/layout.js";
import type { AttachedTargets } from "../attach.js";
import { SlotDrain, type SlotContext } from "../slot-drain.js";
import type { Tally } from "../tally.js";
import type { HubMemory } from "./memory.js";
import type { HubReports } from "./reports.js";

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

  /** Release every slot owned by the thread `threadId`, which has exited. */
  threadExited(threadId: number): void {
    const memory = this.#memory;
    const highWater = memory.highWater();
    for (let index = 0; index < highWater; index++) {
      // The dead thread's last stores are visible to these loads. A slot in any other state than CLAIMED
      // or EXITED is free, or being claimed by another thread that has not written its threadId yet (the
      // word may still name the dead thread, its previous owner): it is not the dead thread's to release.
      // The state is read first: a claimer stores its threadId before CLAIMED.
      const state = memory.slotState(index);
      if (state !== SLOT_CLAIMED && state !== SLOT_EXITED) continue;
      if (memory.slotThreadId(index) !== threadId) continue;
      this.#release(index);
    }
  }

  /** Workers that own a slot now. */
  connected(): number {
    let count = 0;
    const highWater = this.#memory.highWater();
    // A relaxed reading is enough for a count that is stale the moment it is returned.
    for (let index = 0; index < highWater; index++) if (this.#memory.slotState(index) === SLOT_CLAIMED) count++;
    return count;
  }

  /** Connected workers the hub cannot follow to their exit. */
  unfollowed(): number {
    let count = 0;
    for (const slot of this.#slots) if (slot !== undefined && slot.active && this.#isUnfollowed(slot)) count++;
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
      const inUse = memory.slotState(index) === SLOT_CLAIMED;
      const threadId = inUse ? memory.slotThreadId(index) : null;
      slots.push({ inUse, threadId, fill: inUse ? (this.#slots[index]?.fill() ?? 0) : 0 });
    }
    return slots;
  }

  /** Drain one slot (at most `budget` records); `true` when records were left. */
  #drainSlot(index: number, budget: number): boolean {
    const state = this.#memory.slotState(index);
    if (state !== SLOT_CLAIMED && state !== SLOT_EXITED) return false;
    const slot = this.#slots[index] ?? this.#open(index);
    if (!slot.active) {
      slot.active = true;
      slot.threadId = this.#memory.slotThreadId(index);
      if (this.#isUnfollowed(slot)) this.#reports.unfollowed(slot.threadId);
    }
    const fill = slot.fill();
    if (fill > this.#ringFillWindow) this.#ringFillWindow = fill;
    // The owner marked its exit: release() drains everything it left, whatever the budget.
    if (state === SLOT_EXITED) {
      this.#release(index);
      return false;
    }
    return slot.drain(budget);
  }

  /** Make the drain state of a slot whose owner grew its buffer to hold the ring. */
  #open(index: number): SlotDrain {
    const slot = new SlotDrain(this.#memory.reader(index), this.#context);
    this.#slots[index] = slot;
    return slot;
  }

  #release(index: number): void {
    (this.#slots[index] ?? this.#open(index)).release();
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
