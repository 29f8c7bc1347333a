/**
 * The latest-exemplar table of one worker slot: fixed-size entries in shared memory, one per exemplar
 * slot (a counter series, a histogram bucket), written by the slot's owner with a seqlock-style version
 * word and read by the hub when it drains the slot. An exemplar overwrites the previous one of its slot in
 * place, so the hub always finds the latest, and a busy metric cannot take another's entries. Offsets are
 * in layout.ts.
 *
 * Writing: the owner stores an odd version, writes the entry with plain stores, stores the next even
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
export const ENCODED = 0;
/** The labels need more than an entry's text holds: send the exemplar through the ring. */
export const TOO_LONG = 1;
/** A label name, a value or the total length is not valid: validate it to throw the precise error. */
export const INVALID = 2;

/** OpenMetrics: the label names and values of an exemplar together hold at most 128 characters. */
const kMaxChars = 128;

/** Label names seen valid, so a name is checked once per thread, not per exemplar. */
const validNames = new Set<string>();
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function isValidName(name: string): boolean {
  if (validNames.has(name)) return true;
  if (!LABEL_NAME.test(name)) return false;
  // Bounded: names past the first 1024 are checked each time.
  if (validNames.size < 1024) validNames.add(name);
  return true;
}

/** Hash one word into a running checksum. */
function mix(hash: number, word: number): number {
  return Math.imul(hash ^ word, 0x9e3779b1) >>> 0;
}

/**
 * The owner's side: allocates entries per series, encodes an exemplar once into a private scratch entry
 * and copies it into its shared entry.
 */
export class ExemplarTableWriter {
  readonly #buffer: SharedArrayBuffer;
  readonly #words: Uint32Array;
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
  // The scratch entry: an exemplar is encoded here first, so a call that fails leaves the shared entry whole.
  readonly #scratch = new Uint32Array(kExemplarEntryWords);
  readonly #scratchText = new Uint16Array(this.#scratch.buffer, kExTextByte, kExTextUnits);
  readonly #scratchF64 = new Float64Array(this.#scratch.buffer);
  #units = 0;

  /** Take over `buffer`, a table the hub handed over empty (grown or not) with the slot. */
  constructor(buffer: SharedArrayBuffer) {
    this.#buffer = buffer;
    // Length-tracking: the view follows the buffer as this thread grows it.
    this.#words = new Uint32Array(buffer);
    // Why Atomics.load: the hub cleared the table before handing the slot over; nothing else writes it now.
    this.#entries = Atomics.load(this.#words, kExemplarEntriesWord);
  }

  /**
   * Encode `labels` into the scratch entry. Returns {@link ENCODED}, {@link TOO_LONG} or {@link INVALID};
   * nothing shared is touched.
   */
  encode(labels: Record<string, unknown>): number {
    const text = this.#scratchText;
    let p = 0;
    let chars = 0;
    for (const name in labels) {
      const raw = labels[name];
      let value: string;
      if (typeof raw === "string") value = raw;
      else if (typeof raw === "number") value = String(raw);
      else return INVALID;
      if (!isValidName(name)) return INVALID;
      const nameUnits = name.length;
      const valueUnits = value.length;
      if (p + nameUnits + 2 + valueUnits > kExTextUnits) return TOO_LONG;
      for (let i = 0; i < nameUnits; i++) text[p++] = name.charCodeAt(i);
      text[p++] = kEqualsSign;
      text[p++] = valueUnits;
      let previous = 0;
      for (let i = 0; i < valueUnits; i++) {
        const unit = value.charCodeAt(i);
        text[p++] = unit;
        // A high surrogate followed by a low one is one character.
        if ((unit & 0xfc00) === 0xdc00 && (previous & 0xfc00) === 0xd800) chars--;
        previous = unit;
      }
      chars += nameUnits + valueUnits;
    }
    if (chars > kMaxChars) return INVALID;
    this.#units = p;
    return ENCODED;
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

  /** Write the encoded exemplar into entry `entry`, for `bucket` of `seriesId`. */
  commit(entry: number, seriesId: number, bucket: number, value: number, timestampMs: number): void {
    const scratch = this.#scratch;
    const units = this.#units;
    scratch[kExSeries] = seriesId;
    scratch[kExBucket] = bucket;
    scratch[kExUnits] = units;
    this.#scratchF64[kExValueByte / 8] = value;
    this.#scratchF64[kExTimestampByte / 8] = timestampMs;
    const end = kTextWord + ((units + 1) >>> 1);
    const words = this.#words;
    const base = kHeaderWords + entry * kExemplarEntryWords;
    const version = (words[base + kExVersion] as number) + 1;
    // Why Atomics.store: the odd version tells the hub the entry is being written, before any field changes.
    Atomics.store(words, base + kExVersion, version);
    let hash = mix(mix(mix(0, seriesId), bucket), units);
    words[base + kExSeries] = seriesId;
    words[base + kExBucket] = bucket;
    words[base + kExUnits] = units;
    for (let i = kExValueByte / 4; i < end; i++) {
      const word = scratch[i] as number;
      words[base + i] = word;
      hash = mix(hash, word);
    }
    words[base + kExChecksum] = hash;
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
    let runs = this.#free.get(count);
    if (runs === undefined) this.#free.set(count, (runs = []));
    runs.push(base);
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
  readonly #words: Uint32Array;
  readonly #copy = new Uint32Array(kExemplarEntryWords);
  readonly #copyF64 = new Float64Array(this.#copy.buffer);
  readonly #copyText = new Uint16Array(this.#copy.buffer, kExTextByte, kExTextUnits);
  /** The version of each entry last read whole. */
  #seen = new Uint32Array(0);
  #generation = 0;

  /** Read the table in `buffer`. */
  constructor(buffer: SharedArrayBuffer) {
    this.#words = new Uint32Array(buffer);
  }

  /** Bytes the table holds in shared memory. */
  get bytes(): number {
    return this.#words.byteLength;
  }

  /**
   * Call `visit` for every entry written since the last read (a torn entry, one the owner is writing, is
   * left for the next read).
   */
  read(visit: (exemplar: TableExemplar) => void): void {
    const words = this.#words;
    // Why Atomics.load: the generation is stored after every entry write; unchanged means nothing to read.
    const generation = Atomics.load(words, kExemplarGenerationWord);
    if (generation === this.#generation) return;
    let whole = true;
    // Why Atomics.load: entries below the published count are grown and zeroed.
    const entries = Math.min(Atomics.load(words, kExemplarEntriesWord), ((words.length - kHeaderWords) / kExemplarEntryWords) | 0);
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
      this.#seen[entry] = version;
      if (exemplar !== null) visit(exemplar);
    }
    // Only when every changed entry was read whole: otherwise the next read looks again.
    if (whole) this.#generation = generation;
  }

  /** Forget everything (the slot's owner is gone): the table is zeroed for the next owner. */
  clear(): void {
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
    let hash = mix(mix(mix(0, seriesId), copy[kExBucket] as number), units);
    for (let i = kExValueByte / 4; i < end; i++) hash = mix(hash, copy[i] as number);
    if (hash !== copy[kExChecksum]) return version === 0 ? null : undefined;
    const labels = decodeText(this.#copyText, units);
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
