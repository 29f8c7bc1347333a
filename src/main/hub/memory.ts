/**
 * The hub's shared memory: the control buffer, the slot buffers and the handle workers get, and every
 * reading of the control buffer's words the hub makes.
 * @module
 */
import { randomInt } from "node:crypto";
import type { HubHandle } from "../../shared/transport/handle.js";
import {
  Layout,
  kSlotClaimed,
  kSlotFree,
  kDoorbellWord,
  kLateDropsWord,
  kLayoutVersion,
  kMagic,
  kMagicWord,
  kOverflowCapacityWord,
  kReadIndex,
  kRingCapacityWord,
  kSlotCountWord,
  kMaxSlotInitialBytes,
  kOverflowRead,
  kOverflowWrite,
  kSlotHighWaterWord,
  kSlotInitialBytesWord,
  kSlotState,
  kSlotThreadId,
  kUnslottedDropsWord,
  kVersionWord,
  kWriteIndex,
} from "../../shared/transport/layout.js";
import { SlotReader } from "../../shared/transport/slot-reader.js";
import { ExemplarTableReader, exemplarTableBytes } from "../../shared/transport/exemplar-table.js";
import type { ResolvedHubOptions } from "../options.js";

/**
 * Allocate and read the hub's shared memory.
 *
 * @example
 * const memory = new HubMemory(resolveHubOptions({}));
 * const state = memory.slotState(0);
 */
export class HubMemory {
  readonly layout: Layout;
  /** The handle workers connect with. */
  readonly handle: HubHandle;
  /** The control buffer as Int32, the view Atomics.waitAsync needs. */
  readonly control: Int32Array;
  readonly #buffer: SharedArrayBuffer;
  readonly #slotBuffers: SharedArrayBuffer[];
  readonly #words: Uint32Array;
  #highWater = 0;

  /** Allocate the control buffer and reserve each slot's buffer, for `options`. */
  constructor(options: ResolvedHubOptions) {
    this.layout = new Layout(options.maxWorkers, options.ringCapacity, options.overflowCapacity);
    this.#buffer = new SharedArrayBuffer(this.layout.controlBytes);
    this.#words = new Uint32Array(this.#buffer);
    this.control = new Int32Array(this.#buffer);
    // A length of this hub's own, so a worker can tell the hub's slot buffers from others (see layout.ts).
    const initialBytes = randomInt(1, kMaxSlotInitialBytes + 1);
    this.#writeHeader(options.ringStartIndex, initialBytes);
    // Growable buffers of a few bytes, never written: only their address range is reserved now, one
    // reservation per slot (ring, exemplar table and overflow share it). The worker that claims a slot
    // grows its buffer to hold the ring, further at its first exemplar (the table), and further only if
    // it needs its overflow.
    this.#slotBuffers = Array.from({ length: this.layout.slotCount }, () => new SharedArrayBuffer(initialBytes, { maxByteLength: this.layout.slotBufferMaxBytes }));
    this.handle = {
      kind: "prom-threads/hub",
      version: kLayoutVersion,
      buffer: this.#buffer,
      slots: this.#slotBuffers,
      overflowRecords: options.overflowRecords,
      maxSeries: options.maxSeries,
      overflowWaitMs: options.overflowWaitMs,
    };
  }

  /** Whether `buffer` is this hub's control buffer. */
  owns(buffer: unknown): boolean {
    return buffer === this.#buffer;
  }

  /**
   * One more than the highest slot ever claimed: slots above it were never used. Never lower than it was:
   * a stray store that lowers the word does not hide a claimed slot from the hub.
   */
  highWater(): number {
    // Acquire load of a mark claimers raise before they publish their slot as CLAIMED.
    const word = Math.min(this.layout.slotCount, Atomics.load(this.#words, kSlotHighWaterWord));
    if (word > this.#highWater) this.#highWater = word;
    return this.#highWater;
  }

  /** Slot `index`'s state word (one of the `kSlot...` state values, or anything a stray store left). */
  slotState(index: number): number {
    // Acquire: once the state says CLAIMED, the owner's threadId, its grown buffer and first records are
    // visible. The reading may be stale the moment it returns.
    return Atomics.load(this.#words, this.layout.slotWord(index) + kSlotState);
  }

  /** Slot `index`'s owner word. */
  slotThreadId(index: number): number {
    // Acquire load; read after the state word, which the claimer stores after this one.
    return Atomics.load(this.#words, this.layout.slotWord(index) + kSlotThreadId);
  }

  /** Put CLAIMED back into slot `index`'s state word where it still reads `stray` (a stray store). */
  restoreClaimed(index: number, stray: number): void {
    // Why compareExchange: a claimer may have taken the slot since the load; its state stays.
    Atomics.compareExchange(this.#words, this.layout.slotWord(index) + kSlotState, stray, kSlotClaimed);
  }

  /** Hand slot `index` back: a worker's compareExchange may claim it from now on. */
  freeSlot(index: number): void {
    // Why a store: a claimer sees the clean ring header written before this store.
    Atomics.store(this.#words, this.layout.slotWord(index) + kSlotState, kSlotFree);
  }

  /**
   * Whether slot `index`'s buffer, as the hub sees it, holds the ring: its owner grew it before it
   * published CLAIMED. If not, the owner grew a buffer that is not the hub's, or nobody claimed the slot.
   */
  holdsRing(index: number): boolean {
    return (this.#slotBuffers[index] as SharedArrayBuffer).byteLength >= this.layout.ringBytes;
  }

  /** Whether slot `index`'s ring header says records are published and not read. */
  ringHasRecords(index: number): boolean {
    const header = this.layout.ringHeaderByte(index) / 4;
    // Acquire loads of the writer's indices against the reader's; stale at once, and only a hint.
    return (
      Atomics.load(this.#words, header + kWriteIndex) !== Atomics.load(this.#words, header + kReadIndex) ||
      Atomics.load(this.#words, header + kOverflowWrite) !== Atomics.load(this.#words, header + kOverflowRead)
    );
  }

  /** A reader of slot `index`'s ring and overflow; only for a slot whose buffer {@link holdsRing}. */
  reader(index: number): SlotReader {
    return new SlotReader({
      control: this.#buffer,
      headerByte: this.layout.ringHeaderByte(index),
      data: this.#slotBuffers[index] as SharedArrayBuffer,
      capacity: this.layout.ringCapacity,
      overflowCapacity: this.layout.overflowCapacity,
    });
  }

  /** A reader of slot `index`'s latest-exemplar table (a region of its data buffer). */
  exemplarReader(index: number): ExemplarTableReader {
    return new ExemplarTableReader(this.#slotBuffers[index] as SharedArrayBuffer, this.layout.exemplarTableByte);
  }

  /** The running counts of records dropped after a thread's exit and by workers without a slot. */
  lostCounts(): { late: number; unslotted: number } {
    // Acquire loads of counters that workers increment with Atomics.add.
    return { late: Atomics.load(this.#words, kLateDropsWord), unslotted: Atomics.load(this.#words, kUnslottedDropsWord) };
  }

  /**
   * Bytes of shared memory in use: the control buffer and, of each slot buffer, its ring, the part of its
   * exemplar table its owner grew and the part of its overflow grown. The table's region counts only as
   * far as it was grown: growing the overflow makes the buffer's length cover the whole region, but the
   * pages nobody wrote take no memory.
   */
  bytes(): number {
    let bytes = this.#buffer.byteLength;
    const highWater = this.highWater();
    const tableByte = this.layout.exemplarTableByte;
    const overflowByte = this.layout.overflowDataByte;
    for (let index = 0; index < highWater; index++) {
      const length = (this.#slotBuffers[index] as SharedArrayBuffer).byteLength;
      if (length <= tableByte) bytes += length;
      else bytes += tableByte + exemplarTableBytes(this.#slotBuffers[index] as SharedArrayBuffer, tableByte) + Math.max(0, length - overflowByte);
    }
    return bytes;
  }

  /** Wake whoever waits on the doorbell (the hub's own pending wait, at close). */
  ringDoorbell(): void {
    // Why add and notify: a waiter compares the word, so it must change before the notify.
    Atomics.add(this.control, kDoorbellWord, 1);
    Atomics.notify(this.control, kDoorbellWord);
  }

  #writeHeader(ringStartIndex: number, initialBytes: number): void {
    const words = this.#words;
    // No worker has the buffer yet; plain stores would do, Atomics.store states the words are shared.
    Atomics.store(words, kMagicWord, kMagic);
    Atomics.store(words, kVersionWord, kLayoutVersion);
    Atomics.store(words, kSlotCountWord, this.layout.slotCount);
    Atomics.store(words, kRingCapacityWord, this.layout.ringCapacity);
    Atomics.store(words, kOverflowCapacityWord, this.layout.overflowCapacity);
    Atomics.store(words, kSlotInitialBytesWord, initialBytes);
    const start = ringStartIndex >>> 0;
    if (start !== 0) {
      for (let slot = 0; slot < this.layout.slotCount; slot++) {
        const header = this.layout.ringHeaderByte(slot) / 4;
        Atomics.store(words, header + kWriteIndex, start);
        Atomics.store(words, header + kReadIndex, start);
      }
    }
  }
}
