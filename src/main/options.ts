/**
 * The hub's options: their defaults and their validation.
 * @module
 */
import type { Registry } from "prom-client";
import { client } from "./client.js";
import { ConfigurationError, ErrorCodes } from "../shared/api/errors.js";
import { kExemplarTableMaxBytes, kMaxLocalId, kMaxRingCapacity, kMaxSlotBufferBytes, kMaxSlots, kMinRingCapacity, kRecordBytes, overflowDataByte } from "../shared/transport/layout.js";
import { kDefaultMaxSeries, maxDeclarationBytes } from "../shared/model/limits.js";
import { declarationRecords } from "../shared/transport/protocol.js";
import { booleanOption, integerOption, invalid, optionsObject } from "./validate-options.js";

/** Slots of a hub by default: plenty, since a slot costs memory only once a worker claims it. */
const kDefaultMaxWorkers = 1024;

/** Options of `new MetricsHub()`. */
export interface MetricsHubOptions {
  /**
   * The prom-client registry that receives the aggregated metrics and the hub's self-metrics.
   * @default prom-client's default `register`
   */
  registry?: Registry;
  /**
   * Worker threads that can be connected at once. A worker that finds no free slot has its records
   * counted as dropped (`reason="no_slot"`). Slots of exited workers are reused. A slot costs shared
   * memory only once a worker claims it (its ring, and its overflow as far as it is used).
   * @default 1024
   */
  maxWorkers?: number;
  /**
   * Bytes of each worker's ring (a power of two; 16 bytes per record), from 16 KiB to 256 MiB.
   * @default 1048576 (65,536 records)
   */
  ringBytes?: number;
  /**
   * Observation records a worker's overflow holds while its ring is full, before the worker waits for the
   * hub (and, after `overflowWaitMs` without progress, drops, counted `reason="ring_full"`). The overflow
   * is shared memory behind the ring, grown only as it is used: at most 16 bytes × (this number + a
   * quarter of the ring's records) per slot, kept for the slot's next owner. It also bounds the backlog a
   * scrape must read before it renders (ring and overflow of every worker): a larger overflow rides out
   * longer main-thread stalls without waiting, and makes scrapes under overload longer.
   * @default 65536
   */
  overflowRecords?: number;
  /**
   * The old name of {@link MetricsHubOptions.overflowRecords}, accepted until the next minor version.
   * @deprecated Use `overflowRecords`.
   */
  spillRecords?: number;
  /**
   * Milliseconds a worker whose ring and overflow are both full waits for the hub to make room before it
   * drops. The wait lasts as long as the hub keeps draining (the worker sleeps, leaving the core to the
   * main thread: backpressure when threads outnumber cores); only a hub that makes no progress at all for
   * this long (a blocked main thread) makes the worker drop, counted, without waiting until the hub moves
   * again. 0: never wait, drop at once.
   * @default 500
   */
  overflowWaitMs?: number;
  /**
   * Milliseconds between background drains. Scrapes drain too, and a worker whose ring is half full wakes
   * the hub at once.
   * @default 100
   */
  drainIntervalMs?: number;
  /**
   * Register the `prom_threads_*` self-metrics.
   * @default true
   */
  selfMetrics?: boolean;
  /**
   * Most label sets a worker metric may have across all workers, unless the metric sets its own
   * `maxSeries`. Label sets past it fold into one overflow series (every label value `"__overflow__"`),
   * counted in `prom_threads_series_overflow_total{metric}` and reported once per metric on `error`
   * (`ERR_PROM_THREADS_SERIES_LIMIT`). Workers also bound their own label-set caches by it.
   * @default 2000
   */
  maxSeries?: number;
  /**
   * Most metrics (names) workers may declare in this hub. A declaration of a new name past it is refused:
   * its records are dropped as `declaration_conflict`, reported once (`ERR_PROM_THREADS_METRIC_LIMIT`).
   * Bounds the hub's memory against metric names made from data.
   * @default 10000
   */
  maxMetrics?: number;
  /**
   * Where ring indices start (an unsigned 32-bit number). Only for testing index wrap-around.
   * @default 0
   */
  ringStartIndex?: number;
}

/** Options with every default applied. */
export interface ResolvedHubOptions {
  registry: Registry;
  maxWorkers: number;
  ringCapacity: number;
  overflowRecords: number;
  /** Records of each slot's overflow: `overflowRecords` plus room for the largest declaration. */
  overflowCapacity: number;
  drainIntervalMs: number;
  selfMetrics: boolean;
  maxSeries: number;
  maxMetrics: number;
  overflowWaitMs: number;
  ringStartIndex: number;
}

let warnedSpillRecords = false;

/** The key that sets the overflow's size: `overflowRecords`, or its deprecated alias `spillRecords` (warned once). */
function overflowRecordsKey(raw: Record<string, unknown>): "overflowRecords" | "spillRecords" {
  if (raw.spillRecords === undefined) return "overflowRecords";
  if (raw.overflowRecords !== undefined) {
    throw new ConfigurationError(ErrorCodes.INVALID_OPTION, "options.spillRecords is the deprecated name of options.overflowRecords: give one of them, not both");
  }
  if (!warnedSpillRecords) {
    warnedSpillRecords = true;
    process.emitWarning("options.spillRecords is deprecated: use options.overflowRecords (same meaning)", { type: "DeprecationWarning", code: "PROM_THREADS_DEP_SPILL_RECORDS" });
  }
  return "spillRecords";
}

/** Apply defaults and validate; throws a ConfigurationError that names the option. */
export function resolveHubOptions(options: MetricsHubOptions | undefined): ResolvedHubOptions {
  const raw = optionsObject(options);
  const registry = raw.registry ?? client.register;
  if (registry === null || typeof registry !== "object" || typeof (registry as Registry).registerMetric !== "function") {
    invalid("registry", "a prom-client Registry");
  }
  const ringBytes = integerOption(raw, "ringBytes", 1 << 20, kMinRingCapacity * kRecordBytes, kMaxRingCapacity * kRecordBytes);
  if ((ringBytes & (ringBytes - 1)) !== 0) invalid("ringBytes", "a power of two", ringBytes);
  const ringCapacity = ringBytes / kRecordBytes;
  const overflowKey = overflowRecordsKey(raw);
  const overflowRecords = integerOption(raw, overflowKey, 1 << 16, 0, 1 << 28);
  // Room for the largest declaration on top of the observations: a declaration is never dropped.
  const overflowCapacity = overflowRecords + declarationRecords(maxDeclarationBytes(ringCapacity));
  // A slot buffer holds the ring, the latest-exemplar table's region and the overflow (layout.ts).
  const slotBytes = overflowDataByte(ringCapacity) + overflowCapacity * kRecordBytes;
  if (slotBytes > kMaxSlotBufferBytes) {
    throw new ConfigurationError(
      ErrorCodes.INVALID_OPTION,
      `options.ringBytes and options.${overflowKey} together need ${slotBytes} bytes per worker slot (with the exemplar table's ${kExemplarTableMaxBytes}); a slot buffer holds at most ${kMaxSlotBufferBytes}`,
    );
  }
  const selfMetrics = booleanOption(raw, "selfMetrics", true);
  return {
    registry: registry as Registry,
    maxWorkers: integerOption(raw, "maxWorkers", kDefaultMaxWorkers, 1, kMaxSlots),
    ringCapacity,
    overflowRecords,
    overflowCapacity,
    drainIntervalMs: integerOption(raw, "drainIntervalMs", 100, 1, 3_600_000),
    selfMetrics,
    maxSeries: integerOption(raw, "maxSeries", kDefaultMaxSeries, 1, kMaxLocalId),
    maxMetrics: integerOption(raw, "maxMetrics", 10_000, 1, 1_000_000),
    overflowWaitMs: integerOption(raw, "overflowWaitMs", 500, 0, 60_000),
    ringStartIndex: integerOption(raw, "ringStartIndex", 0, 0, 0xffffffff),
  };
}
