import { describe, expect, it } from "vitest";
import { NativeBuckets, sparseSide } from "../../../src/main/bridge/native-buckets.js";

describe("merging native buckets whose zero buckets differ", () => {
  it("keeps the wider zero bucket and moves the other's buckets within it there, both ways", () => {
    // Schema 0. `widened` has merged its bucket -1 (bound 0.5) into its zero bucket.
    const make = (): NativeBuckets => {
      const b = new NativeBuckets(0, 2 ** -128, 0, 0);
      b.add(-3, false, 0); // 0.1
      b.add(-1, true, 0); // -0.3
      b.add(2, false, 0, 2); // 3, 3
      return b;
    };
    const widened = new NativeBuckets(0, 2 ** -128, 2, 0.5);
    for (const [index, negative] of [[-3, false], [-1, true], [2, false], [4, false]] as const) widened.add(index, negative, 0);
    expect(widened.zeroThreshold).toBe(0.5);
    expect(widened.zeroCount).toBe(2);

    const intoNarrow = make();
    intoNarrow.merge(widened);
    const intoWide = new NativeBuckets(0, 2 ** -128, 2, 0.5);
    for (const [index, negative] of [[-3, false], [-1, true], [2, false], [4, false]] as const) intoWide.add(index, negative, 0);
    intoWide.merge(make());
    for (const merged of [intoNarrow, intoWide]) {
      expect(merged.zeroThreshold).toBe(0.5);
      expect(merged.zeroCount).toBe(4);
      expect(sparseSide(merged.positive)).toEqual(sparseSide(new Map([[2, 3], [4, 1]])));
      expect(merged.negative.size).toBe(0);
    }
  });
});
