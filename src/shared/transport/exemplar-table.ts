/**
 * The latest-exemplar table of one worker slot: fixed-size entries in shared memory, one per exemplar
 * slot (a counter series, a histogram bucket), written by the slot's owner with a seqlock-style version
 * word and read by the hub when it drains the slot. An exemplar overwrites the previous one of its slot in
 * place, so a busy metric cannot take another's entries; the owner writes a slot's exemplar when the hub
 * has read the table since its last write of that slot, or at every 256th call (see {@link
 * ExemplarTableWriter.due}), so the hub finds a recent one, not necessarily the latest. The table
 * is a region of the slot's data buffer, between the ring and the overflow; offsets are in layout.ts.
 *
 * Writing: the owner checks the labels first (so a call that throws changes nothing), stores an odd
 * version (a plain store), writes the entry with plain stores (the text one UTF-16 unit per store; when
 * the label names and value lengths are those it wrote last in the entry, only the values: the rest of
 * the text is still its own) and its checksum over the whole text, publishes the next even version with the one `Atomics.store` of the call, and raises the
 * table's changed flag only if the hub has lowered it (an `Atomics.load`, a plain read on x86 and arm64).
 * Reading: the hub lowers the flag (`Atomics.exchange`) and skips the table if it was not raised;
 * otherwise, per entry whose version changed, it reads the version, copies the entry, reads the version
 * again and checks the checksum: a version that changed, an odd one or a wrong checksum means the owner
 * was writing (or the odd store was not visible yet), and the entry is read again at the next drain.
 * @module
 */
import {
  kExBucket,
  kExChecksum,
  kExSeries,
  kExTextByte,
  kExTextUnits,
  kExTimestampByte,
  kExUnits,
  kExValueByte,
  kExVersion,
  kExNoSeries,
  kExemplarChangedWord,
  kExemplarEntriesWord,
  kExemplarEpochWord,
  kExemplarEntryBytes,
  kExemplarEntryWords,
  kExemplarGrowEntries,
  kExemplarHeaderBytes,
  kExemplarMaxEntries,
  kExemplarRefreshCalls,
  kExemplarTableMaxBytes,
} from "./layout.js";

const kHeaderWords = kExemplarHeaderBytes / 4;
const kTextWord = kExTextByte / 4;
const kEqualsSign = 0x3d;

/** Encoding an exemplar's labels into an entry: done, too long for an entry, or not a valid label set. */
export const kEncoded = 0;
/** The labels need more than an entry's text holds: send the exemplar through the ring. */
export const kTooLong = 1;
/** A label name, a value or the total length is not valid: validate it to throw the precise error. */
export const kInvalid = 2;
/** The label set has no labels: the call records no exemplar. */
export const kEmpty = 3;

/** Label names seen valid, so a name is checked once per thread, not per exemplar. */
const validNames = new Set<string>();
const kLabelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function isValidName(name: string): boolean {
  if (validNames.has(name)) return true;
  if (!kLabelName.test(name)) return false;
  // Bounded: names past the first 1024 are checked each time.
  if (validNames.size < 1024) validNames.add(name);
  return true;
}

/** The checksum of an entry: its series, bucket and length, the words of its value and time, its text's sum. */
function checksum(seriesId: number, bucket: number, units: number, v0: number, v1: number, t0: number, t1: number, textSum: number): number {
  let hash = Math.imul(seriesId ^ 0x5bd1e995, 0x9e3779b1);
  hash = Math.imul(hash ^ bucket, 0x9e3779b1);
  hash = Math.imul(hash ^ units, 0x9e3779b1);
  hash = Math.imul(hash ^ v0, 0x9e3779b1);
  hash = Math.imul(hash ^ v1, 0x9e3779b1);
  hash = Math.imul(hash ^ t0, 0x9e3779b1);
  hash = Math.imul(hash ^ t1, 0x9e3779b1);
  return (Math.imul(hash ^ textSum, 0x9e3779b1) ^ 1) >>> 0;
}

/**
 * The owner's side: allocates entries per series, checks an exemplar's labels, then writes them into
 * their shared entry in place.
 */
export class ExemplarTableWriter {
  readonly #buffer: SharedArrayBuffer;
  /** Byte offset of the table in {@link #buffer}. */
  readonly #byte: number;
  /**
   * A fixed-length view of the table's grown part, made again after each growth: V8 optimizes stores to
   * it, where a length-tracking view of a growable buffer costs several times more per store.
   */
  #words: Uint32Array;
  /** Entries grown and zeroed, as published in the header. */
  #entries: number;
  /** Entries handed out (the rest up to {@link #entries} is free). */
  #used = 0;
  /** First entry of each series id, plus one (0: none yet). */
  #bases = new Int32Array(1024);
  /** Entries of each series id. */
  #lengths = new Int32Array(1024);
  /** Free runs of entries by their length, from removed series. */
  readonly #free = new Map<number, number[]>();
  #f64: Float64Array;
  #text: Uint16Array;
  /** Units of text of the labels {@link encode} checked last. */
  #units = 0;
  /** Labels {@link encode} checked last: their count, then their names and values as text, in walk order. */
  #count = 0;
  /**
   * Names checked valid, by position: a name equal to the one at its position in the last call needs no
   * check (only names that passed are kept here).
   */
  readonly #names: string[] = [];
  readonly #values: string[] = [];
  /**
   * Per entry, the label names and value lengths this writer wrote last, and the sum of the units they
   * take (names, signs, lengths): when a commit's labels have the same, their units in shared memory are
   * still those (only this writer writes an entry's text) and only the values are written again.
   */
  #shadows: Array<EntryShadow | undefined> = [];
  /**
   * Per entry, the hub's read count when this writer last wrote it (-1: never), and how many exemplars
   * of it were skipped since: see {@link due}. Grown with the table.
   */
  #marks = new Int32Array(0);
  #skipped = new Int32Array(0);
  /** The read count {@link due} loaded last, stored into the entry's mark by {@link commit}. */
  #epoch = 0;

  /**
   * Take over the table at `byteOffset` of `buffer` (the slot's data buffer), which the hub handed over
   * empty, grown or not, with the slot.
   */
  constructor(buffer: SharedArrayBuffer, byteOffset = 0) {
    this.#buffer = buffer;
    this.#byte = byteOffset;
    this.#words = this.#view(Uint32Array);
    this.#f64 = this.#view(Float64Array);
    this.#text = this.#view(Uint16Array);
    // Why Atomics.load: the hub cleared the table before handing the slot over; nothing else writes it
    // now. A table not grown to its header yet has no entries.
    this.#entries = this.#words.length === 0 ? 0 : Math.min(kExemplarMaxEntries, Atomics.load(this.#words, kExemplarEntriesWord));
    this.#growMarks(this.#entries);
  }

  /**
   * Check `labels` and measure the text they take in an entry, in one walk that also keeps their names
   * and values as text for {@link commit}. Returns {@link kEncoded} (they fit), {@link kTooLong},
   * {@link kInvalid} or {@link kEmpty}; nothing shared is touched.
   */
  encode(labels: Record<string, unknown>): number {
    const names = this.#names;
    const values = this.#values;
    let units = 0;
    let count = 0;
    for (const name in labels) {
      const raw = labels[name];
      let text: string;
      if (typeof raw === "string") text = raw;
      else if (typeof raw === "number") text = String(raw);
      else return kInvalid;
      if (name !== names[count]) {
        if (!isValidName(name)) return kInvalid;
        names[count] = name;
      }
      values[count] = text;
      units += name.length + 2 + text.length;
      // Each character is at least one unit: a label set of more than 128 never fits, and the ring path
      // checks it exactly (counting code points). Stopping here also bounds the kept names.
      if (units > kExTextUnits) return kTooLong;
      count++;
    }
    if (count === 0) return kEmpty;
    this.#units = units;
    this.#count = count;
    return kEncoded;
  }

  /**
   * The first of `count` entries of series `seriesId`, allocated at its first exemplar; -1 when the table
   * is full (the exemplar then travels through the ring).
   */
  entryOf(seriesId: number, count: number): number {
    const base = seriesId < this.#bases.length ? (this.#bases[seriesId] as number) : 0;
    if (base !== 0) return base - 1;
    return this.#allocate(seriesId, count);
  }

  /**
   * Whether an exemplar for entry `entry` (allocated) is to be written: yes when the hub has read the
   * table since this writer last wrote the entry, or when {@link kExemplarRefreshCalls} exemplars of the
   * entry were skipped since; otherwise the exemplar is skipped (its observation is recorded all the
   * same). So the entry holds the first exemplar after each read of the hub, refreshed every 256 calls
   * in a burst: never older than one drain interval before the latest, and the clock is read (for the
   * exemplar's timestamp) only for the exemplars written. Call {@link commit} next when it says yes.
   */
  due(entry: number): boolean {
    // A plain load (Atomics.load cost 15 to 19 ns more in a loop on Node 20): the count only chooses which
    // exemplars are written. A stale count skips one that was due (or writes one more); were a compiler
    // to keep the count across a whole loop, the entry would still be written every 256th call.
    const epoch = this.#words[kExemplarEpochWord] as number;
    if (this.#marks[entry] !== epoch) {
      this.#epoch = epoch;
      return true;
    }
    const skipped = (this.#skipped[entry] as number) + 1;
    if (skipped < kExemplarRefreshCalls) {
      this.#skipped[entry] = skipped;
      return false;
    }
    this.#epoch = epoch;
    return true;
  }

  /**
   * Write the exemplar whose labels {@link encode} checked just before into entry `entry`, for `bucket`
   * of `seriesId`. The text is written in place, one UTF-16 unit per store: no copy; only the values when
   * the names and value lengths are those of the entry's last commit.
   */
  commit(entry: number, seriesId: number, bucket: number, value: number, timestampMs: number): void {
    const units = this.#units;
    const words = this.#words;
    const base = kHeaderWords + entry * kExemplarEntryWords;
    // Compared before anything is stored: whether the names and lengths in place are this exemplar's.
    const shadow = this.#shadows[entry];
    const same = shadow !== undefined && shadow.units === units && this.#sameShape(shadow);
    // An odd version tells the hub the entry is being written. A plain store: a reader that does not see
    // it yet still refuses a torn copy by its checksum.
    const version = ((words[base + kExVersion] as number) | 1) >>> 0;
    words[base + kExVersion] = version;
    words[base + kExSeries] = seriesId;
    words[base + kExBucket] = bucket;
    words[base + kExUnits] = units;
    const f64 = this.#f64;
    const at = base / 2;
    f64[at + kExValueByte / 8] = value;
    f64[at + kExTimestampByte / 8] = timestampMs;
    const start = base * 2 + kExTextByte / 2;
    const sum = same ? this.#writeValues(start, shadow) : this.#writeAll(entry, start, units);
    words[base + kExChecksum] = checksum(seriesId, bucket, units, words[base + 6] as number, words[base + 7] as number, words[base + 8] as number, words[base + 9] as number, sum);
    // Why Atomics.store: the even version publishes the whole entry (every store above happens before it).
    Atomics.store(words, base + kExVersion, (version + 1) >>> 0);
    this.#changed(words);
    this.#marks[entry] = this.#epoch;
    this.#skipped[entry] = 0;
  }

  /** Whether the labels {@link encode} kept have the names and value lengths of `shadow`, in its order. */
  #sameShape(shadow: EntryShadow): boolean {
    const count = this.#count;
    const { names, lengths } = shadow;
    if (names.length !== count) return false;
    const kept = this.#names;
    const values = this.#values;
    for (let k = 0; k < count; k++) {
      if (kept[k] !== names[k] || (values[k] as string).length !== lengths[k]) return false;
    }
    return true;
  }

  /** Write the value units of the kept labels after the names of `shadow`, already in place; return the text's sum. */
  #writeValues(start: number, shadow: EntryShadow): number {
    const text = this.#text;
    const { names } = shadow;
    const values = this.#values;
    const count = this.#count;
    let p = start;
    let sum = shadow.sum;
    for (let k = 0; k < count; k++) {
      const valueText = values[k] as string;
      p += (names[k] as string).length + 2;
      for (let i = 0; i < valueText.length; i++) {
        const unit = valueText.charCodeAt(i);
        text[p++] = unit;
        sum += unit;
      }
    }
    return sum;
  }

  /** Write the whole text of the kept labels and remember their names for the next commit; return the text's sum. */
  #writeAll(entry: number, start: number, units: number): number {
    const text = this.#text;
    const count = this.#count;
    const names = this.#names.slice(0, count);
    const values = this.#values;
    const lengths: number[] = [];
    let p = start;
    // The checksum adds every unit of text: cheap, and enough to tell a torn entry from a whole one.
    let sum = 0;
    let namesSum = 0;
    for (let k = 0; k < count; k++) {
      const name = names[k] as string;
      const valueText = values[k] as string;
      for (let i = 0; i < name.length; i++) {
        const unit = name.charCodeAt(i);
        text[p++] = unit;
        namesSum += unit;
      }
      const length = valueText.length;
      text[p++] = kEqualsSign;
      text[p++] = length;
      namesSum += kEqualsSign + length;
      for (let i = 0; i < length; i++) {
        const unit = valueText.charCodeAt(i);
        text[p++] = unit;
        sum += unit;
      }
      lengths.push(length);
    }
    while (this.#shadows.length < entry) this.#shadows.push(undefined);
    this.#shadows[entry] = { units, sum: namesSum, names, lengths };
    return sum + namesSum;
  }

  /** Forget the entries of series `seriesId` (on `remove()`): emptied, and free for another series. */
  release(seriesId: number): void {
    const base = seriesId < this.#bases.length ? (this.#bases[seriesId] as number) - 1 : -1;
    if (base < 0) return;
    const count = this.#lengths[seriesId] as number;
    this.#bases[seriesId] = 0;
    const words = this.#words;
    for (let entry = base; entry < base + count; entry++) {
      const at = kHeaderWords + entry * kExemplarEntryWords;
      const version = ((words[at + kExVersion] as number) | 1) >>> 0;
      // As in commit(): an odd version, the change, then the even version published.
      words[at + kExVersion] = version;
      words[at + kExSeries] = kExNoSeries;
      words[at + kExChecksum] = 0;
      // Why Atomics.store: publishes the emptied entry.
      Atomics.store(words, at + kExVersion, (version + 1) >>> 0);
    }
    this.#changed(words);
    // The next series on these entries writes its first exemplar.
    this.#marks.fill(-1, base, base + count);
    const runs = this.#free.get(count);
    if (runs === undefined) this.#free.set(count, [base]);
    else runs.push(base);
  }

  /** Raise the table's changed flag, after an entry was published, unless it is raised already. */
  #changed(words: Uint32Array): void {
    // Why Atomics.load then Atomics.store: the hub lowers the flag with Atomics.exchange before it reads
    // the entries. If this load still sees it raised, the exchange comes later in the total order of
    // these seq-cst operations than the version store above, so the hub's read finds the entry; if it
    // sees it lowered, the store raises it for the next drain. The load is a plain read on x86 and arm64:
    // a burst on a hot entry stores to the flag's line once per drain, not once per exemplar.
    if (Atomics.load(words, kExemplarChangedWord) === 0) Atomics.store(words, kExemplarChangedWord, 1);
  }

  /** A view of the table's grown part, empty while the buffer does not hold its header. */
  #view<T extends Uint32Array | Float64Array | Uint16Array>(kind: { new (length: number): T; new (buffer: SharedArrayBuffer, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number }): T {
    const bytes = Math.min(this.#buffer.byteLength - this.#byte, kExemplarTableMaxBytes);
    return bytes < kExemplarHeaderBytes ? new kind(0) : new kind(this.#buffer, this.#byte, Math.floor(bytes / kind.BYTES_PER_ELEMENT));
  }

  /** Make the per-entry marks cover `entries` entries; new ones were never written (-1). */
  #growMarks(entries: number): void {
    if (this.#marks.length >= entries) return;
    const marks = new Int32Array(entries).fill(-1);
    marks.set(this.#marks);
    this.#marks = marks;
    const skipped = new Int32Array(entries);
    skipped.set(this.#skipped);
    this.#skipped = skipped;
  }

  #allocate(seriesId: number, count: number): number {
    let base = this.#free.get(count)?.pop();
    if (base === undefined) {
      if (this.#used + count > kExemplarMaxEntries) return -1;
      if (this.#used + count > this.#entries && !this.#grow(this.#used + count)) return -1;
      base = this.#used;
      this.#used += count;
    }
    if (seriesId >= this.#bases.length) {
      const length = Math.max(seriesId + 1, this.#bases.length * 2);
      const bases = new Int32Array(length);
      bases.set(this.#bases);
      this.#bases = bases;
      const lengths = new Int32Array(length);
      lengths.set(this.#lengths);
      this.#lengths = lengths;
    }
    this.#bases[seriesId] = base + 1;
    this.#lengths[seriesId] = count;
    return base;
  }

  #grow(needed: number): boolean {
    const entries = Math.min(kExemplarMaxEntries, Math.ceil(needed / kExemplarGrowEntries) * kExemplarGrowEntries);
    const end = this.#byte + kExemplarHeaderBytes + entries * kExemplarEntryBytes;
    try {
      // The overflow behind the table may have grown the buffer past it already.
      if (this.#buffer.byteLength < end) this.#buffer.grow(end);
    } catch {
      return false;
    }
    this.#words = this.#view(Uint32Array);
    this.#f64 = this.#view(Float64Array);
    this.#text = this.#view(Uint16Array);
    // New entries must read as empty (version 0, checksum 0, which never matches): freshly grown memory
    // is, but the overflow may have grown it before, and a previous owner may have left anything there.
    this.#words.fill(0, kHeaderWords + this.#entries * kExemplarEntryWords, kHeaderWords + entries * kExemplarEntryWords);
    this.#entries = entries;
    this.#growMarks(entries);
    // Why Atomics.store: publishes the grown length; the hub reads entries below it only.
    Atomics.store(this.#words, kExemplarEntriesWord, entries);
    return true;
  }
}

/** What an entry's text holds apart from its values: see the writer's shadows. */
interface EntryShadow {
  /** Units of the whole text. */
  readonly units: number;
  /** Sum of the units of the names, signs and lengths. */
  readonly sum: number;
  readonly names: readonly string[];
  readonly lengths: readonly number[];
}

/**
 * Bytes the table at `byteOffset` of `buffer` holds in shared memory: none before its owner's first
 * exemplar, then its header and the entries its owner says it grew, within the table's region and the
 * grown buffer (the owner is not trusted).
 */
export function exemplarTableBytes(buffer: SharedArrayBuffer, byteOffset: number): number {
  const bytes = Math.min(buffer.byteLength - byteOffset, kExemplarTableMaxBytes);
  if (bytes < kExemplarHeaderBytes) return 0;
  // Why Atomics.load: the owner publishes the count; stale at once, and only for accounting.
  const published = Atomics.load(new Uint32Array(buffer, byteOffset, kHeaderWords), kExemplarEntriesWord);
  const entries = Math.min(published, Math.floor((bytes - kExemplarHeaderBytes) / kExemplarEntryBytes));
  return entries === 0 ? 0 : kExemplarHeaderBytes + entries * kExemplarEntryBytes;
}

/** An exemplar as the hub reads it from a table. */
export interface TableExemplar {
  seriesId: number;
  bucket: number;
  value: number;
  timestampMs: number;
  labels: Record<string, string>;
}

/** The hub's side: reads the entries that changed since its last read. */
export class ExemplarTableReader {
  readonly #buffer: SharedArrayBuffer;
  /** Byte offset of the table in {@link #buffer}. */
  readonly #byte: number;
  /** A fixed-length view (faster than a length-tracking one), made again when the owner grew the table. */
  #words: Uint32Array;
  readonly #copy = new Uint32Array(kExemplarEntryWords);
  readonly #copyF64 = new Float64Array(this.#copy.buffer);
  readonly #copyText = new Uint16Array(this.#copy.buffer, kExTextByte, kExTextUnits);
  /** The version of each entry last read whole. */
  #seen = new Uint32Array(0);
  /** An entry was left to read again (torn, or its series not placed yet): read even if the flag is low. */
  #again = false;

  /** Read the table at `byteOffset` of `buffer` (the slot's data buffer). */
  constructor(buffer: SharedArrayBuffer, byteOffset = 0) {
    this.#buffer = buffer;
    this.#byte = byteOffset;
    this.#words = this.#view();
  }

  /** Bytes the table holds in shared memory; see {@link exemplarTableBytes}. */
  get bytes(): number {
    return exemplarTableBytes(this.#buffer, this.#byte);
  }

  /**
   * Call `visit` for every entry written since the last read. A torn entry (one the owner is writing), or
   * one `visit` returns `false` for (it cannot place it yet), is left for the next read.
   */
  read(visit: (exemplar: TableExemplar) => boolean): void {
    let words = this.#words;
    if (words.length === 0) {
      words = this.#words = this.#view();
      if (words.length === 0) return;
    }
    // Why Atomics.exchange: lowers the changed flag before the entries are read, so an exemplar the
    // owner publishes after this raises it again (see the writer's #changed). Not raised: nothing new.
    if (Atomics.exchange(words, kExemplarChangedWord, 0) === 0 && !this.#again) return;
    let whole = true;
    // Why Atomics.load: entries below the published count are grown and zeroed (the growth is visible).
    const published = Atomics.load(words, kExemplarEntriesWord);
    if (kHeaderWords + published * kExemplarEntryWords > words.length) words = this.#words = this.#view();
    const entries = Math.min(published, ((words.length - kHeaderWords) / kExemplarEntryWords) | 0);
    if (this.#seen.length < entries) {
      const seen = new Uint32Array(entries);
      seen.set(this.#seen);
      this.#seen = seen;
    }
    for (let entry = 0; entry < entries; entry++) {
      const base = kHeaderWords + entry * kExemplarEntryWords;
      // Why Atomics.load: the version read first orders the reads of the fields after it.
      const version = Atomics.load(words, base + kExVersion);
      if (version === this.#seen[entry]) continue;
      const exemplar = (version & 1) === 0 ? this.#readEntry(base, version) : undefined;
      if (exemplar === undefined) {
        whole = false;
        continue;
      }
      if (exemplar !== null && !visit(exemplar)) {
        whole = false;
        continue;
      }
      this.#seen[entry] = version;
    }
    // Only when every changed entry was read whole: otherwise the next read looks again.
    this.#again = !whole;
    // Why Atomics.store: tells the owner this read happened, so that its next exemplar of each entry is
    // written (see the writer's due()). After the entries, not before: a busy owner that saw the count
    // move would write the very entries being copied, and many copies would be torn (read again only at
    // the next drain). An exemplar written during the read raised the flag again, so the next read finds
    // it. 31 bits: the owner's "never written" mark, -1, is never a count.
    const header = this.#words;
    Atomics.store(header, kExemplarEpochWord, ((header[kExemplarEpochWord] as number) + 1) & 0x7fffffff);
  }

  /**
   * Forget everything (the slot's owner is gone): the table's header and the entries its owner grew are
   * zeroed for the next owner (only those: the rest of the region may never have been touched).
   */
  clear(): void {
    this.#words = this.#view();
    const words = this.#words;
    if (words.length !== 0) {
      const entries = Math.min(Atomics.load(words, kExemplarEntriesWord), ((words.length - kHeaderWords) / kExemplarEntryWords) | 0);
      words.fill(0, 0, kHeaderWords + entries * kExemplarEntryWords);
    }
    this.#seen.fill(0);
    this.#again = false;
  }

  /** A view of the table's grown part, empty while the buffer does not hold its header. */
  #view(): Uint32Array {
    const bytes = Math.min(this.#buffer.byteLength - this.#byte, kExemplarTableMaxBytes);
    return bytes < kExemplarHeaderBytes ? new Uint32Array(0) : new Uint32Array(this.#buffer, this.#byte, bytes >>> 2);
  }

  /** The entry at `base`, `null` for an emptied one, `undefined` when it was torn. */
  #readEntry(base: number, version: number): TableExemplar | null | undefined {
    const words = this.#words;
    const copy = this.#copy;
    const units = words[base + kExUnits] as number;
    if (units > kExTextUnits) return undefined;
    const end = kTextWord + ((units + 1) >>> 1);
    for (let i = 1; i < end; i++) copy[i] = words[base + i] as number;
    // Why Atomics.load: a version unchanged since the first read means no write overlapped the copy.
    if (Atomics.load(words, base + kExVersion) !== version) return undefined;
    const seriesId = copy[kExSeries] as number;
    if (seriesId === kExNoSeries) return null;
    const text = this.#copyText;
    let sum = 0;
    for (let i = 0; i < units; i++) sum += text[i] as number;
    const hash = checksum(seriesId, copy[kExBucket] as number, units, copy[6] as number, copy[7] as number, copy[8] as number, copy[9] as number, sum);
    if (hash !== copy[kExChecksum]) return undefined;
    const labels = decodeText(text, units);
    if (labels === undefined) return undefined;
    return {
      seriesId,
      bucket: copy[kExBucket] as number,
      value: this.#copyF64[kExValueByte / 8] as number,
      timestampMs: this.#copyF64[kExTimestampByte / 8] as number,
      labels,
    };
  }
}

/** Decode an entry's text: per label its name, "=", the value's length and the value. */
function decodeText(text: Uint16Array, units: number): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  let p = 0;
  while (p < units) {
    const start = p;
    while (p < units && text[p] !== kEqualsSign) p++;
    if (p + 1 >= units || p === start) return undefined;
    const name = String.fromCharCode(...text.subarray(start, p));
    const length = text[p + 1] as number;
    p += 2;
    if (p + length > units) return undefined;
    labels[name] = String.fromCharCode(...text.subarray(p, p + length));
    p += length;
  }
  return labels;
}
