/**
 * The shared-memory layout: every offset of the hub's shared memory is defined here and nowhere else.
 *
 * A hub has one fixed control buffer (`handle.buffer`) and one growable data buffer per worker slot
 * (`handle.slots[i]`, created empty; its owner grows it): one growable buffer, so one reservation of
 * address space (a memory mapping or two), per slot. Worker threads and the main thread both import
 * this file.
 *
 * ```text
 * control buffer (fixed size)                              (cache line = 64 bytes)
 * ┌──────────────────────────────────────────────────────────────────────────────┐
 * │ control line    u32 magic │ u32 version │ u32 slotCount │ u32 ringCapacity   │  0
 * │                 u32 overflowCapacity │ u32 slotHighWater                     │
 * │                 u32 slotInitialBytes                                         │
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
 * │   writer line   u32 ringWrite │ u32 droppedFull │ u32 overflowWrite          │
 * │   reader line   u32 ringRead  │ u32 overflowRead                             │
 * └──────────────────────────────────────────────────────────────────────────────┘
 *
 * slot data buffer i (growable SharedArrayBuffer, grown by the worker that owns slot i)
 * ┌──────────────────────────┬──────────────────────────────┬──────────────────────────┐
 * │ ring: ringCapacity       │ latest-exemplar table: a     │ overflow: up to          │
 * │ records (grown in whole  │ 64-byte header and up to     │ overflowCapacity records,│
 * │ when the slot is first   │ 65,536 entries of 256 bytes, │ grown as the writer      │
 * │ claimed)                 │ grown at the first exemplar  │ first reaches them       │
 * └──────────────────────────┴──────────────────────────────┴──────────────────────────┘
 *   The table's region is reserved in whole (kExemplarTableMaxBytes) whether grown or not: growing the
 *   overflow makes the buffer's length cover it, but pages nobody writes take no memory.
 *   Until its first owner grows it, a slot buffer holds slotInitialBytes (a length the hub picks at
 *   random, below the smallest ring): a worker handed buffers that are not the hub's sees it.
 *
 * A record (16 bytes):
 * ┌─────────────────────────────┬──────────────────┬──────────────────────────────┐
 * │ u32 word0 = op | id << 8    │ u32 aux          │ f64 value                    │
 * └─────────────────────────────┴──────────────────┴──────────────────────────────┘
 *   op: one of the OP_* codes in protocol.ts; id: a worker-local series or metric id (24 bits);
 *   aux: the histogram bucket index, or the payload length in bytes of a declaration, whose
 *   UTF-8 payload fills the records that follow it.
 * ```
 *
 * Ring indices are free-running unsigned 32-bit counters: the slot of index `i` is `i & (capacity - 1)`,
 * the fill is `(write - read) >>> 0`. Capacity is a power of two, so indices wrap at 2^32 seamlessly.
 *
 * Overflow indices run from 0 to `2 × overflowCapacity - 1` and then start again at 0 (the capacity need
 * not be a power of two): the position of index `i` is `i mod overflowCapacity`, the fill is
 * `(write - read) mod 2 × overflowCapacity`; see overflow-index.ts.
 *
 * The writer fills its ring; when the ring is full it writes to the overflow, and it returns to the ring
 * only once the hub has read the overflow empty. The hub reads the overflow's write index first, then the
 * ring's, then drains the ring before the overflow: so records are read in the order they were made.
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
export const kLayoutVersion = 4;

// Control header, as u32 word indices.
/** Word index of the magic number. */
export const kMagicWord = 0;
/** Word index of the layout version. */
export const kVersionWord = 1;
/** Word index of the number of worker slots. */
export const kSlotCountWord = 2;
/** Word index of the ring capacity in records. */
export const kRingCapacityWord = 3;
/** Word index of the overflow capacity in records. */
export const kOverflowCapacityWord = 4;
/**
 * Word index of the slot high-water mark: one more than the highest slot ever claimed. Claimers raise it
 * (compare-exchange loop), the hub scans slots below it only.
 */
export const kSlotHighWaterWord = 5;
/**
 * Word index of the length every slot buffer has until its first owner grows it to hold the ring: a
 * length from 1 to {@link kMaxSlotInitialBytes} the hub picks at random. A handle whose slot buffers are
 * neither that long nor grown past the ring is not the hub's own (`connect()` refuses it).
 */
export const kSlotInitialBytesWord = 6;
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
/** Slot state (one of the `kSlot...` state values). */
export const kSlotState = 0;
/** `threadId` of the worker that owns the slot. */
export const kSlotThreadId = 1;

/** The slot is free for a worker to claim. */
export const kSlotFree = 0;
/** A live worker owns the slot and writes its ring. */
export const kSlotClaimed = 1;
/**
 * The owner exited by itself (its `process.on('exit')` ran); the main thread drains and frees the slot.
 * For an owner whose Worker the hub follows, only the Worker's `exit` event frees the slot: the hub reads
 * this state as CLAIMED until then.
 */
export const kSlotExited = 2;
/** A worker won the slot and is writing its threadId; the ring is not in use yet. */
export const kSlotClaiming = 3;
/** Whether `state` is one of the `kSlot...` state values: anything else in a state word is a stray store. */
export function isSlotState(state: number): boolean {
  return state === kSlotFree || state === kSlotClaimed || state === kSlotExited || state === kSlotClaiming;
}

// Fields of a ring header, relative to the header's first word.
/** Next ring index the writer will fill; published with Atomics.store after the record is written. */
export const kWriteIndex = 0;
/** Records the writer dropped because its ring and its overflow were both full. */
export const kDroppedFull = 1;
/** Next overflow index the writer will fill; published with Atomics.store after the record is written. */
export const kOverflowWrite = 2;
/** Next ring index the reader will consume; published with Atomics.store after records are processed. */
export const kReadIndex = kCacheLineBytes / 4;
/** Next overflow index the reader will consume; published with Atomics.store after records are processed. */
export const kOverflowRead = kReadIndex + 1;

const kRingHeaderBytes = 2 * kCacheLineBytes;
/** Words in a ring header view (writer line and reader line). */
export const kRingHeaderWords = kRingHeaderBytes / 4;

/** Smallest ring, in records. */
export const kMinRingCapacity = 1024;
/** Largest ring, in records (2^24: 256 MiB per worker). */
export const kMaxRingCapacity = 1 << 24;
/** Most worker slots one hub can have. */
export const kMaxSlots = 4096;
/** Largest worker-local id (24 bits in word0). */
export const kMaxLocalId = (1 << 24) - 1;
/** Largest slot data buffer a SharedArrayBuffer may grow to on Node 20 (4 GiB). */
export const kMaxSlotBufferBytes = 2 ** 32;
/** Longest initial slot buffer: below the smallest ring, so the first owner always grows it. */
export const kMaxSlotInitialBytes = kMinRingCapacity * kRecordBytes - 1;
/** Bytes the writer grows its overflow by at least, so growing is rare (it is a system call). */
export const kOverflowGrowBytes = 64 * 1024;

/** Byte offset of the latest-exemplar table in a slot's data buffer: right behind a ring of `ringCapacity` records. */
function exemplarTableByte(ringCapacity: number): number {
  return ringCapacity * kRecordBytes;
}

/** Byte offset of the overflow in a slot's data buffer: behind the ring of `ringCapacity` records and the exemplar table. */
export function overflowDataByte(ringCapacity: number): number {
  return exemplarTableByte(ringCapacity) + kExemplarTableMaxBytes;
}

/**
 * Byte offsets of every region, computed from the slot count and the capacities.
 *
 * @example
 * const layout = new Layout(16, 65536, 1 << 20);
 * const header = new Uint32Array(control, layout.ringHeaderByte(3), kRingHeaderWords);
 */
export class Layout {
  /** Number of worker slots. */
  readonly slotCount: number;
  /** Records per ring; a power of two. */
  readonly ringCapacity: number;
  /** Records per overflow. */
  readonly overflowCapacity: number;
  /** Total bytes of the control buffer. */
  readonly controlBytes: number;
  /** Largest size of a slot's data buffer: its ring, its exemplar table and its whole overflow. */
  readonly slotBufferMaxBytes: number;
  readonly #ringHeadersByte: number;

  /** Compute the layout for `slotCount` slots of `ringCapacity` ring and `overflowCapacity` overflow records. */
  constructor(slotCount: number, ringCapacity: number, overflowCapacity: number) {
    this.slotCount = slotCount;
    this.ringCapacity = ringCapacity;
    this.overflowCapacity = overflowCapacity;
    this.#ringHeadersByte = kSlotTableByte + slotCount * kCacheLineBytes;
    this.controlBytes = this.#ringHeadersByte + slotCount * kRingHeaderBytes;
    this.slotBufferMaxBytes = overflowDataByte(ringCapacity) + overflowCapacity * kRecordBytes;
  }

  /** Word index (u32) of slot `slot`'s slot-table line. */
  slotWord(slot: number): number {
    return (kSlotTableByte + slot * kCacheLineBytes) / 4;
  }

  /** Byte offset of slot `slot`'s ring header (writer line, then reader line) in the control buffer. */
  ringHeaderByte(slot: number): number {
    return this.#ringHeadersByte + slot * kRingHeaderBytes;
  }

  /** Byte offset of the ring in a slot's data buffer. */
  get ringDataByte(): number {
    return 0;
  }

  /** Bytes of the ring at the start of a slot's data buffer. */
  get ringBytes(): number {
    return this.ringCapacity * kRecordBytes;
  }

  /** Byte offset of the latest-exemplar table in a slot's data buffer. */
  get exemplarTableByte(): number {
    return exemplarTableByte(this.ringCapacity);
  }

  /** Byte offset of the overflow in a slot's data buffer. */
  get overflowDataByte(): number {
    return overflowDataByte(this.ringCapacity);
  }
}

/*
 * Latest-exemplar tables: a region of each slot's data buffer, between the ring and the overflow
 * (`layout.exemplarTableByte`), written only by the slot's owner (but for the hub's read count), read by
 * the hub. It holds an exemplar of every exemplar slot (a counter series, a histogram bucket) the owner
 * recorded one for, the latest the owner kept (see exemplar-table.ts).
 *
 * ```text
 * exemplar table of slot i (grown by the owner of slot i at its first exemplar, 256 entries at a time;
 * the hub reads it only as far as the buffer is grown, never past the table's region)
 * ┌──────────────────────────────────────────────────────────────────────────────┐
 * │ header line     u32 entries (grown and zeroed) │ u32 changed (0 or 1)        │  0
 * │                 u32 hub reads (31 bits, written by the hub)                  │
 * ├──────────────────────────────────────────────────────────────────────────────┤
 * │ entry 0 … entries-1, 256 bytes each:                                         │  64
 * │   u32 version (odd while the owner writes) │ u32 seriesId │ u32 bucket        │
 * │   u32 text units │ u32 checksum │ u32 (zero) │ f64 value │ f64 timestamp (ms) │
 * │   u16 text[108]: per label its name, "=", u16 value length, the value       │
 * └──────────────────────────────────────────────────────────────────────────────┘
 * ```
 */
/** Bytes of an exemplar table's header: one cache line ({@link kCacheLineBytes}). */
export const kExemplarHeaderBytes = 64;
/** Word index, in an exemplar table, of the number of entries the owner grew and zeroed (published last). */
export const kExemplarEntriesWord = 0;
/**
 * Word index, in an exemplar table, of the changed flag: the owner raises it (1) after publishing an
 * entry if the hub has lowered it; the hub lowers it (0) with `Atomics.exchange` before reading entries.
 */
export const kExemplarChangedWord = 1;
/**
 * Word index, in an exemplar table, of the hub's read count (31 bits, wrapping): the hub adds one each
 * time it reads a raised table. The owner writes an entry again only when this moved since its last write
 * of that entry, or after {@link kExemplarRefreshCalls} skipped exemplars of it (exemplar-table.ts).
 */
export const kExemplarEpochWord = 2;
/** Exemplars of one entry the owner skips within one hub read before it writes the next one anyway. */
export const kExemplarRefreshCalls = 256;
/** Bytes of one exemplar table entry. */
export const kExemplarEntryBytes = 256;
/** 32-bit words of one exemplar table entry. */
export const kExemplarEntryWords = kExemplarEntryBytes / 4;
/** Entry word: the seqlock version; odd while the owner writes the entry, even when it is whole. */
export const kExVersion = 0;
/** Entry word: the worker-local series id, or {@link kExNoSeries}. */
export const kExSeries = 1;
/** Entry word: the bucket (0 for a counter; the classic bucket index of a histogram). */
export const kExBucket = 2;
/** Entry word: the number of UTF-16 units of text. */
export const kExUnits = 3;
/** Entry word: checksum of words 1 to 3 and 6 onwards, so a reader can tell a torn entry on any CPU. */
export const kExChecksum = 4;
/** Entry byte of the f64 value. */
export const kExValueByte = 24;
/** Entry byte of the f64 timestamp, milliseconds since the epoch. */
export const kExTimestampByte = 32;
/** Entry byte of the text. */
export const kExTextByte = 40;
/** UTF-16 units of text one entry holds: exemplars with longer label sets travel through the ring. */
export const kExTextUnits = (kExemplarEntryBytes - kExTextByte) / 2;
/** The series id of an entry that holds nothing. */
export const kExNoSeries = 0xffffffff;
/** Entries a table grows by. */
export const kExemplarGrowEntries = 256;
/** Most entries one table holds (16 MiB); exemplars past it travel through the ring. */
export const kExemplarMaxEntries = 65536;
/** Largest exemplar table. */
export const kExemplarTableMaxBytes = kExemplarHeaderBytes + kExemplarMaxEntries * kExemplarEntryBytes;
