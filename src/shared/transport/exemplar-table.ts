/**
 * The latest-exemplar table of one worker slot: fixed-size entries in shared memory, one per exemplar
 * slot (a counter series, a histogram bucket), written by the slot's owner with a seqlock-style version
 * word and read by the hub when it drains the slot. An exemplar overwrites the previous one of its slot in
 * place, so the hub always finds the latest, and a busy metric cannot take another's entries. Offsets are
 * in layout.ts.
 *
 * Writing: the owner checks the labels first (so a call that throws changes nothing), stores an odd
 * version, writes the entry with plain stores (the text one UTF-16 unit per store), stores the next even
 * version, then a new generation. Reading: the hub skips the table while the generation is unchanged;
 * otherwise, per entry whose version changed, it reads the version, copies the entry, reads the version
 * again and checks the checksum: a version that changed, an odd one or a wrong checksum means the owner
 * was writing, and the entry is read again at the next drain.
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
  kExemplarEntriesWord,
  kExemplarEntryBytes,
  kExemplarEntryWords,
  kExemplarGenerationWord,
  kExemplarGrowEntries,
  kExemplarHeaderBytes,
  kExemplarMaxEntries,
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
  /**
   * A fixed-length view, made again after each growth: V8 optimizes stores to it, where a length-tracking
   * view of a growable buffer costs several times more per store.
   */
  #words: Uint32Array;
  /** Entries grown and zeroed, as published in the header. */
  #entries: number;
  /** Entries handed out (the rest up to {@link #entries} is free). */
  #used = 0;
  #generation = 0;
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

  /** Take over `buffer`, a table the hub handed over empty (grown or not) with the slot. */
  constructor(buffer: SharedArrayBuffer) {
    this.#buffer = buffer;
    this.#words = new Uint32Array(buffer, 0, buffer.byteLength / 4);
    this.#f64 = new Float64Array(buffer, 0, buffer.byteLength / 8);
    this.#text = new Uint16Array(buffer, 0, buffer.byteLength / 2);
    // Why Atomics.load: the hub cleared the table before handing the slot over; nothing else writes it now.
    this.#entries = Atomics.load(this.#words, kExemplarEntriesWord);
  }

  /**
   * Check `labels` and measure the text they take in an entry. Returns {@link kEncoded} (they fit),
   * {@link kTooLong} or {@link kInvalid}; nothing shared is touched. {@link commit} writes them.
   */
  encode(labels: Record<string, unknown>): number {
    let units = 0;
    for (const name in labels) {
      const raw = labels[name];
      if (typeof raw === "string") units += raw.length;
      else if (typeof raw === "number") units += String(raw).length;
      else return kInvalid;
      if (!isValidName(name)) return kInvalid;
      units += name.length + 2;
    }
    // Each character is at least one unit: a label set of more than 128 never fits, and the ring path
    // checks it exactly (counting code points).
    if (units > kExTextUnits) return kTooLong;
    this.#units = units;
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
   * Write an exemplar with `labels` (checked by {@link encode} just before) into entry `entry`, for
   * `bucket` of `seriesId`. The text is written in place, one UTF-16 unit per store: no copy.
   */
  commit(entry: number, seriesId: number, bucket: number, value: number, timestampMs: number, labels: Record<string, unknown>): void {
    const units = this.#units;
    const words = this.#words;
    const base = kHeaderWords + entry * kExemplarEntryWords;
    const version = (words[base + kExVersion] as number) + 1;
    // Why Atomics.store: the odd version tells the hub the entry is being written, before any field changes.
    Atomics.store(words, base + kExVersion, version);
    words[base + kExSeries] = seriesId;
    words[base + kExBucket] = bucket;
    words[base + kExUnits] = units;
    const f64 = this.#f64;
    const at = base / 2;
    f64[at + kExValueByte / 8] = value;
    f64[at + kExTimestampByte / 8] = timestampMs;
    const text = this.#text;
    let p = base * 2 + kExTextByte / 2;
    // The checksum adds every unit of text: cheap, and enough to tell a torn entry from a whole one.
    let sum = 0;
    for (const name in labels) {
      const raw = labels[name];
      const valueText = typeof raw === "string" ? raw : String(raw);
      for (let i = 0; i < name.length; i++) {
        const unit = name.charCodeAt(i);
        text[p++] = unit;
        sum += unit;
      }
      const length = valueText.length;
      text[p++] = kEqualsSign;
      text[p++] = length;
      sum += kEqualsSign + length;
      for (let i = 0; i < length; i++) {
        const unit = valueText.charCodeAt(i);
        text[p++] = unit;
        sum += unit;
      }
    }
    words[base + kExChecksum] = checksum(seriesId, bucket, units, words[base + 6] as number, words[base + 7] as number, words[base + 8] as number, words[base + 9] as number, sum);
    // Why Atomics.store: the even version publishes the whole entry (the fields above happen before it).
    Atomics.store(words, base + kExVersion, version + 1);
    // Why Atomics.store: a new generation tells the hub that some entry changed since its last read.
    Atomics.store(words, kExemplarGenerationWord, ++this.#generation);
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
      const version = (words[at + kExVersion] as number) + 1;
      // Why the stores: as in commit(), an odd then an even version around the change.
      Atomics.store(words, at + kExVersion, version);
      words[at + kExSeries] = kExNoSeries;
      words[at + kExChecksum] = 0;
      Atomics.store(words, at + kExVersion, version + 1);
    }
    Atomics.store(words, kExemplarGenerationWord, ++this.#generation);
    const runs = this.#free.get(count);
    if (runs === undefined) this.#free.set(count, [base]);
    else runs.push(base);
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
    const bytes = kExemplarHeaderBytes + entries * kExemplarEntryBytes;
    try {
      if (this.#buffer.byteLength < bytes) this.#buffer.grow(bytes);
    } catch {
      return false;
    }
    // New entries are zero: version 0, series 0, checksum 0 does not match, so the hub skips them.
    this.#entries = entries;
    this.#words = new Uint32Array(this.#buffer, 0, this.#buffer.byteLength / 4);
    this.#f64 = new Float64Array(this.#buffer, 0, this.#buffer.byteLength / 8);
    this.#text = new Uint16Array(this.#buffer, 0, this.#buffer.byteLength / 2);
    // Why Atomics.store: publishes the grown length; the hub reads entries below it only.
    Atomics.store(this.#words, kExemplarEntriesWord, entries);
    return true;
  }
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
  /** A fixed-length view (faster than a length-tracking one), made again when the owner grew the table. */
  #words: Uint32Array;
  readonly #copy = new Uint32Array(kExemplarEntryWords);
  readonly #copyF64 = new Float64Array(this.#copy.buffer);
  readonly #copyText = new Uint16Array(this.#copy.buffer, kExTextByte, kExTextUnits);
  /** The version of each entry last read whole. */
  #seen = new Uint32Array(0);
  #generation = 0;

  /** Read the table in `buffer`. */
  constructor(buffer: SharedArrayBuffer) {
    this.#buffer = buffer;
    this.#words = new Uint32Array(buffer, 0, buffer.byteLength / 4);
  }

  /** Bytes the table holds in shared memory. */
  get bytes(): number {
    return this.#buffer.byteLength;
  }

  /**
   * Call `visit` for every entry written since the last read. A torn entry (one the owner is writing), or
   * one `visit` returns `false` for (it cannot place it yet), is left for the next read.
   */
  read(visit: (exemplar: TableExemplar) => boolean): void {
    let words = this.#words;
    // Why Atomics.load: the generation is stored after every entry write; unchanged means nothing to read.
    const generation = Atomics.load(words, kExemplarGenerationWord);
    if (generation === this.#generation) return;
    let whole = true;
    // Why Atomics.load: entries below the published count are grown and zeroed (the growth is visible).
    const published = Atomics.load(words, kExemplarEntriesWord);
    if (kHeaderWords + published * kExemplarEntryWords > words.length) {
      words = this.#words = new Uint32Array(this.#buffer, 0, this.#buffer.byteLength / 4);
    }
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
    if (whole) this.#generation = generation;
  }

  /** Forget everything (the slot's owner is gone): the table is zeroed for the next owner. */
  clear(): void {
    this.#words = new Uint32Array(this.#buffer, 0, this.#buffer.byteLength / 4);
    this.#words.fill(0);
    this.#seen.fill(0);
    this.#generation = 0;
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
