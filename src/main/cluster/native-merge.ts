/**
 * Native histogram arithmetic of the cluster aggregator: cumulative native buckets as processes push
 * them, the increase between two pushes of one process, and the exact sum of parts kept at different
 * schemas and zero thresholds. Everything happens on counts, so every step is exact: two parts are added
 * at the coarser of their schemas (a bucket of schema s-1 is the sum of two of schema s, see
 * `coarserIndex`), and at the wider of their zero thresholds, where a populated bucket that reaches into
 * the zero bucket moves into it and the threshold grows to that bucket's upper bound (as Prometheus
 * reconciles zero buckets when it adds native histograms).
 * @module
 */
import { rebucket, type NativeCounts } from "../bridge/native-buckets.js";
import { nativeBucketBound } from "../../shared/model/native-histogram.js";

/** Native buckets with plain counts: the schema, the zero bucket and both sides by signed index. */

/** An empty part at `schema` and `zeroThreshold`. */
export function emptyNative(schema: number, zeroThreshold: number): NativeCounts {
  return { schema, zeroThreshold, zeroCount: 0, positive: new Map(), negative: new Map() };
}

/** A copy of `native` that can be changed without changing it. */
export function copyNative(native: NativeCounts): NativeCounts {
  return { ...native, positive: new Map(native.positive), negative: new Map(native.negative) };
}

/** Bring `native` to the coarser `schema` (at most its own), in place. */
function reduceSchema(native: NativeCounts, schema: number): void {
  if (schema >= native.schema) return;
  native.positive = rebucket(native.positive, native.schema, schema);
  native.negative = rebucket(native.negative, native.schema, schema);
  native.schema = schema;
}

/**
 * Widen the zero bucket of `native` to at least `threshold`, in place: every populated bucket whose lower
 * bound is below the threshold moves into the zero bucket, and when such a bucket reaches past the
 * threshold, the threshold becomes its upper bound. Returns the threshold reached.
 */
function widenZero(native: NativeCounts, threshold: number): number {
  if (threshold <= native.zeroThreshold) return native.zeroThreshold;
  let target = threshold;
  for (let changed = true; changed; ) {
    changed = false;
    for (const side of [native.positive, native.negative]) {
      for (const index of [...side.keys()].sort((a, b) => a - b)) {
        if (nativeBucketBound(index - 1, native.schema) >= target) break;
        native.zeroCount += side.get(index) as number;
        side.delete(index);
        const upper = nativeBucketBound(index, native.schema);
        if (upper > target) {
          target = upper;
          changed = true;
        }
      }
    }
  }
  native.zeroThreshold = target;
  return target;
}

/** Bring `a` and `b` to one schema (the coarser) and one zero threshold (the wider), in place. */
function reconcile(a: NativeCounts, b: NativeCounts): void {
  const schema = Math.min(a.schema, b.schema);
  reduceSchema(a, schema);
  reduceSchema(b, schema);
  while (a.zeroThreshold !== b.zeroThreshold) {
    if (a.zeroThreshold < b.zeroThreshold) widenZero(a, b.zeroThreshold);
    else widenZero(b, a.zeroThreshold);
  }
}

/** Add the counts of `part` to `total`, exactly, at the coarser schema and the wider zero threshold. */
export function addNative(total: NativeCounts, part: NativeCounts): void {
  const other = copyNative(part);
  reconcile(total, other);
  total.zeroCount += other.zeroCount;
  for (const [index, count] of other.positive) total.positive.set(index, (total.positive.get(index) ?? 0) + count);
  for (const [index, count] of other.negative) total.negative.set(index, (total.negative.get(index) ?? 0) + count);
}

/**
 * The observations `next` holds that `last` did not, both cumulative counts of one process: `next` as
 * the increase, or undefined when `next` cannot follow `last` without a reset in the process (a finer
 * schema, a narrower zero bucket, or a count that went down).
 */
export function nativeIncrease(last: NativeCounts, next: NativeCounts): NativeCounts | undefined {
  if (next.schema > last.schema || next.zeroThreshold < last.zeroThreshold) return undefined;
  const before = copyNative(last);
  const after = copyNative(next);
  reconcile(before, after);
  const zeroCount = after.zeroCount - before.zeroCount;
  if (zeroCount < 0) return undefined;
  const increase = emptyNative(after.schema, after.zeroThreshold);
  increase.zeroCount = zeroCount;
  for (const [name, side] of [["positive", after.positive], ["negative", after.negative]] as const) {
    const old = name === "positive" ? before.positive : before.negative;
    for (const [index] of old) if (!side.has(index)) return undefined;
    for (const [index, count] of side) {
      const grown = count - (old.get(index) ?? 0);
      if (grown < 0) return undefined;
      if (grown > 0) increase[name].set(index, grown);
    }
  }
  return increase;
}

/** Whether `native` holds no observation. */
export function isEmptyNative(native: NativeCounts): boolean {
  return native.zeroCount === 0 && native.positive.size === 0 && native.negative.size === 0;
}


/** Signed bucket indexes and counts of a side given as spans and deltas (the exposition's shape). */
export function countsOfSparse(spans: readonly { offset: number; length: number }[], deltas: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  let index = 0;
  let count = 0;
  let d = 0;
  for (let s = 0; s < spans.length; s++) {
    const span = spans[s] as { offset: number; length: number };
    index += span.offset;
    for (let i = 0; i < span.length; i++, index++) {
      count += deltas[d++] as number;
      if (count !== 0) out.set(index, count);
    }
  }
  return out;
}
