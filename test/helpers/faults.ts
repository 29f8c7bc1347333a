/** Helpers for fault tests: shared flags, sequence sums, counter-monotonicity tracking. */
import { samples } from "./exposition.js";

/** Resolve when `flags[index]` is no longer 0, without blocking this thread (the hub keeps draining). */
export async function flagRaised(flags: Int32Array, index: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Atomics.load(flags, index) === 0) {
    if (Date.now() > deadline) throw new Error(`flag ${index} not raised within ${timeoutMs} ms`);
    const wait = Atomics.waitAsync(flags, index, 0, 50);
    if (wait.async) await wait.value;
  }
}

/** 1 + 2 + ... + k. */
export function triangular(k: number): number {
  return (k * (k + 1)) / 2;
}

/** The k with triangular(k) === sum, or -1 when `sum` is not the sum of a prefix of 1, 2, 3, ... */
export function prefixLength(sum: number): number {
  const k = Math.round((Math.sqrt(8 * sum + 1) - 1) / 2);
  return triangular(k) === sum ? k : -1;
}

/**
 * Watches every counter-like sample (counters, histogram buckets, `_count`, and `_sum` unless observations
 * may be negative) across renders and counts decreases. Gauges and summary quantiles are ignored.
 */
export class MonotonicityWatch {
  readonly #last = new Map<string, number>();
  readonly #monotonic = new Set<string>();
  readonly #sums: boolean;
  decreases: string[] = [];
  renders = 0;

  /** `sums: false` when observations may be negative (a histogram's `_sum` may then go down). */
  constructor({ sums = true }: { sums?: boolean } = {}) {
    this.#sums = sums;
  }

  /** Feed one text-format render. */
  observe(text: string): Map<string, number> {
    this.renders++;
    for (const line of text.split("\n")) {
      const match = /^# TYPE (\S+) (counter|histogram|summary)$/.exec(line);
      if (match) this.#monotonic.add(match[1] as string);
    }
    const all = samples(text);
    for (const [key, value] of all) {
      const name = key.replace(/\{.*$/, "");
      const family = name.replace(/_(bucket|count|sum|total)$/, "");
      if (!this.#monotonic.has(name) && !this.#monotonic.has(family)) continue;
      if (key.includes("quantile=")) continue;
      if (!this.#sums && name !== family && name.endsWith("_sum")) continue;
      const last = this.#last.get(key);
      if (last !== undefined && value < last) this.decreases.push(`${key}: ${last} -> ${value}`);
      this.#last.set(key, value);
    }
    return all;
  }
}

/** What the hub shows for one sequence writer. */
export interface SequenceView {
  /** Counter increments that arrived (the counter's total is T(k)); -1 when the total is not a T(k). */
  counted: number;
  /** Histogram observations that arrived. */
  observed: number;
  /** Histogram sum, which must be T(observed). */
  sum: number;
  /** Whether the histogram's buckets are cumulative and end at the count. */
  bucketsConsistent: boolean;
}

/** Read one sequence writer's series from a parsed render. */
export function sequenceView(all: Map<string, number>, label: string): SequenceView {
  const total = all.get(`seq_total{w="${label}"}`) ?? 0;
  const observed = all.get(`seq_values_count{w="${label}"}`) ?? 0;
  const buckets = ["10", "1000", "100000", "+Inf"].map((le) => all.get(`seq_values_bucket{le="${le}",w="${label}"}`) ?? 0);
  const cumulative = buckets.every((b, i) => i === 0 || b >= (buckets[i - 1] as number));
  return {
    counted: prefixLength(total),
    observed,
    sum: all.get(`seq_values_sum{w="${label}"}`) ?? 0,
    bucketsConsistent: cumulative && buckets[3] === observed,
  };
}
