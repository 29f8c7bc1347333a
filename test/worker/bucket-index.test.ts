/** The bucket search agrees with the definition (first bound at or above the value) for every width. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bucketIndex } from "../../src/worker/bucket-index.js";

/** The definition, one bound at a time. */
function byDefinition(bounds: Float64Array, value: number): number {
  let bucket = 0;
  while (bucket < bounds.length && value > (bounds[bucket] as number)) bucket++;
  return bucket;
}

describe("bucketIndex", () => {
  it("matches the definition for 1 to 60 bounds, values on, between and outside the bounds", () => {
    const increasing = fc
      .uniqueArray(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 60 })
      .map((xs) => Float64Array.from(xs.sort((a, b) => a - b)));
    fc.assert(
      fc.property(increasing, fc.double({ noNaN: true, min: -2e6, max: 2e6 }), (bounds, value) => {
        for (const v of [value, ...bounds, ...Array.from(bounds, (b) => b + 1e-9), -Infinity, Infinity]) {
          expect(bucketIndex(bounds, v)).toBe(byDefinition(bounds, v));
        }
      }),
      { seed: 14, numRuns: 500 },
    );
  });

  it("puts a value equal to a bound in that bound's bucket, and one above every bound in +Inf", () => {
    const bounds = Float64Array.from({ length: 30 }, (_, i) => 0.001 * 1.3 ** i);
    bounds.forEach((bound, b) => {
      expect(bucketIndex(bounds, bound)).toBe(b);
    });
    expect(bucketIndex(bounds, 1e9)).toBe(30);
    expect(bucketIndex(bounds, -1)).toBe(0);
  });
});
