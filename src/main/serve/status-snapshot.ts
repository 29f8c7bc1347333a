/**
 * The `/status` document: the hub's counters, each slot's ring fill, the attached pools and the
 * per-thread figures, read without draining the hub or rendering the registry, so polling it costs less
 * than a scrape. Worker-recorded figures are as of the hub's last drain (at most `drainIntervalMs` old).
 * @module
 */
import type { MetricValue } from "prom-client";
import type { HubStats, MetricsHub } from "../hub.js";
import type { PoolStatus } from "../pool-metrics.js";
import { BridgeMetric } from "../bridge/bridge-metric.js";
import { scrapeAccess, statusSources } from "../hub/internal.js";
import { kTaskRunMetric, kTaskWaitMetric } from "../../shared/transport/pool-task.js";

/** Cumulative bucket counts of one histogram series: `counts[i]` observations were at most `le[i]`. */
export interface BucketCounts {
  /** Upper bounds, in seconds, ending with `Infinity` (sent as `null` in JSON). */
  le: (number | null)[];
  /** Cumulative counts, one per bound. */
  counts: number[];
  /** Sum of the observed values. */
  sum: number;
}

/** One attached pool in the status document. */
export interface PoolStatusDocument extends PoolStatus {
  /** Task wait time buckets (queue to start), or null before the first wrapped task. */
  wait: BucketCounts | null;
  /** Task run time buckets, or null before the first wrapped task. */
  run: BucketCounts | null;
}

/** One worker thread's runtime figures, from the pool task wrapper's per-thread metrics. */
export interface ThreadStatus {
  /** The `pool` label. */
  pool: string;
  /** The worker's threadId, as its `thread` label. */
  thread: string;
  /** Event loop utilization, 0 to 1, or null when not sampled yet. */
  eventLoopUtilization: number | null;
  /** V8 heap used, in bytes, or null when not sampled yet. */
  heapUsedBytes: number | null;
}

/** The `/status` document. */
export interface StatusDocument {
  /** The metrics endpoint's path. */
  metricsPath: string;
  /** When the document was read, in milliseconds since the epoch. */
  time: number;
  /** The hub's state, or null when the server has no hub. */
  hub: (HubStats & { closed: boolean }) | null;
  /**
   * Worker slots from the first up to the last one in use (at least 16, or all when fewer): whether a
   * worker owns it, the owner's threadId, its ring's fill (0 to 1). `hub.maxWorkers` is the full count.
   */
  slots: { inUse: boolean; threadId: number | null; fill: number }[];
  /** The pools attached to the hub. */
  pools: PoolStatusDocument[];
  /** Per-thread figures of the attached pools' workers. */
  threads: ThreadStatus[];
}

const kEluMetric = "prom_threads_thread_event_loop_utilization";
const kHeapMetric = "prom_threads_thread_heap_used_bytes";

/** Slots the page shows at least (or all, when the hub has fewer). */
const kMinSlotsShown = 16;

/** Build the status document for a hub (or none). Never drains. */
export function statusDocument(hub: MetricsHub | undefined, metricsPath: string): StatusDocument {
  const time = Date.now();
  if (hub === undefined) return { metricsPath, time, hub: null, slots: [], pools: [], threads: [] };
  // A hub may have a thousand slots; the page needs those up to the last one in use (at least 16).
  const { slots: all, pools } = statusSources(hub, kMinSlotsShown);
  let shown = Math.min(all.length, kMinSlotsShown);
  for (let index = all.length - 1; index >= shown; index--) {
    if (all[index]?.inUse === true) {
      shown = index + 1;
      break;
    }
  }
  const slots = all.slice(0, shown);
  const wait = bucketsByPool(peek(hub, kTaskWaitMetric));
  const run = bucketsByPool(peek(hub, kTaskRunMetric));
  return {
    metricsPath,
    time,
    hub: { ...hub.stats(), closed: hub.closed },
    slots,
    pools: pools.map((pool) => ({ ...pool, wait: wait.get(pool.name) ?? null, run: run.get(pool.name) ?? null })),
    threads: threads(peek(hub, kEluMetric), peek(hub, kHeapMetric)),
  };
}

/**
 * The current values of a worker-declared metric, without the drain its `get()` does, or the one the
 * hub's lookup does when it finds nothing (a hub without pools or thread metrics).
 */
function peek(hub: MetricsHub, name: string): MetricValue<string>[] {
  const metric = scrapeAccess(hub).quietly(() => hub.registry.getSingleMetric(name)) as unknown;
  return metric instanceof BridgeMetric ? metric.peek() : [];
}

function bucketsByPool(values: MetricValue<string>[]): Map<string, BucketCounts> {
  const byPool = new Map<string, BucketCounts>();
  for (const { labels, value, metricName } of values as (MetricValue<string> & { metricName?: string })[]) {
    const pool = String(labels.pool);
    let entry = byPool.get(pool);
    if (entry === undefined) {
      entry = { le: [], counts: [], sum: 0 };
      byPool.set(pool, entry);
    }
    if (metricName?.endsWith("_bucket") === true) {
      entry.le.push(labels.le === "+Inf" ? null : Number(labels.le));
      entry.counts.push(value);
    } else if (metricName?.endsWith("_sum") === true) {
      entry.sum = value;
    }
  }
  return byPool;
}

function threads(elu: MetricValue<string>[], heap: MetricValue<string>[]): ThreadStatus[] {
  const byKey = new Map<string, ThreadStatus>();
  const entry = (labels: MetricValue<string>["labels"]): ThreadStatus => {
    const pool = String(labels.pool);
    const thread = String(labels.thread);
    const key = JSON.stringify([pool, thread]);
    let found = byKey.get(key);
    if (found === undefined) {
      found = { pool, thread, eventLoopUtilization: null, heapUsedBytes: null };
      byKey.set(key, found);
    }
    return found;
  };
  for (const { labels, value } of elu) entry(labels).eventLoopUtilization = value;
  for (const { labels, value } of heap) entry(labels).heapUsedBytes = value;
  return [...byKey.values()].sort((a, b) => a.pool.localeCompare(b.pool) || Number(a.thread) - Number(b.thread));
}
