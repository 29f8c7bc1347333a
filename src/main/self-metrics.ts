/**
 * The hub's own metrics, prefixed `prom_threads_`. Each is a small registry citizen that renders the hub's
 * totals straight into prom-client's exposition at scrape time: no prom-client Counter or Gauge to reset
 * and refill per scrape, no label hashing, label objects made once. The drain never calls into them per
 * record. In a registry in text mode, their lines are written here too ({@link SelfMetrics.promString}),
 * in prom-client's format, once checked against prom-client's own rendering of the same samples: a small
 * scrape then pays for the self-metrics about what it pays for a few more lines, not for nine families
 * through prom-client's general formatter.
 * @module
 */
import type { MetricValue, Registry } from "prom-client";
import { ConfigurationError, ErrorCodes } from "../shared/api/errors.js";
import type { MetricSnapshot } from "./bridge/bridge-metric.js";
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

type Aggregator = MetricSnapshot["aggregator"];
/** One sample of a self-metric. */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}
const kNoLabels: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** A self-metric: its samples are computed from the hub at each `get()`. */
class SelfMetric {
  /** Metric name (prom-client may rename counters in place when a registry renders OpenMetrics). */
  name: string;
  readonly help: string;
  readonly type: "counter" | "gauge" | "histogram";
  readonly aggregator: Aggregator;
  readonly #samples: () => Sample[];
  readonly #reset: () => void;
  /** The `# HELP` and `# TYPE` lines of {@link promText}, and the name they were made for. */
  #head = "";
  #headName: string | undefined;

  constructor(name: string, help: string, type: SelfMetric["type"], samples: () => Sample[], options: { aggregator?: Aggregator; reset?: () => void } = {}) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.aggregator = options.aggregator ?? "sum";
    this.#samples = samples;
    this.#reset = options.reset ?? (() => {});
  }

  /**
   * The samples in prom-client's `get()` shape. Their labels stay in `labels` (not `sharedLabels`), so a
   * registry's default labels come after them, exactly as after a prom-client metric's labels.
   */
  get(): MetricSnapshot {
    return { name: this.name, help: this.help, type: this.type, values: this.#samples() as MetricValue<string>[], aggregator: this.aggregator };
  }

  /** `registry.resetMetrics()`: totals mirrored from the hub are not this metric's to zero. */
  reset(): void {
    this.#reset();
  }

  /**
   * Whether {@link promText} writes what prom-client's `getMetricsAsString()` of the registry writes:
   * `undefined` until checked (per default-labels object), then `true` or `false` for good.
   */
  textChecked: { defaults: object | undefined; same: boolean } | undefined;

  /**
   * The family as prom-client's `getMetricsAsString()` writes it in a registry in text mode: `# HELP`,
   * `# TYPE`, then a line per sample with its labels, then the registry's default labels that it does not
   * have itself, and the value as prom-client formats it.
   */
  promText(snapshot: MetricSnapshot, defaults: Record<string, unknown> | undefined): string {
    const name = escapeText(this.name);
    // Made again only if prom-client renamed the metric (it strips `_total` from counters in OpenMetrics mode).
    if (this.#headName !== this.name) {
      this.#headName = this.name;
      this.#head = `# HELP ${name} ${escapeText(this.help)}\n# TYPE ${name} ${this.type}`;
    }
    let out = this.#head;
    for (const sample of snapshot.values as unknown as Sample[]) {
      const labels = defaults === undefined ? labelText(sample.labels) : labelTextWith(sample.labels, defaults);
      out += `\n${sample.metricName ?? name}${labels} ${valueText(sample.value)}`;
    }
    return out;
  }
}

/** prom-client's escaping of a name, a help text and (with `"`) a label value. */
function escapeText(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function escapeLabel(value: unknown): unknown {
  return typeof value === "string" ? escapeText(value).replace(/"/g, '\\"') : value;
}

/** prom-client's number format: `Nan`, `+Inf`, `-Inf`, else JavaScript's. */
function valueText(value: number): string {
  if (Number.isNaN(value)) return "Nan";
  if (!Number.isFinite(value)) return value < 0 ? "-Inf" : "+Inf";
  return `${value}`;
}

/** The label text of a self-metric's labels object: each object is made once, so its text is made once. */
const labelTexts = new WeakMap<object, string>();
function labelText(labels: Record<string, unknown>): string {
  let text = labelTexts.get(labels);
  if (text === undefined) {
    text = labelTextWith(labels, undefined);
    labelTexts.set(labels, text);
  }
  return text;
}

/** `{name="value",...}` of `labels` then of the `defaults` it does not have (prom-client's order), or "". */
function labelTextWith(labels: Record<string, unknown>, defaults: Record<string, unknown> | undefined): string {
  let text = "";
  for (const name in labels) text += `${text === "" ? "" : ","}${name}="${escapeLabel(labels[name])}"`;
  if (defaults !== undefined) {
    for (const name in defaults) if (!Object.hasOwn(labels, name)) text += `${text === "" ? "" : ","}${name}="${escapeLabel(defaults[name])}"`;
  }
  return text === "" ? "" : `{${text}}`;
}

/** One labels object per key, kept for the life of the hub, so each is formatted once. */
class LabelCache<K> {
  readonly #objects = new Map<K, Record<string, string>>();
  readonly #make: (key: K) => Record<string, string>;

  constructor(make: (key: K) => Record<string, string>) {
    this.#make = make;
  }

  of(key: K): Record<string, string> {
    let labels = this.#objects.get(key);
    if (labels === undefined) {
      labels = Object.freeze(this.#make(key)) as Record<string, string>;
      this.#objects.set(key, labels);
    }
    return labels;
  }
}

const kDrainBuckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

/** The hub's self-metrics, registered in the hub's registry. */
export class SelfMetrics {
  readonly #metrics: SelfMetric[] = [];
  readonly #registry: Registry;
  /** Drain durations: counts per bucket (`+Inf` last), their sum. */
  readonly #drainCounts = new Float64Array(kDrainBuckets.length + 1);
  #drainSum = 0;

  /** Register the self-metrics; throws when the registry already has them (another hub). */
  constructor(registry: Registry, source: SelfMetricsSource) {
    this.#registry = registry;
    if (registry.getSingleMetric("prom_threads_records_drained_total") !== undefined) {
      throw new ConfigurationError(
        ErrorCodes.INVALID_OPTION,
        "options.registry already has a MetricsHub's self-metrics: use one hub per registry, or pass selfMetrics: false",
      );
    }
    const reasons = new LabelCache<string>((reason) => ({ reason }));
    const metrics = new LabelCache<string>((metric) => ({ metric }));
    const les = [...kDrainBuckets, "+Inf" as const].map((le) => Object.freeze({ le }) as unknown as Record<string, string>);
    const byMetric = (counts: ReadonlyMap<string, number>): Sample[] => Array.from(counts, ([metric, value]) => ({ labels: metrics.of(metric), value }));
    // Two gauges read the slot usage; a scrape asks both in one synchronous turn: compute it once per turn.
    let usage: { unfollowed: number; sharedMemoryBytes: number } | undefined;
    const slotUsage = (): { unfollowed: number; sharedMemoryBytes: number } => {
      if (usage === undefined) {
        usage = source.slotUsage();
        queueMicrotask(() => (usage = undefined));
      }
      return usage;
    };
    const one = (value: number): Sample[] => [{ labels: kNoLabels, value }];
    this.#metrics.push(
      new SelfMetric("prom_threads_records_drained_total", "Observation records drained from worker rings and applied to metrics.", "counter", () => {
        source.drain();
        return one(source.tally.drained);
      }),
      new SelfMetric(
        "prom_threads_records_dropped_total",
        "Observation records dropped, by reason (ring_full, worker_exit, no_slot, declaration_conflict, removed_series, malformed).",
        "counter",
        () => {
          source.drain();
          return DROP_REASONS.map((reason) => ({ labels: reasons.of(reason), value: source.tally.dropped[reason] }));
        },
      ),
      new SelfMetric("prom_threads_workers_connected", "Worker threads that own a ring.", "gauge", () => one(source.connectedWorkers())),
      new SelfMetric(
        "prom_threads_workers_unfollowed",
        "Connected worker threads whose Worker object the hub cannot see (created before the hub, or inside another worker, and not attached): a terminated one keeps its slot until the hub closes.",
        "gauge",
        () => one(slotUsage().unfollowed),
      ),
      new SelfMetric(
        "prom_threads_shared_memory_bytes",
        "Bytes of shared memory the hub uses: its control buffer and every worker slot's ring and overflow as far as they were grown.",
        "gauge",
        () => one(slotUsage().sharedMemoryBytes),
      ),
      // Across processes (a ClusterAggregator, prom-client's AggregatorRegistry) the fullest ring counts, not a sum.
      new SelfMetric("prom_threads_ring_fill_ratio", "Highest fill of any worker ring (0 to 1) seen by a drain since the previous scrape.", "gauge", () => one(source.takeRingFill()), {
        aggregator: "max",
      }),
      new SelfMetric(
        "prom_threads_declaration_conflicts_total",
        "Worker declarations that disagreed with the first declaration of the same metric name.",
        "counter",
        () => byMetric(source.conflicts),
      ),
      new SelfMetric(
        "prom_threads_series_overflow_total",
        'Label sets folded into a metric\'s overflow series (every label "__overflow__") because the metric reached maxSeries; each refused creation counts, in the hub or in a worker.',
        "counter",
        () => {
          source.drain();
          return byMetric(source.seriesOverflow);
        },
      ),
      new SelfMetric(
        "prom_threads_drain_duration_seconds",
        "Time the main thread spent in one drain of every ring.",
        "histogram",
        () => {
          const samples: Sample[] = [];
          let cumulative = 0;
          for (let i = 0; i < les.length; i++) {
            cumulative += this.#drainCounts[i] as number;
            samples.push({ labels: les[i] as Record<string, string>, value: cumulative, metricName: "prom_threads_drain_duration_seconds_bucket" });
          }
          samples.push({ labels: kNoLabels, value: this.#drainSum, metricName: "prom_threads_drain_duration_seconds_sum" });
          samples.push({ labels: kNoLabels, value: cumulative, metricName: "prom_threads_drain_duration_seconds_count" });
          return samples;
        },
        {
          // A histogram of this process's own drains: resetMetrics() empties it, as it would a prom-client one.
          reset: () => {
            this.#drainCounts.fill(0);
            this.#drainSum = 0;
          },
        },
      ),
    );
    for (const metric of this.#metrics) registry.registerMetric(metric as never);
  }

  /**
   * `registry.getMetricsAsString(metric)` for a self-metric in a registry in text mode, written here:
   * `undefined` for any other metric or mode (prom-client writes it). `original` is the registry's own
   * method: the first time, for each default-labels object of the registry, both write the same samples
   * and the result is kept only if they agree; if they do not (another prom-client version), prom-client
   * writes that metric from then on.
   */
  promString(registry: Registry, metric: unknown, original: (metric: unknown) => Promise<string>): Promise<string> | undefined {
    if (!(metric instanceof SelfMetric) || !this.#metrics.includes(metric)) return undefined;
    const { contentType, _defaultLabels: defaultLabels } = registry as unknown as { contentType?: unknown; _defaultLabels?: Record<string, unknown> };
    if (typeof contentType !== "string" || !contentType.startsWith("text/plain")) return undefined;
    const checked = metric.textChecked;
    if (checked !== undefined && checked.defaults === defaultLabels && !checked.same) return undefined;
    const snapshot = metric.get();
    let defaults: Record<string, unknown> | undefined;
    if (defaultLabels !== undefined) for (const _ in defaultLabels) {
      defaults = defaultLabels;
      break;
    }
    const text = metric.promText(snapshot, defaults);
    if (checked !== undefined && checked.defaults === defaultLabels) return Promise.resolve(text);
    // prom-client writes the very same samples (a metric of its shape that returns them), and decides.
    return original({ get: () => snapshot }).then((theirs) => {
      metric.textChecked = { defaults: defaultLabels, same: theirs === text };
      return theirs;
    });
  }

  /** Record one drain's duration. */
  observeDrain(seconds: number): void {
    let bucket = 0;
    while (bucket < kDrainBuckets.length && seconds > (kDrainBuckets[bucket] as number)) bucket++;
    this.#drainCounts[bucket] = (this.#drainCounts[bucket] as number) + 1;
    this.#drainSum += seconds;
  }

  /** Remove the self-metrics from the registry. */
  unregister(): void {
    for (const metric of this.#metrics) {
      if ((this.#registry.getSingleMetric(metric.name) as object | undefined) === metric) this.#registry.removeSingleMetric(metric.name);
    }
  }
}
