/**
 * A minimal protobuf writer: varints, zigzag varints, doubles, strings and nested (length-delimited)
 * messages, into one growing buffer. Enough for io.prometheus.client.MetricFamily and nothing more; see
 * docs/native-histograms.md for why prom-threads encodes by hand instead of depending on a protobuf
 * library.
 * @module
 */

const kWireVarint = 0;
const kWireFixed64 = 1;
const kWireLength = 2;
/** Bytes reserved for a nested message's length: a varint of up to 2^35 - 1. */
const kLengthReserve = 5;

const utf8 = new TextEncoder();

/**
 * Write protobuf fields. Nested messages are opened with {@link fork} and closed with {@link join},
 * which writes their length in front of them.
 *
 * @example
 * const w = new ProtoWriter();
 * w.fork(); w.string(1, "up"); w.join(); // one length-delimited message
 * const bytes = w.finish();
 */
export class ProtoWriter {
  #buf = new Uint8Array(4096);
  #view = new DataView(this.#buf.buffer);
  #pos = 0;
  readonly #starts: number[] = [];

  #ensure(bytes: number): void {
    if (this.#pos + bytes <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + bytes) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Write a varint of a non-negative integer up to 2^53 (no tag). */
  #rawVarint(value: number): void {
    this.#ensure(10);
    let v = value;
    // Below 2^31 the bit operations are exact; above, divide.
    while (v > 0x7f) {
      this.#buf[this.#pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.#buf[this.#pos++] = v;
  }

  #tag(field: number, wire: number): void {
    this.#rawVarint(field * 8 + wire);
  }

  /** Write an unsigned integer field (uint32, uint64, enum); negative or fractional values are clamped down to integers. */
  uint(field: number, value: number): void {
    this.#tag(field, kWireVarint);
    this.#rawVarint(value > 0 ? Math.floor(value) : 0);
  }

  /** Write a signed integer field with zigzag encoding (sint32, sint64). */
  sint(field: number, value: number): void {
    this.#tag(field, kWireVarint);
    this.#rawVarint(zigzag(value));
  }

  /** Write a double field. */
  double(field: number, value: number): void {
    this.#tag(field, kWireFixed64);
    this.#ensure(8);
    this.#view.setFloat64(this.#pos, value, true);
    this.#pos += 8;
  }

  /** Write a string field as UTF-8. */
  string(field: number, value: string): void {
    this.#tag(field, kWireLength);
    // At most 3 bytes per UTF-16 unit; the length is known only after encoding.
    this.#ensure(kLengthReserve + value.length * 3);
    const start = this.#pos + kLengthReserve;
    const { written } = utf8.encodeInto(value, this.#buf.subarray(start));
    this.#placeLength(this.#pos, written);
  }

  /** Write a packed repeated sint64 field (zigzag varints in one length-delimited block). */
  packedSint(field: number, values: readonly number[]): void {
    if (values.length === 0) return;
    this.fork(field);
    for (const value of values) this.#rawVarint(zigzag(value));
    this.join();
  }

  /** Write a bare varint (no tag): the length in front of a delimited message assembled from parts. */
  varint(value: number): void {
    this.#rawVarint(value);
  }

  /** Open a nested message in field `field`, or, without a field, a bare length-delimited message. */
  fork(field?: number): void {
    if (field !== undefined) this.#tag(field, kWireLength);
    this.#ensure(kLengthReserve);
    this.#starts.push(this.#pos);
    this.#pos += kLengthReserve;
  }

  /** Close the innermost open message, writing its length in front of it. */
  join(): void {
    const start = this.#starts.pop();
    if (start === undefined) throw new Error("ProtoWriter.join() without fork()");
    this.#placeLength(start, this.#pos - start - kLengthReserve);
  }

  /** Write `length` as a varint at `at`, moving the `length` bytes reserved after it into place. */
  #placeLength(at: number, length: number): void {
    let size = 1;
    for (let v = length; v > 0x7f; v = Math.floor(v / 128)) size++;
    const body = at + kLengthReserve;
    if (size !== kLengthReserve) this.#buf.copyWithin(at + size, body, body + length);
    let v = length;
    let p = at;
    while (v > 0x7f) {
      this.#buf[p++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.#buf[p] = v;
    this.#pos = at + size + length;
  }

  /** The bytes written so far. */
  finish(): Uint8Array {
    if (this.#starts.length !== 0) throw new Error("ProtoWriter.finish() with an open message");
    return this.#buf.subarray(0, this.#pos);
  }
}

/** Zigzag-encode a signed integer (exact up to ±2^52). */
function zigzag(value: number): number {
  const n = Math.trunc(value);
  return n >= 0 ? n * 2 : -n * 2 - 1;
}
