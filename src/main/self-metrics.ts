/**
 * The hub's own metrics, prefixed `prom_threads_`. They are prom-client metrics whose `collect` reads the
 * hub's totals at scrape time: the drain never calls prom-client per record.
 * @module
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { ConfigurationError, ErrorCodes } from "../shared/errors.js";
import { DROP_REASONS, type Tally } from "./tally.js";

/** What the self-metrics read from the hub. */
export interface SelfMetricsSource {
  readonly tally: Tally;
  /** Drain, so the totals include everything published before the scrape. */
  drain(): void;
  /** Live workers. */
  connectedWorkers(): number;
  /** Live workers the hub cannot follow to their exit, and the bytes of shared memory in use. */
  slotUsage(): { unfollowed: number; sharedMemoryBytes: number };
  /** Highest ring fill seen since the last call, which starts a new window. */
  takeRingFill(): number;
  /** Declaration conflicts so far, by metric name. */
  readonly conflicts: ReadonlyMap<string, number>;
  /** Label sets folded into overflow series so far, by metric name. */
  readonly seriesOverflow: ReadonlyMap<string, number>;
}

/** The hub's self-metrics, registered in the hub's registry. */
export class SelfMetrics {
  readonly #metrics: object[] = [];
  readonly #registry: Registry;
  readonly #drainSeconds: Histogram<string>;

  /** Register the self-metrics; throws when the registry already has them (another hub). */
  constructor(registry: Registry, source: SelfMetricsSource) {
    this.#registry = registry;
    if (registry.getSingleMetric("prom_threads_records_drained_total") !== undefined) {
      throw new ConfigurationError(
        ErrorCodes.INVALID_OPTION,
        "options.registry already has a MetricsHub's self-metrics: use one hub per registry, or pass selfMetrics: false",
      );
    }
    const registers = [registry];
    this.#metrics.push(
      new Counter({
        name: "prom_threads_records_drained_total",
        help: "Observation records drained from worker rings and applied to metrics.",
        registers,
        collect(this: Counter<string>) {
          source.drain();
          this.reset();
          this.inc(source.tally.drained);
        },
      }),
      new Counter({
        name: "prom_threads_records_dropped_total",
        help: "Observation records dropped, by reason (ring_full, worker_exit, no_slot, declaration_conflict, removed_series, malformed).",
        labelNames: ["reason"],
        registers,
        collect(this: Counter<string>) {
          source.drain();
          this.reset();
          for (const reason of DROP_REASONS) this.inc({ reason }, source.tally.dropped[reason]);
        },
      }),
      new Gauge({
        name: "prom_threads_workers_connected",
        help: "Worker threads that own a ring.",
        registers,
        collect(this: Gauge<string>) {
          this.set(source.connectedWorkers());
        },
      }),
      new Gauge({
        name: "prom_threads_workers_unfollowed",
        help: "Connected worker threads whose Worker object the hub cannot see (created before the hub, or inside another worker, and not attached): a terminated one keeps its slot until the hub closes.",
        registers,
        collect(this: Gauge<string>) {
          this.set(source.slotUsage().unfollowed);
        },
      }),
      new Gauge({
        name: "prom_threads_shared_memory_bytes",
        help: "Bytes of shared memory the hub uses: its control buffer and every worker slot's ring and overflow as far as they were grown.",
        registers,
        collect(this: Gauge<string>) {
          this.set(source.slotUsage().sharedMemoryBytes);
        },
      }),
      new Gauge({
        name: "prom_threads_ring_fill_ratio",
        help: "Highest fill of any worker ring (0 to 1) seen by a drain since the previous scrape.",
        registers,
        // Across processes (a ClusterAggregator, prom-client's AggregatorRegistry) the fullest ring counts, not a sum.
        aggregator: "max",
        collect(this: Gauge<string>) {
          this.set(source.takeRingFill());
        },
      }),
      new Counter({
        name: "prom_threads_declaration_conflicts_total",
        help: "Worker declarations that disagreed with the first declaration of the same metric name.",
        labelNames: ["metric"],
        registers,
        collect(this: Counter<string>) {
          this.reset();
          for (const [metric, count] of source.conflicts) this.inc({ metric }, count);
        },
      }),
    );
    this.#metrics.push(
      new Counter({
        name: "prom_threads_series_overflow_total",
        help: 'Label sets folded into a metric\'s overflow series (every label "__overflow__") because the metric reached maxSeries; each refused creation counts, in the hub or in a worker.',
        labelNames: ["metric"],
        registers,
        collect(this: Counter<string>) {
          source.drain();
          this.reset();
          for (const [metric, count] of source.seriesOverflow) this.inc({ metric }, count);
        },
      }),
    );
    this.#drainSeconds = new Histogram({
      name: "prom_threads_drain_duration_seconds",
      help: "Time the main thread spent in one drain of every ring.",
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers,
    });
    this.#metrics.push(this.#drainSeconds);
  }

  /** Record one drain's duration. */
  observeDrain(seconds: number): void {
    this.#drainSeconds.observe(seconds);
  }

  /** Remove the self-metrics from the registry. */
  unregister(): void {
    for (const metric of this.#metrics) {
      const { name } = metric as { name: string };
      if ((this.#registry.getSingleMetric(name) as object | undefined) === metric) this.#registry.removeSingleMetric(name);
    }
  }
}
