/**
 * Worker-local series ids, reused after `remove()`: a thread that creates and removes label sets forever
 * keeps working, and the hub's table of this thread's ids stays as large as its live label sets.
 *
 * Reuse is safe because of ring order: `remove()` writes its REMOVE record before the id goes back to the
 * free list, so the hub always reads the release before the id's next declaration. A child kept after
 * `remove()` is pointed at {@link kRemovedSeriesId}, never at a reused id.
 * @module
 */
import { ConfigurationError, ErrorCodes } from "../shared/api/errors.js";
import { kRemovedSeriesId } from "../shared/transport/protocol.js";
import { runtime } from "./runtime.js";

/** This thread's released series ids, reused last in, first out. */
interface SeriesIds {
  readonly free: number[];
}

/** The key of this thread's ids on `globalThis`, shared by every copy of this module, as the runtime is. */
const kSeriesIds = Symbol.for("prom-threads.worker.seriesIds");

const shared = globalThis as { [kSeriesIds]?: SeriesIds };
if (shared[kSeriesIds] === undefined) shared[kSeriesIds] = { free: [] };
const ids: SeriesIds = shared[kSeriesIds];

/** Take a series id for a new label set of `metric`: a released one when there is one. */
export function takeSeriesId(metric: string): number {
  const reused = ids.free.pop();
  if (reused !== undefined) return reused;
  const id = runtime.nextSeriesId(metric);
  if (id === kRemovedSeriesId) {
    throw new ConfigurationError(
      ErrorCodes.SERIES_LIMIT,
      `Metric "${metric}": this thread holds ${kRemovedSeriesId} label sets, the most one thread can; remove() label sets it no longer uses`,
    );
  }
  return id;
}

/** Give back the id of a removed label set; call only after its REMOVE record is written. */
export function releaseSeriesId(id: number): void {
  ids.free.push(id);
}
