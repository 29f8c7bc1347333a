/**
 * The aggregator's native histogram arithmetic on small hand-computed cases: parts at different schemas
 * and zero thresholds add up exactly, a populated bucket reaching into a wider zero bucket moves into it
 * (and widens it to the bucket's upper bound, as Prometheus does), and the increase between two pushes
 * of one process survives the process halving its resolution.
 */
import { describe, expect, it } from "vitest";
import { addNative, emptyNative, nativeIncrease } from "../../../src/main/cluster/native-merge.js";
import type { NativeCounts } from "../../../src/main/bridge/native-buckets.js";

function part(schema: number, zeroThreshold: number, zeroCount: number, positive: [number, number][], negative: [number, number][] = []): NativeCounts {
  return { schema, zeroThreshold, zeroCount, positive: new Map(positive), negative: new Map(negative) };
}

describe("native histogram merge", () => {
  it("adds parts at the coarser schema: bucket i of schema s-1 holds buckets 2i-1 and 2i of schema s", () => {
    const total = part(2, 0, 0, [
      [1, 1],
      [2, 2],
      [3, 4],
    ]);
    addNative(total, part(1, 0, 0, [[1, 8]], [[-1, 16]]));
    expect(total.schema).toBe(1);
    expect(total.positive).toEqual(
      new Map([
        [1, 1 + 2 + 8],
        [2, 4],
      ]),
    );
    expect(total.negative).toEqual(new Map([[-1, 16]]));
  });

  it("moves populated buckets that reach into the wider zero bucket into it, widening it to their upper bound", () => {
    // Schema 0: bucket 0 is (0.5, 1], bucket 2 is (2, 4]. The other part's zero bucket reaches 0.7.
    const total = part(0, 2 ** -128, 1, [
      [0, 3],
      [2, 1],
    ], [[-3, 2]]);
    addNative(total, part(0, 0.7, 2, []));
    expect(total.zeroThreshold).toBe(1);
    expect(total.zeroCount).toBe(1 + 3 + 2 + 2);
    expect(total.positive).toEqual(new Map([[2, 1]]));
    // The negative side's bucket -3, (1/16, 1/8] of |v|, moved too.
    expect(total.negative.size).toBe(0);
    // A part whose own buckets reach into the total's now wider zero bucket moves them as well.
    addNative(total, part(0, 0, 0, [[1, 5]]));
    expect(total.zeroCount).toBe(8);
    expect(total.positive).toEqual(
      new Map([
        [1, 5],
        [2, 1],
      ]),
    );
  });

  it("finds the increase between two pushes of a process that halved its resolution in between, and refuses a decrease", () => {
    const last = part(2, 0, 1, [
      [3, 1],
      [4, 1],
    ]);
    const next = part(1, 0, 3, [
      [2, 5],
      [3, 1],
    ]);
    expect(nativeIncrease(last, next)).toEqual(part(1, 0, 2, [
      [2, 3],
      [3, 1],
    ]));
    expect(nativeIncrease(last, part(1, 0, 1, [[2, 1]]))).toBeUndefined();
    expect(nativeIncrease(last, part(3, 0, 1, [[6, 2]]))).toBeUndefined();
    expect(nativeIncrease(part(0, 0.5, 0, []), emptyNative(0, 0))).toBeUndefined();
  });
});
