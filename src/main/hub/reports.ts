/**
 * The hub's reports: every problem the hub handled, worded once, keyed for the {@link Reporter}'s bounds.
 * @module
 */
import type { EventEmitter } from "node:events";
import { ConfigurationError, ConnectionError, ErrorCodes, ProtocolError } from "../../shared/api/errors.js";
import { SLOT_CLAIMING, SLOT_EXITED, SLOT_FREE } from "../../shared/transport/layout.js";
import { Reporter } from "../reporter.js";

/**
 * Report the hub's problems through its `error` event (or as warnings), bounded per code.
 *
 * @example
 * const reports = new HubReports(hub);
 * reports.malformed("a record for undeclared series 7", 1);
 */
export class HubReports {
  readonly #reporter: Reporter;

  /** Report through `emitter` (the hub). */
  constructor(emitter: EventEmitter) {
    this.#reporter = new Reporter(emitter);
  }

  /** `count` records or declarations a worker sent that made no sense, the first described by `detail`. */
  malformed(detail: string, count: number): void {
    const what = count === 1 ? detail : `${count} records or declarations that made no sense, the first ${detail}`;
    this.#reporter.report(new ProtocolError(ErrorCodes.MALFORMED_RECORD, `prom-threads: a worker ring held ${what}; dropped`), "malformed");
  }

  /** A worker's slot stopped being read after `count` malformed records. */
  quarantined(threadId: number, count: number): void {
    this.#reporter.report(
      new ProtocolError(
        ErrorCodes.SLOT_QUARANTINED,
        `prom-threads: worker thread ${threadId} sent ${count} malformed records; its slot is quarantined: everything it publishes from now on is dropped and counted as malformed, until it exits`,
      ),
      `quarantined:${threadId}`,
    );
  }

  /**
   * Slot `index` is quarantined: its entry in the slot table is impossible, or reading it threw (`why`).
   * Once per occurrence.
   */
  slotQuarantined(index: number, why: string): void {
    this.#reporter.report(
      new ProtocolError(
        ErrorCodes.SLOT_QUARANTINED,
        `prom-threads: slot ${index} is quarantined: ${why}. The hub does not read it until it is free again; what a worker writes there is lost. Something wrote into the hub's shared memory that prom-threads never writes (a native addon, a stray typed-array store, code handed hub.handle)`,
      ),
      `slot-quarantined:${index}`,
    );
  }

  /** Slot `index`'s state word was set to `state` while the hub reads its owner `threadId`, who is alive. */
  strayStore(index: number, threadId: number, state: number): void {
    const name = state === SLOT_FREE ? "FREE" : state === SLOT_EXITED ? "EXITED" : state === SLOT_CLAIMING ? "CLAIMING (a claim after a stray FREE)" : String(state);
    this.#reporter.report(
      new ProtocolError(
        ErrorCodes.MALFORMED_RECORD,
        `prom-threads: slot ${index}'s state word was set to ${name} while its owner, worker thread ${threadId}, is alive; the store is ignored and the hub goes on reading the owner (only the owner's exit frees its slot)`,
      ),
      `stray-store:${index}:${threadId}`,
    );
  }

  /** Workers found every one of the hub's `slotCount` slots taken. */
  noFreeSlot(slotCount: number): void {
    this.#reporter.report(
      new ConnectionError(
        ErrorCodes.NO_FREE_SLOT,
        `prom-threads: every one of the hub's ${slotCount} worker slots is taken; records of workers without a slot are dropped. Raise options.maxWorkers, or attach() your pools so exited workers free their slots`,
      ),
      "no_slot",
    );
  }

  /** A connected worker whose Worker object the hub cannot follow. */
  unfollowed(threadId: number): void {
    this.#reporter.report(
      new ConfigurationError(
        ErrorCodes.WORKER_UNFOLLOWED,
        `prom-threads: worker thread ${threadId} connected to the hub, but the hub cannot see its Worker object (it was created before the hub, or inside another worker). Its records are counted; but if it is terminated, its slot and gauge values stay until the hub closes. Call hub.attach(worker) in the thread that created it, or create the hub first`,
      ),
      "worker-unfollowed",
    );
  }

  /** A new metric refused because the hub holds `maxMetrics`. */
  metricLimit(maxMetrics: number, name: string): void {
    this.#reporter.report(
      new ConfigurationError(
        ErrorCodes.METRIC_LIMIT,
        `prom-threads: the hub holds its limit of ${maxMetrics} worker metrics (maxMetrics); metric "${name}" and further new ones are refused, their records dropped as declaration_conflict. Raise maxMetrics, or stop making metric names from data`,
      ),
      "metric-limit",
    );
  }

  /** Metric `name` reached `maxSeries`; further label sets fold into the series `{overflowLabels}`. */
  seriesLimit(name: string, overflowLabels: string): void {
    this.#reporter.report(
      new ConfigurationError(
        ErrorCodes.SERIES_LIMIT,
        `prom-threads: metric "${name}" reached its limit of label sets (maxSeries); further label sets are folded into the series {${overflowLabels}} and counted in prom_threads_series_overflow_total{metric="${name}"}. Remove the unbounded label, or raise maxSeries`,
      ),
      `series-limit:${name}`,
    );
  }

  /** A declaration that conflicts with an earlier one of its name, described by `message`. */
  conflict(message: string): void {
    this.#reporter.report(new ProtocolError(ErrorCodes.DECLARATION_CONFLICT, `prom-threads: ${message}`), `conflict:${message}`);
  }

  /** A pool whose workerData does not carry this hub's handle. */
  poolWorkerData(label: string): void {
    this.#reporter.report(
      new ConfigurationError(
        ErrorCodes.INVALID_OPTION,
        `prom-threads: the workerData of pool "${label}" does not carry this hub's hub.workerData, so its workers cannot record task wait and run times or thread metrics; create the pool with workerData: { ...hub.workerData }`,
      ),
      `pool-worker-data:${label}`,
    );
  }
}
