/**
 * The contract between a slot's reader (ring and overflow) and whoever applies its records.
 * @module
 */
import type { kOpDeclareMetric } from "./protocol.js";

/** Receives the records of a drain, in the order they were made. */
export interface RecordSink {
  /** One observation record (op below {@link kOpDeclareMetric}). */
  observation(word0: number, aux: number, value: number): void;
  /** One complete declaration: its header word and its payload bytes (a copy the sink may keep). */
  declaration(word0: number, payload: Uint8Array): void;
  /**
   * The slot's indices cannot be true (more published than the ring or overflow holds, an index out of
   * range): only a bug or a forged store does that. The reader skipped what the indices claimed.
   */
  corrupt(detail: string): void;
}
