/**
 * Every size and cardinality limit, with its default. docs/guarantees.md lists them for users.
 * @module
 */
import { kRecordBytes } from "./layout.js";

/**
 * Largest declaration a ring of `ringCapacity` records takes, in bytes: a quarter of the ring, so a
 * declaration can always move in whole while records keep flowing around it. A label set whose encoded
 * values are larger throws at the call that creates it.
 */
export function maxDeclarationBytes(ringCapacity: number): number {
  return (ringCapacity * kRecordBytes) / 4;
}
