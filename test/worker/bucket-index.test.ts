/** The bucket search agrees with the definition (first bound at or above the value) for every width. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BucketSearch, bucketIndex } from "../../src/worker/bucket-index.js";

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

describe("BucketSearch", () => {
  /** Values around every bound, at every scale the bounds span and beyond, of both signs. */
  function probes(bounds: Float64Array, value: number): number[] {
    const out = [value, -value, 0, -0, Number.MIN_VALUE, 5e-324 * 3, 2 ** -1022, 1e-300, 1e300, Number.MAX_VALUE, -Infinity, Infinity];
    for (const b of bounds) out.push(b, b * (1 + 1e-12), b * (1 - 1e-12), b / 2, b * 2, b + 1e-9, b - 1e-9, Math.abs(b) ** 0.5);
    return out;
  }

  it("matches the definition for 1 to 60 bounds of any sign and scale", () => {
    const scaled = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), fc.double({ noNaN: true, noDefaultInfinity: true }));
    const increasing = fc.uniqueArray(scaled, { minLength: 1, maxLength: 60, comparator: (a, b) => a === b || (a === 0 && b === 0) }).map((xs) => Float64Array.from(xs.sort((a, b) => a - b)));
    fc.assert(
      fc.property(increasing, fc.double({ noNaN: true }), (bounds, value) => {
        const search = new BucketSearch(bounds);
        for (const v of probes(bounds, value)) expect(search.index(v)).toBe(byDefinition(bounds, v));
      }),
      { seed: 25, numRuns: 500 },
    );
  });

  it("matches the definition for the layouts users pick: default, linear, exponential, subnormal, none positive", () => {
    const layouts = [
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      Array.from({ length: 100 }, (_, i) => i + 1),
      Array.from({ length: 30 }, (_, i) => 0.001 * 1.3 ** i),
      [Number.MIN_VALUE, 2 * Number.MIN_VALUE, 2 ** -1022, 1],
      [-10, -1, 0],
      [1e308],
    ].map((xs) => Float64Array.from(xs));
    for (const bounds of layouts) {
      const search = new BucketSearch(bounds);
      for (let k = -2000; k <= 2000; k++) {
        const v = Math.sign(k) * 1.37 ** (Math.abs(k) / 4 - 250);
        expect(search.index(v)).toBe(byDefinition(bounds, v));
      }
      for (const v of probes(bounds, 1)) expect(search.index(v)).toBe(byDefinition(bounds, v));
    }
  });
});
