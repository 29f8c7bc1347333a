/**
 * Body buffers that go back for the next scrape once every write of them is done.
 *
 * A large scrape's body lives from its render to the last write of its response: long enough that the
 * collector moves it to the old generation, where V8 counts its memory against the old generation's limit
 * until a full collection frees it. A new body each scrape (66 MB of text, or 4.8 MB compressed, at
 * 100,000 histogram series) made a full collection of the main thread's heap every scrape or two; a
 * buffer written again by the next scrape makes none.
 * @module
 */

/**
 * A body's buffer, lent to the writes of one scrape's response: every client that shares the response
 * (see single-flight.ts) holds it while its write goes on. When the last one is done, the buffer goes back
 * one turn of the event loop later (by then every client that shared the response has begun its write:
 * they all receive it in the same turn), and a later scrape writes over it. A body that nobody held is
 * never given back: whoever has it may still read it. A writer that cannot tell when the bytes have left
 * (an HTTP/2 stream) pins the lease: its buffer never goes back.
 */
export class BodyLease {
  #holds = 0;
  #pinned = false;
  #returned = false;
  readonly #giveBack: () => void;

  /** `giveBack` hands the buffer to the next scrape; it is called at most once. */
  constructor(giveBack: () => void) {
    this.#giveBack = giveBack;
  }

  /** A write of the body begins. */
  hold(): void {
    this.#holds++;
  }

  /** The body is written by something that cannot say when it is done with it: never give it back. */
  pin(): void {
    this.#pinned = true;
  }

  /** A write that {@link hold}s the body is done (written, or its connection closed). */
  drop(): void {
    if (--this.#holds > 0) return;
    setImmediate(() => {
      if (this.#holds > 0 || this.#returned || this.#pinned) return;
      this.#returned = true;
      this.#giveBack();
    });
  }
}

/**
 * One spare buffer for bodies of one kind: the largest returned and not taken since. A body of about
 * `bytes` takes it when it has a sixteenth more room than that; otherwise a new buffer with an eighth more
 * is made. The margin is in the new buffer, not in the request, so a body that grows by a few bytes a
 * scrape (its counts gain digits) keeps its buffer.
 */
export class SpareBuffer {
  #spare: Buffer | undefined;

  /** A buffer for a body of about `bytes`, at least `minimum` long. */
  take(bytes: number, minimum: number): Buffer {
    const wanted = Math.max(minimum, bytes);
    const spare = this.#spare;
    if (spare !== undefined && spare.length >= wanted + (wanted >>> 4)) {
      this.#spare = undefined;
      return spare;
    }
    return Buffer.allocUnsafe(wanted + (wanted >>> 3));
  }

  /** `buffer` is read by nobody any more: a later body may be written into it. */
  give(buffer: Buffer): void {
    if (this.#spare === undefined || buffer.length > this.#spare.length) this.#spare = buffer;
  }
}
