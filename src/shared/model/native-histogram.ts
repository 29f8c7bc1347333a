/**
 * Native (sparse, exponential) histogram math that worker and main thread agree on: the schema a bucket
 * factor picks, the bucket index of a value, and how an index travels in a record's `aux` word.
 *
 * A schema `s` (from -4 to 8) sets the growth factor between bucket bounds to `base = 2^(2^-s)`. Bucket
 * `i` of the positive side holds the values `v` with `base^(i-1) < v <= base^i`, in exact arithmetic, as
 * the Prometheus native histogram specification defines it. The negative side mirrors it on `|v|`;
 * values with `|v| <= zeroThreshold` go to the zero bucket. (client_golang compares with a table of
 * 16-digit decimal literals; 139 of its 256 schema-8 entries sit one to three float64 steps off the exact
 * bounds, so for a value within three steps of such a bound it may pick the neighbouring bucket; nowhere
 * else do the two differ.)
 *
 * The index is found from the float's exponent and mantissa bits (a table step inside one binary order
 * of magnitude), never with `Math.log`: exact for every double, and a few integer operations per call.
 * The table holds, for each irrational bound, the largest double below it, so comparing a double with
 * the table entry gives the same answer as comparing it with the real bound.
 * @module
 */
import { kSchema8FractionBounds } from "./native-bounds.js";

/** Smallest (coarsest) standard schema: growth factor 2^16 between bounds. */
export const kNativeSchemaMin = -4;
/** Largest (finest) standard schema: growth factor 2^(1/256), about 1.0027. */
const kNativeSchemaMax = 8;
/** Default zero threshold, as in client_golang: 2^-128. */
export const kDefaultNativeZeroThreshold = 2 ** -128;
/** Default most buckets a native histogram holds before it halves its resolution, as in client_golang. */
export const kDefaultNativeMaxBucketNumber = 160;
/** Default most exemplars a native histogram series keeps, as in client_golang. */
export const kDefaultNativeMaxExemplars = 10;
/** Most exemplars a native histogram series may be asked to keep. */
export const kMaxNativeExemplars = 10_000;
/** Default age (ms) past which a series' oldest native exemplar is replaced first: client_golang's 5 minutes. */
export const kDefaultNativeExemplarTtlMs = 300_000;
/** Longest `nativeHistogramMinResetDuration` and `nativeHistogramExemplarTTL`, in milliseconds: one year. */
export const kMaxNativeDurationMs = 31_536_000_000;

/**
 * Return the schema a bucket factor picks, as client_golang does: the coarsest standard schema whose
 * growth factor `2^(2^-schema)` is at most `factor` (clamped to -4..8). `factor` must be greater than 1.
 *
 * @example
 * schemaForFactor(1.1); // 3: growth factor 2^(1/8) ≈ 1.0905
 */
export function schemaForFactor(factor: number): number {
  // Exact comparisons instead of client_golang's floor(log2(log2(factor))), coarsest schema first.
  for (let schema = kNativeSchemaMin; schema < kNativeSchemaMax; schema++) {
    if (growthAtMost(schema, factor)) return schema;
  }
  return kNativeSchemaMax;
}

/**
 * The growth factor between consecutive bounds of `schema`, 2^(2^-schema): exact for schemas up to 0,
 * the largest double below it for the (irrational) factors of schemas 1 to 8.
 */
export function growthFactor(schema: number): number {
  if (schema <= 0) return 2 ** (2 ** -schema);
  return (kSchema8FractionBounds[1 << (kNativeSchemaMax - schema)] as number) * 2;
}

/** Whether the growth factor of `schema` is at most `factor`, compared exactly. */
function growthAtMost(schema: number, factor: number): boolean {
  // Above schema 0 the factor is irrational and growthFactor() the double just below it: the real
  // factor is at most `factor` exactly when that double is strictly less.
  return schema <= 0 ? growthFactor(schema) <= factor : growthFactor(schema) < factor;
}

/**
 * The upper bound of bucket `index` of `schema` (a positive bound; the negative side mirrors it): exact
 * for schemas up to 0, else the largest double not above it.
 *
 * @example
 * nativeBucketBound(3, 0); // 8
 */
export function nativeBucketBound(index: number, schema: number): number {
  if (schema <= 0) return 2 ** (index * 2 ** -schema);
  const n = 1 << schema;
  const fracIndex = ((index % n) + n) % n;
  const exponent = (index - fracIndex) / n + 1;
  return (kSchema8FractionBounds[fracIndex << (kNativeSchemaMax - schema)] as number) * 2 ** exponent;
}

/** Finds the bucket index of a positive finite number for one schema. */
export type NativeIndexer = (positive: number) => number;

// One scratch double viewed as two words: the exponent and mantissa bits of a value without Math.log.
const scratch = new Float64Array(1);
const words = new Uint32Array(scratch.buffer);
/** Index of the word holding sign, exponent and the top 20 mantissa bits (1 on little-endian machines). */
const kHi = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const kLo = 1 - kHi;
/** 2^64: scales a subnormal into the normal range so its exponent bits are meaningful. */
const kSubnormalScale = 2 ** 64;

/**
 * Build the index function of `schema`: for `v > 0` finite, the smallest `i` with `v <= 2^(i * 2^-schema)`.
 *
 * @example
 * const index = nativeIndexer(0);
 * index(1); // 0, index(1.5) // 1, index(2) // 1
 */
export function nativeIndexer(schema: number): NativeIndexer {
  if (!Number.isInteger(schema) || schema < kNativeSchemaMin || schema > kNativeSchemaMax) {
    throw new RangeError(`schema must be an integer from ${kNativeSchemaMin} to ${kNativeSchemaMax}`);
  }
  return schema <= 0 ? powerOfTwoIndexer(schema) : fractionIndexer(schema);
}

/**
 * Split `v > 0` into its binary exponent `e` with `v = f * 2^e`, `f` in [0.5, 1); leaves the high word
 * of the (scaled) value in `words[kHi]` for the caller.
 */
function exponentOf(v: number): number {
  scratch[0] = v;
  const biased = (words[kHi] as number) >>> 20;
  if (biased !== 0) return biased - 1022;
  scratch[0] = v * kSubnormalScale;
  return ((words[kHi] as number) >>> 20) - 1022 - 64;
}

function powerOfTwoIndexer(schema: number): NativeIndexer {
  const shift = -schema;
  const offset = (1 << shift) - 1;
  return (v) => {
    let key = exponentOf(v);
    // f = 0.5 exactly (mantissa bits all zero): v is a power of two and the upper bound of bucket key-1.
    if (((words[kHi] as number) & 0xfffff) === 0 && words[kLo] === 0) key--;
    // Bucket i of schema -k spans 2^k exponents: ceil(key / 2^k), as an arithmetic shift.
    return (key + offset) >> shift;
  };
}

function fractionIndexer(schema: number): NativeIndexer {
  const n = 1 << schema;
  const step = 1 << (kNativeSchemaMax - schema);
  // bounds[j] = bound of fraction j in [0.5, 1); bounds[n] = 1 stops every search (f < 1).
  const bounds = new Float64Array(n + 1);
  for (let j = 0; j < n; j++) bounds[j] = kSchema8FractionBounds[j * step] as number;
  bounds[n] = 1;
  // start[c] = first bound >= the smallest f whose top 10 mantissa bits are c. Cells are narrower than
  // the gap between bounds, so the search below takes at most two comparisons.
  const start = new Uint16Array(1024);
  for (let c = 0, j = 0; c < 1024; c++) {
    const low = 0.5 + c / 2048;
    while ((bounds[j] as number) < low) j++;
    start[c] = j;
  }
  return (v) => {
    const e = exponentOf(v);
    const hi = words[kHi] as number;
    // Give the value the exponent of 0.5 to read its fraction f in [0.5, 1).
    words[kHi] = (hi & 0x000fffff) | 0x3fe00000;
    const f = scratch[0] as number;
    let j = start[(hi >>> 10) & 0x3ff] as number;
    while ((bounds[j] as number) < f) j++;
    return j + (e - 1) * n;
  };
}

// How a native observation travels: the record's aux word holds the classic bucket in its top 12 bits
// and the native bucket in its low 20 bits (a signed index, or kNativeZeroBucket). The side (positive
// or negative) is the sign of the record's value.

/** Bits of `aux` holding the native bucket. */
export const kNativeAuxBits = 20;
/** Mask of the native bucket bits of `aux`. */
export const kNativeAuxMask = (1 << kNativeAuxBits) - 1;
/** The native field of an observation in the zero bucket (the one 20-bit value no index reaches). */
export const kNativeZeroBucket = 1 << (kNativeAuxBits - 1);
/** Most classic buckets (bounds plus `+Inf`) of a histogram that is also native: 12 bits of `aux`. */
export const kMaxClassicBucketsWithNative = 1 << (32 - kNativeAuxBits);

/** The signed native index of an `aux` word (NATIVE_ZERO_BUCKET's value reads as -2^19). */
export function nativeIndexOfAux(aux: number): number {
  return (aux << (32 - kNativeAuxBits)) >> (32 - kNativeAuxBits);
}

/**
 * Return the native field for a finite value: its signed bucket index on its side, or
 * kNativeZeroBucket when `|value| <= zeroThreshold`.
 */
export function nativeField(value: number, zeroThreshold: number, index: NativeIndexer): number {
  if (value > zeroThreshold) return index(value) & kNativeAuxMask;
  if (value < -zeroThreshold) return index(-value) & kNativeAuxMask;
  return kNativeZeroBucket;
}
