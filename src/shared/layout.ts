/**
 * The shared-memory layout: every offset of the hub's SharedArrayBuffer is defined here and nowhere else.
 *
 * One SharedArrayBuffer holds everything. Worker threads and the main thread both import this file.
 *
 * ```text
 * byte 0                                                   (cache line = 64 bytes)
 * ┌──────────────────────────────────────────────────────────────────────────────┐
 * │ control line    u32 magic │ u32 version │ u32 slotCount │ u32 ringCapacity   │  0
 * ├──────────────────────────────────────────────────────────────────────────────┤
 * │ doorbell line   i32 doorbell   (workers Atomics.notify, main waitAsync)      │  64
 * ├──────────────────────────────────────────────────────────────────────────────┤
 * │ unslotted line  u32 unslottedDrops │ u32 lateDrops                           │  128
 * │                 (records of workers without a slot; records made after a     │
 * │                  thread's exit handler gave its slot back)                   │
 * ├──────────────────────────────────────────────────────────────────────────────┤
 * │ slot table      one line per slot:                                           │  192
 * │                 u32 state │ u32 threadId                                     │
 * ├──────────────────────────────────────────────────────────────────────────────┤
 * │ ring headers    two lines per slot, so writer and reader never share a line: │
 * │   writer line   u32 writeIndex │ u32 droppedFull │ u32 spilledTotal          │
 * │   reader line   u32 readIndex                                                │
 * ├──────────────────────────────────────────────────────────────────────────────┤
 * │ ring data       ringCapacity records per slot, 16 bytes each                 │
 * └──────────────────────────────────────────────────────────────────────────────┘
 *
 * A record (16 bytes):
 * ┌─────────────────────────────┬──────────────────┬──────────────────────────────┐
 * │ u32 word0 = op | id << 8    │ u32 aux          │ f64 value                    │
 * └─────────────────────────────┴──────────────────┴──────────────────────────────┘
 *   op: one of the OP_* codes in protocol.ts, with SPILLED_FLAG (0x80) set on observations that went
 *   through the writer's spill buffer; id: a worker-local series or metric id (24 bits);
 *   aux: the histogram bucket index, or the payload length in bytes of a declaration, whose
 *   UTF-8 payload fills the records that follow it.
 * ```
 *
 * Ring indices are free-running unsigned 32-bit counters: the slot of index `i` is `i & (capacity - 1)`,
 * the fill is `(write - read) >>> 0`. Capacity is a power of two, so indices wrap at 2^32 seamlessly.
 * @module
 */

/** Bytes in one cache line; header fields written by different threads live on different lines. */
export const kCacheLineBytes = 64;
/** Bytes in one record. */
export const kRecordBytes = 16;
/** 32-bit words in one record. */
export const kRecordWords = kRecordBytes / 4;
/** Identifies a prom-threads buffer ("PTHR"). */
export const kMagic = 0x50544852;
/** Version of this layout; a worker built against another version refuses the handle. */
export const kLayoutVersion = 1;

// Control header, as u32 word indices.
/** Word index of the magic number. */
export const kMagicWord = 0;
/** Word index of the layout version. */
export const kVersionWord = 1;
/** Word index of the number of worker slots. */
export const kSlotCountWord = 2;
/** Word index of the ring capacity in records. */
export const kRingCapacityWord = 3;
/** Word index of the doorbell (an Int32 that workers notify when a ring fills past its high-water mark). */
export const kDoorbellWord = kCacheLineBytes / 4;
/** Word index of the count of records dropped by workers that could not claim a slot. */
export const kUnslottedDropsWord = (2 * kCacheLineBytes) / 4;
/**
 * Word index of the count of records made by threads after their exit handler gave their slot back
 * (in `process.on('exit')` listeners that run after prom-threads' own); the hub counts them as lost.
 */
export const kLateDropsWord = kUnslottedDropsWord + 1;

const kSlotTableByte = 3 * kCacheLineBytes;

// Fields of a slot-table line, relative to the line's first word.
/** Slot state (one of the SLOT_* values). */
export const kSlotState = 0;
/** `threadId` of the worker that owns the slot. */
export const kSlotThreadId = 1;

/** The slot is free for a worker to claim. */
export const SLOT_FREE = 0;
/** A live worker owns the slot and writes its ring. */
export const SLOT_CLAIMED = 1;
/** The owner exited by itself (its `process.on('exit')` ran); the main thread drains and frees the slot. */
export const SLOT_EXITED = 2;
/** A worker won the slot and is writing its threadId; the ring is not in use yet. */
export const SLOT_CLAIMING = 3;

// Fields of a ring header, relative to the header's first word.
/** Next index the writer will fill; published with Atomics.store after the record is written. */
export const kWriteIndex = 0;
/** Records the writer dropped because its ring and its spill buffer were both full. */
export const kDroppedFull = 1;
/**
 * Running count (u32, wrapping) of observation records the writer has put in its worker-local spill
 * buffer since it took the ring. Those it never published are lost if it dies: this count minus the
 * spilled records the reader has seen (flagged with SPILLED_FLAG).
 */
export const kSpilledTotal = 2;
/** Next index the reader will consume; published with Atomics.store after records are processed. */
export const kReadIndex = kCacheLineBytes / 4;

const kRingHeaderBytes = 2 * kCacheLineBytes;

/** Smallest ring, in records. */
export const kMinRingCapacity = 1024;
/** Largest ring, in records (2^24: 256 MiB per worker). */
export const kMaxRingCapacity = 1 << 24;
/** Most worker slots one hub can have. */
export const kMaxSlots = 4096;
/** Largest worker-local id (24 bits in word0). */
export const kMaxLocalId = (1 << 24) - 1;

/**
 * Byte offsets of every region, computed from the slot count and the ring capacity.
 *
 * @example
 * const layout = new Layout(16, 65536);
 * const data = new Uint32Array(sab, layout.ringDataByte(3), layout.ringCapacity * kRecordWords);
 */
export class Layout {
  /** Number of worker slots. */
  readonly slotCount: number;
  /** Records per ring; a power of two. */
  readonly ringCapacity: number;
  /** Total bytes of the SharedArrayBuffer. */
  readonly totalBytes: number;
  readonly #ringHeadersByte: number;
  readonly #ringDataByte: number;

  /** Compute the layout for `slotCount` slots of `ringCapacity` records each. */
  constructor(slotCount: number, ringCapacity: number) {
    this.slotCount = slotCount;
    this.ringCapacity = ringCapacity;
    this.#ringHeadersByte = kSlotTableByte + slotCount * kCacheLineBytes;
    this.#ringDataByte = this.#ringHeadersByte + slotCount * kRingHeaderBytes;
    this.totalBytes = this.#ringDataByte + slotCount * ringCapacity * kRecordBytes;
  }

  /** Word index (u32) of slot `slot`'s slot-table line. */
  slotWord(slot: number): number {
    return (kSlotTableByte + slot * kCacheLineBytes) / 4;
  }

  /** Byte offset of slot `slot`'s ring header (writer line, then reader line). */
  ringHeaderByte(slot: number): number {
    return this.#ringHeadersByte + slot * kRingHeaderBytes;
  }

  /** Byte offset of slot `slot`'s ring data. */
  ringDataByte(slot: number): number {
    return this.#ringDataByte + slot * this.ringCapacity * kRecordBytes;
  }
}

/** Words in a ring header view (writer line and reader line). */
export const kRingHeaderWords = kRingHeaderBytes / 4;
