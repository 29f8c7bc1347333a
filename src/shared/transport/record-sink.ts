/**
 * The contract between a slot's reader (ring and overflow) and whoever applies its records.
 * @module
 */
import { kRecordWords } from "./layout.js";
import { kOpDeclareMetric } from "./protocol.js";

/** Receives the records of a drain, in the order they were made. */
export interface RecordSink {
  /** One observation record (op below {@link kOpDeclareMetric}). */
  observation(word0: number, aux: number, value: number): void;
  /**
   * The observation records at word indices `first`, `first + kRecordWords`, ... below `stop` (records side
   * by side in `u32`, the same memory as `f64`), up to the first declaration: each as {@link observation}
   * would take it. A sink with nothing faster to do returns {@link observeRun}`(this, u32, f64, first, stop)`.
   * @returns the word index of that declaration, or `stop`.
   */
  observations(u32: Uint32Array, f64: Float64Array, first: number, stop: number): number;
  /** One complete declaration: its header word and its payload bytes (a copy the sink may keep). */
  declaration(word0: number, payload: Uint8Array): void;
  /**
   * The slot's indices cannot be true (more published than the ring or overflow holds, an index out of
   * range): only a bug or a forged store does that. The reader skipped what the indices claimed.
   */
  corrupt(detail: string): void;
}

/**
 * Hand the observation records at word indices `first`, `first + kRecordWords`, ... below `stop` to
 * `sink.observation()`, up to the first declaration (see {@link RecordSink.observations}).
 * @returns the word index of that declaration, or `stop`.
 */
export function observeRun(sink: RecordSink, u32: Uint32Array, f64: Float64Array, first: number, stop: number): number {
  // Imported constants are read through their module binding (a load and a check each time): read once.
  const step = kRecordWords;
  const firstDeclaration = kOpDeclareMetric;
  let i = first;
  while (i !== stop) {
    const word0 = u32[i] as number;
    if ((word0 & 0xff) >= firstDeclaration) return i;
    sink.observation(word0, u32[i + 1] as number, f64[(i >>> 1) + 1] as number);
    i += step;
  }
  return i;
}
