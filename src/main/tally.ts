/**
 * The hub's running totals: records applied to metrics and records dropped, by reason.
 * @module
 */

/** Why a record was dropped. Each reason is a value of the `reason` label of `prom_threads_records_dropped_total`. */
export const DROP_REASONS = [
  /**
   * The worker's ring and overflow were both full and the hub made no room within `overflowWaitMs`
   * (or the writer was told not to wait).
   */
  "ring_full",
  /**
   * The worker recorded in a `process.on('exit')` listener that ran after prom-threads had given its slot
   * back.
   */
  "worker_exit",
  /** The worker found no free slot in the hub. */
  "no_slot",
  /** The record's metric conflicted with an earlier declaration of its name. */
  "declaration_conflict",
  /** The record was made on a child after `remove()` forgot its label set. */
  "removed_series",
  /** The record did not make sense (unknown series, wrong operation for its metric, bad bucket). */
  "malformed",
] as const;

/** Why a record was dropped. */
export type DropReason = (typeof DROP_REASONS)[number];

/** Running totals kept by the hub; plain numbers, updated by the drain. */
export class Tally {
  /** Observation records applied to a metric. */
  drained = 0;
  /** Observation records dropped, by reason. */
  readonly dropped: Record<DropReason, number> = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;

  /** Total dropped over every reason. */
  get droppedTotal(): number {
    let total = 0;
    for (const reason of DROP_REASONS) total += this.dropped[reason];
    return total;
  }
}
