/**
 * The one place the OpenTelemetry producer reaches into a hub: it drains the hub, lists the metrics
 * workers declared, and reads their values in a neutral shape. When the hub's parts move, only this file
 * follows them.
 * @module
 */
import type { MetricValue, Registry } from "prom-client";
import type { MetricsHub } from "../main/hub.js";
import type { BridgeMetric } from "../main/bridge/bridge-metric.js";
import type { NativeSnapshot } from "../main/bridge/native-buckets.js";
import { workerMetrics } from "../main/hub/internal.js";

/** Label values by label name, as the hub keeps them. */
export type SourceLabels = Readonly<Record<string, string | number>>;

/** A counter or gauge series. */
interface ScalarPoint {
  readonly labels: SourceLabels;
  readonly value: number;
}

/** A classic histogram series: per-bucket (not cumulative) counts, the last one `+Inf`'s. */
interface BucketsPoint {
  readonly labels: SourceLabels;
  readonly counts: number[];
  readonly sum: number;
  readonly count: number;
}

/** A native histogram series. */
interface NativePoint {
  readonly labels: SourceLabels;
  readonly sum: number;
  readonly count: number;
  readonly native: NativeSnapshot;
}

/** A summary series: what is left of it once its quantiles are set aside. */
interface SummaryPoint {
  readonly labels: SourceLabels;
  readonly sum: number;
  readonly count: number;
}

interface FamilyBase {
  readonly name: string;
  readonly help: string;
  /** When the metric was last reset (`reset()` in a worker, `registry.resetMetrics()`), in ms since the epoch. */
  readonly resetAtMs: number | undefined;
}

/** One metric's values, by kind. */
export type SourceFamily =
  | (FamilyBase & { readonly kind: "counter" | "gauge"; readonly points: ScalarPoint[] })
  | (FamilyBase & { readonly kind: "histogram"; readonly bounds: readonly number[]; readonly points: BucketsPoint[] })
  | (FamilyBase & { readonly kind: "native"; readonly points: NativePoint[] })
  | (FamilyBase & { readonly kind: "summary"; readonly points: SummaryPoint[] });

/** What the producer needs of a hub. */
export interface HubSource {
  /** Drain every ring, as a scrape does; rejects once the hub is closed. */
  drain(): Promise<void>;
  /** The values of every metric workers declared, as of the last drain. */
  families(): Promise<SourceFamily[]>;
}

/** The current time in ms since the epoch, below the millisecond. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Remember the time of every reset of `target`: its own `reset` is wrapped once (the hub and
 * `registry.resetMetrics()` both call it). Created timestamps on the hub's series, once they exist,
 * make this unnecessary.
 */
const resetTimes = new WeakMap<object, { atMs: number | undefined }>();
function resetTimeOf(target: { reset(): unknown }): { atMs: number | undefined } {
  let state = resetTimes.get(target);
  if (state === undefined) {
    const created: { atMs: number | undefined } = { atMs: undefined };
    const original = target.reset;
    target.reset = function reset(this: unknown, ...args: unknown[]): unknown {
      created.atMs = nowMs();
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
    resetTimes.set(target, created);
    state = created;
  }
  return state;
}

/** The prefix of the metrics prom-threads makes itself. */
const OWN_PREFIX = "prom_threads_";

/** A {@link HubSource} over a {@link MetricsHub}. */
export function hubSource(hub: MetricsHub): HubSource {
  return {
    drain: () => hub.collect(),
    families: async () => {
      const families: SourceFamily[] = [];
      for (const metric of workerMetrics(hub)) {
        // prom-threads' own metrics (pool, per-thread, OpenTelemetry drops) are recorded partly in workers and
        // partly in the main thread: they stay with the main thread's metrics, whole.
        if (metric.name.startsWith(OWN_PREFIX)) continue;
        const family = await familyOf(metric, hub.registry);
        if (family !== undefined) families.push(family);
      }
      return families;
    },
  };
}

type Sample = MetricValue<string> & { metricName?: string; native?: NativeSnapshot };

async function familyOf(metric: BridgeMetric, registry: Registry): Promise<SourceFamily | undefined> {
  const base = { name: metric.name, help: metric.help };
  switch (metric.type) {
    case "counter":
    case "gauge": {
      const resetAtMs = resetTimeOf(metric).atMs;
      const points = (metric.peek() as Sample[]).map((s) => ({ labels: s.labels as SourceLabels, value: s.value }));
      return { ...base, resetAtMs, kind: metric.type, points };
    }
    case "histogram": {
      const resetAtMs = resetTimeOf(metric).atMs;
      const bounds = metric.declaration.buckets ?? [];
      const native = metric.declaration.nativeHistogramBucketFactor !== undefined;
      const samples = metric.peek() as Sample[];
      // The bridge lists each series as its cumulative buckets (`+Inf` last), `_sum`, then `_count`.
      const stride = bounds.length + 3;
      const buckets: BucketsPoint[] = [];
      const natives: NativePoint[] = [];
      for (let at = 0; at + stride <= samples.length; at += stride) {
        const sum = samples[at + stride - 2] as Sample;
        const count = samples[at + stride - 1] as Sample;
        const labels = count.labels as SourceLabels;
        if (native && count.native !== undefined) {
          natives.push({ labels, sum: sum.value, count: count.value, native: count.native });
          continue;
        }
        const counts: number[] = [];
        let previous = 0;
        for (let i = 0; i <= bounds.length; i++) {
          const cumulative = (samples[at + i] as Sample).value;
          counts.push(cumulative - previous);
          previous = cumulative;
        }
        buckets.push({ labels, counts, sum: sum.value, count: count.value });
      }
      return native ? { ...base, resetAtMs, kind: "native", points: natives } : { ...base, resetAtMs, kind: "histogram", bounds, points: buckets };
    }
    case "summary": {
      // The hub feeds a prom-client Summary registered under the metric's name: its values are there.
      const summary = registry.getSingleMetric(metric.name);
      if (summary === undefined) return undefined;
      const resetAtMs = resetTimeOf(summary as unknown as { reset(): unknown }).atMs;
      const samples = (await summary.get()).values as Sample[];
      const sums = new Map<string, { labels: SourceLabels; sum: number; count: number }>();
      for (const sample of samples) {
        if (sample.metricName !== `${metric.name}_sum` && sample.metricName !== `${metric.name}_count`) continue;
        const labels = sample.labels as SourceLabels;
        const key = JSON.stringify(metric.labelNames.map((n) => labels[n]));
        let point = sums.get(key);
        if (point === undefined) {
          point = { labels, sum: 0, count: 0 };
          sums.set(key, point);
        }
        if (sample.metricName === `${metric.name}_sum`) point.sum = sample.value;
        else point.count = sample.value;
      }
      return { ...base, resetAtMs, kind: "summary", points: [...sums.values()] };
    }
  }
}
