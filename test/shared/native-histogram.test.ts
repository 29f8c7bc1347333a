import { describe, expect, it } from "vitest";
import { kSchema8FractionBounds } from "../../src/shared/model/native-bounds.js";
import {
  kNativeZeroBucket,
  nativeBucketBound,
  nativeField,
  nativeIndexOfAux,
  nativeIndexer,
  schemaForFactor,
} from "../../src/shared/model/native-histogram.js";
import { classicBucketOfAux, isZeroBucketAux, packNativeAux } from "../helpers/native-aux.js";

// Independent exact arithmetic. A positive double is m * 2^e with integer m (exact, via DataView bits).
function decompose(v: number): { m: bigint; e: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  if (biased === 0) return { m: fraction, e: -1074 };
  return { m: fraction | (1n << 52n), e: biased - 1075 };
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/**
 * The bucket index by the specification's formula in exact arithmetic, for a value that is not itself a
 * rounded bound: the smallest i with v <= 2^(i * 2^-schema), that is ceil(2^schema * log2 v).
 */
function exactIndex(v: number, schema: number): number {
  const { m, e } = decompose(v);
  if (schema >= 0) {
    const n = 1 << schema;
    // v^n = m^n * 2^(e n) <= 2^i  <=>  i >= ceil(log2(m^n)) + e n, and ceil(log2 M) = bitLength(M - 1).
    return bitLength(m ** BigInt(n) - 1n) + e * n;
  }
  const ceilLog2 = bitLength(m - 1n) + e;
  const k = 2 ** -schema;
  return Math.ceil(ceilLog2 / k) + 0; // + 0 turns -0 into 0
}

/** Largest y with y^n <= x, by Newton's method (the generator uses bisection). */
function root(x: bigint, n: bigint): bigint {
  let y = 1n << BigInt(Math.ceil(bitLength(x) / Number(n)) + 1);
  for (;;) {
    const next = ((n - 1n) * y + x / y ** (n - 1n)) / n;
    if (next >= y) break;
    y = next;
  }
  while (y ** n > x) y--;
  while ((y + 1n) ** n <= x) y++;
  return y;
}

/** The largest float64 not above 2^(j/n), and the smallest not below it (0 <= j < n), from a 64-bit root. */
function boundsAround(j: number, n: number): { down: number; up: number } {
  const N = BigInt(n);
  const x = 1n << (BigInt(j) + 63n * N);
  const y = root(x, N); // floor(2^(j/n) * 2^63), 64 bits
  const down = Number(y >> 11n) * 2 ** -52;
  const exact = y ** N === x && (y & 0x7ffn) === 0n;
  return { down, up: exact ? down : Number((y >> 11n) + 1n) * 2 ** -52 };
}

function nextUp(v: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  view.setBigUint64(0, view.getBigUint64(0) + 1n);
  return view.getFloat64(0);
}

function nextDown(v: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  view.setBigUint64(0, view.getBigUint64(0) - 1n);
  return view.getFloat64(0);
}

describe("the bound table", () => {
  it("holds the largest double not above 2^(j/256) / 2 for every j, recomputed exactly", () => {
    for (let j = 0; j < 256; j++) expect(kSchema8FractionBounds[j], `j=${j}`).toBe(boundsAround(j, 256).down / 2);
  });
});

describe("schemaForFactor", () => {
  it("picks the coarsest schema whose growth factor is at most the factor", () => {
    expect(schemaForFactor(1.1)).toBe(3);
    expect(schemaForFactor(2)).toBe(0);
    expect(schemaForFactor(1.0027)).toBe(8);
    expect(schemaForFactor(1.001)).toBe(8);
    expect(schemaForFactor(65536)).toBe(-4);
    expect(schemaForFactor(1e9)).toBe(-4);
    expect(schemaForFactor(4)).toBe(-1);
    expect(schemaForFactor(3.99)).toBe(0);
    expect(schemaForFactor(Math.SQRT2)).toBe(1);
    // 2^(1/8) is irrational: the double just above it allows schema 3, the one just below does not.
    expect(schemaForFactor(boundsAround(32, 256).up)).toBe(3);
    expect(schemaForFactor(boundsAround(32, 256).down)).toBe(4);
    expect(schemaForFactor(boundsAround(1, 256).up)).toBe(8);
    expect(schemaForFactor(boundsAround(2, 256).down)).toBe(8);
  });
});

/**
 * Check index(v) for the doubles around the bound of bucket i (the largest double not above it, and the
 * next one up) against the exact formula: they fall in buckets i and i + 1.
 */
function checkBoundary(index: (v: number) => number, schema: number, bound: number, i: number): void {
  expect(exactIndex(bound, schema), `exact index of ${bound}`).toBe(i);
  expect(index(bound), `schema ${schema}, bound ${bound} of bucket ${i}`).toBe(i);
  const above = nextUp(bound);
  if (Number.isFinite(above)) {
    expect(exactIndex(above, schema)).toBe(i + 1);
    expect(index(above), `schema ${schema}, just above ${bound}`).toBe(i + 1);
  }
  const below = nextDown(bound);
  if (below > 0) expect(index(below), `schema ${schema}, just below ${bound}`).toBe(exactIndex(below, schema));
}

describe("nativeIndexer at every bucket boundary", () => {
  it("schema -4 and 0: every power-of-two bound over the whole double range, subnormals included", () => {
    for (const schema of [-4, 0]) {
      const index = nativeIndexer(schema);
      const k = 2 ** -schema;
      for (let exponent = -1074; exponent <= 1023; exponent++) {
        if (exponent % k !== 0) continue;
        checkBoundary(index, schema, 2 ** exponent, exponent / k);
      }
      // Between bounds, a sample of values agrees with the exact formula.
      for (let exponent = -1074; exponent <= 1023; exponent += 7) {
        const v = 2 ** exponent * 1.37;
        if (Number.isFinite(v)) expect(index(v)).toBe(exactIndex(v, schema));
      }
    }
  });

  it("schema 3 and 8: every bound of one binary order at exponents across the range (subnormal, smallest normal, small, 1, largest)", () => {
    for (const schema of [3, 8]) {
      const index = nativeIndexer(schema);
      const n = 1 << schema;
      for (const exponent of [-1074, -1060, -1023, -1022, -1021, -128, -1, 0, 1, 37, 1022, 1023]) {
        for (let j = 0; j < n; j++) {
          const bound = nativeBucketBound(j, schema) * 2 ** exponent;
          if (bound === 0 || !Number.isFinite(bound)) continue;
          // Scaled into the subnormal range, a bound loses bits: checked below with the exact formula alone.
          if (bound < 2 ** -1022) {
            for (const v of [bound, nextUp(bound), nextDown(bound)]) if (v > 0) expect(index(v), `subnormal ${v}`).toBe(exactIndex(v, schema));
            continue;
          }
          checkBoundary(index, schema, bound, exponent * n + j);
        }
      }
    }
  });

  it("places the largest doubles and the smallest subnormal", () => {
    for (const schema of [-4, 0, 3, 8]) {
      const index = nativeIndexer(schema);
      expect(index(Number.MAX_VALUE)).toBe(exactIndex(Number.MAX_VALUE, schema));
      expect(index(nextDown(Number.MAX_VALUE))).toBe(exactIndex(nextDown(Number.MAX_VALUE), schema));
      expect(index(Number.MIN_VALUE)).toBe(exactIndex(Number.MIN_VALUE, schema));
      expect(index(2 ** -1022)).toBe(exactIndex(2 ** -1022, schema));
    }
    expect(nativeIndexer(8)(Number.MAX_VALUE)).toBe(262144);
    expect(nativeIndexer(8)(Number.MIN_VALUE)).toBe(-274944);
  });

  it("agrees with the exact formula on seeded random doubles of every magnitude", () => {
    let seed = 12345;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (const schema of [-4, -1, 0, 1, 3, 8]) {
      const index = nativeIndexer(schema);
      for (let k = 0; k < 400; k++) {
        const v = (0.5 + random() / 2) * 2 ** Math.floor(random() * 2090 - 1070);
        if (v > 0 && Number.isFinite(v)) expect(index(v), `schema ${schema} v ${v}`).toBe(exactIndex(v, schema));
      }
    }
  });
});

describe("native field and aux packing", () => {
  const index = nativeIndexer(3);
  it("sends |v| <= zero threshold to the zero bucket and negatives to their mirrored index", () => {
    const zt = 2 ** -128;
    expect(nativeField(0, zt, index)).toBe(kNativeZeroBucket);
    expect(nativeField(-0, zt, index)).toBe(kNativeZeroBucket);
    expect(nativeField(zt, zt, index)).toBe(kNativeZeroBucket);
    expect(nativeField(-zt, zt, index)).toBe(kNativeZeroBucket);
    expect(nativeIndexOfAux(nativeField(nextUp(zt), zt, index))).toBe(exactIndex(nextUp(zt), 3));
    expect(nativeIndexOfAux(nativeField(-2.5, zt, index))).toBe(exactIndex(2.5, 3));
    expect(nativeIndexOfAux(nativeField(Number.MIN_VALUE, 0, index))).toBe(exactIndex(Number.MIN_VALUE, 3));
    expect(nativeField(Number.MIN_VALUE, zt, index)).toBe(kNativeZeroBucket);
  });

  it("round-trips a classic bucket and every native index through one aux word", () => {
    for (const classic of [0, 1, 11, 4095]) {
      for (const native of [-274944, -1, 0, 1, 262144]) {
        const aux = packNativeAux(classic, native);
        expect(classicBucketOfAux(aux)).toBe(classic);
        expect(nativeIndexOfAux(aux)).toBe(native);
        expect(isZeroBucketAux(aux)).toBe(false);
      }
      expect(isZeroBucketAux(packNativeAux(classic, kNativeZeroBucket))).toBe(true);
    }
  });
});
