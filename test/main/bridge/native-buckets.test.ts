import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NativeBuckets, coarserIndex, sparseSide } from "../../../src/main/bridge/native-buckets.js";
import { nativeField, nativeIndexOfAux, nativeIndexer } from "../../../src/shared/model/native-histogram.js";
import { isZeroBucketAux } from "../../helpers/native-aux.js";

/** Record `values` the way the hub does: the index found at `schema` (the worker's), then only adds. */
function record(buckets: NativeBuckets, values: readonly number[], schema: number): void {
  const index = nativeIndexer(schema);
  for (const v of values) {
    const field = nativeField(v, buckets.zeroThreshold, index);
    if (isZeroBucketAux(field)) buckets.addZero();
    else buckets.add(nativeIndexOfAux(field), v < 0, schema);
  }
}

function state(buckets: NativeBuckets): unknown {
  const sorted = (side: Map<number, number>): number[][] => [...side].sort((a, b) => a[0] - b[0]);
  return { schema: buckets.schema, zero: buckets.zeroCount, positive: sorted(buckets.positive), negative: sorted(buckets.negative) };
}

/** Decode spans and deltas back into a map, to check the encoding. */
function decode(spans: { offset: number; length: number }[], deltas: number[]): Map<number, number> {
  const out = new Map<number, number>();
  let index = 0;
  let count = 0;
  let d = 0;
  for (const span of spans) {
    // The first offset is the first index; later ones count from the end of the previous span.
    index += span.offset;
    for (let i = 0; i < span.length; i++) {
      count += deltas[d++] as number;
      if (count !== 0) out.set(index, count);
      index++;
    }
  }
  expect(d).toBe(deltas.length);
  return out;
}

const value = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.double({ min: -1000, max: 1000, noNaN: true }),
  fc.constantFrom(0, -0, 2 ** -128, -(2 ** -128), 1, 2, 0.5, Number.MIN_VALUE, Number.MAX_VALUE),
);

describe("NativeBuckets", () => {
  it("merging per-worker histograms equals recording everything in one (also across schema reductions)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(value, { maxLength: 60 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: -4, max: 8 }),
        fc.constantFrom(0, 1, 3, 8, 20, 160),
        fc.constantFrom(0, 2 ** -128, 1e-3),
        (workers, schema, max, zt) => {
          const one = new NativeBuckets(schema, zt, max);
          const merged = new NativeBuckets(schema, zt, max);
          for (const values of workers) {
            record(one, values, schema);
            const own = new NativeBuckets(schema, zt, max);
            record(own, values, schema);
            merged.merge(own);
          }
          expect(state(merged)).toEqual(state(one));
          // The limit holds unless the coarsest schema is reached.
          if (max > 0 && one.schema > -4) expect(one.bucketCount).toBeLessThanOrEqual(max);
        },
      ),
      { numRuns: 400, seed: 1313 },
    );
  });

  it("keeps bucket counts equal to recording at the final schema directly", () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 200 }), fc.integer({ min: -3, max: 8 }), (values, schema) => {
        const limited = new NativeBuckets(schema, 2 ** -128, 10);
        record(limited, values, schema);
        const direct = new NativeBuckets(limited.schema, 2 ** -128, 0);
        record(direct, values, limited.schema);
        expect(state(direct)).toEqual(state(limited));
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it("encodes each side as spans and deltas that decode to the same counts", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: -300, max: 300 }), fc.integer({ min: 1, max: 50 })), { maxLength: 60 }), (entries) => {
        const side = new Map(entries);
        const { spans, deltas } = sparseSide(side);
        expect(decode(spans, deltas)).toEqual(side);
        for (const span of spans.slice(1)) expect(span.offset).toBeGreaterThan(2);
      }),
      { numRuns: 300, seed: 11 },
    );
  });

  it("maps an index to the coarser bucket that contains it", () => {
    // schema 1 -> 0: buckets 1, 2 -> 1; 3, 4 -> 2; -1, 0 -> 0; -2 -> -1.
    expect([-3, -2, -1, 0, 1, 2, 3, 4].map((i) => coarserIndex(i, 1, 0))).toEqual([-1, -1, 0, 0, 1, 1, 2, 2]);
    expect(coarserIndex(17, 8, 5)).toBe(3);
  });
});
