/**
 * Worker-side native histograms: finding both the classic and the native bucket of an observation, so
 * the main thread only adds. Chosen at construction by Histogram; classic-only histograms never call it.
 * @module
 */
import {
  kNativeAuxBits,
  kNativeAuxMask,
  kNativeZeroBucket,
  nativeIndexer,
  schemaForFactor,
  type NativeIndexer,
} from "../shared/model/native-histogram.js";
import type { MetricDeclaration } from "../shared/model/types.js";
import type { BucketSearch } from "./bucket-index.js";

/** The native settings of a histogram, resolved once from its declaration. */
export interface NativeSettings {
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly index: NativeIndexer;
}

/** Resolve the native settings of a declaration, or `null` for a classic-only histogram. */
export function nativeSettingsOf(declaration: MetricDeclaration): NativeSettings | null {
  const factor = declaration.nativeHistogramBucketFactor;
  if (factor === undefined) return null;
  const schema = schemaForFactor(factor);
  return { schema, zeroThreshold: declaration.nativeHistogramZeroThreshold ?? 0, index: nativeIndexer(schema) };
}

/** The `aux` word of an observation: classic bucket index, and with native settings the native field. */
export function histogramAux(buckets: BucketSearch, native: NativeSettings | null, value: number): number {
  const bucket = buckets.index(value);
  if (native === null) return bucket;
  return histogramAuxOf(bucket, native, value);
}

/** The `aux` word of an observation whose classic bucket is known, with native settings. */
export function histogramAuxOf(bucket: number, native: NativeSettings, value: number): number {
  return ((bucket << kNativeAuxBits) | nativeFieldOf(native, value)) >>> 0;
}

function nativeFieldOf(native: NativeSettings, value: number): number {
  const zt = native.zeroThreshold;
  if (value > zt) return native.index(value) & kNativeAuxMask;
  if (value < -zt) return native.index(-value) & kNativeAuxMask;
  return kNativeZeroBucket;
}

