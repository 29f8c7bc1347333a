/**
 * Validation of the native histogram and exemplar options, at construction (never per observation).
 * @module
 */
import { ConfigurationError, ErrorCodes } from "../api/errors.js";
import {
  kDefaultNativeMaxBucketNumber,
  kDefaultNativeZeroThreshold,
  kMaxClassicBucketsWithNative,
} from "./native-histogram.js";
import type { MetricDeclaration } from "./types.js";

function invalid(metric: string, message: string): never {
  throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `Metric "${metric}": ${message}`);
}

/**
 * Check the `nativeHistogram*` options of a histogram and copy them, defaults filled in, into its
 * declaration. Without `nativeHistogramBucketFactor` the histogram is classic and the other two options
 * are refused (they would do nothing).
 */
export function normalizeNativeOptions(metric: string, options: Record<string, unknown>, declaration: MetricDeclaration): void {
  const factor = options.nativeHistogramBucketFactor;
  const zeroThreshold = options.nativeHistogramZeroThreshold;
  const maxBuckets = options.nativeHistogramMaxBucketNumber;
  if (factor === undefined) {
    if (zeroThreshold !== undefined || maxBuckets !== undefined) {
      invalid(metric, "options.nativeHistogramZeroThreshold and options.nativeHistogramMaxBucketNumber need options.nativeHistogramBucketFactor");
    }
    return;
  }
  if (typeof factor !== "number" || !(factor > 1 && factor < Infinity)) {
    invalid(metric, "options.nativeHistogramBucketFactor must be a finite number greater than 1");
  }
  if (zeroThreshold !== undefined && (typeof zeroThreshold !== "number" || !(zeroThreshold >= 0 && zeroThreshold < Infinity))) {
    invalid(metric, "options.nativeHistogramZeroThreshold must be a finite number of at least 0");
  }
  if (maxBuckets !== undefined && (typeof maxBuckets !== "number" || !Number.isInteger(maxBuckets) || maxBuckets < 0 || maxBuckets > 1_000_000)) {
    invalid(metric, "options.nativeHistogramMaxBucketNumber must be an integer from 0 (no limit) to 1000000");
  }
  if ((declaration.buckets?.length ?? 0) + 1 > kMaxClassicBucketsWithNative) {
    invalid(metric, `a native histogram may have at most ${kMaxClassicBucketsWithNative - 1} classic bucket bounds`);
  }
  declaration.nativeHistogramBucketFactor = factor;
  declaration.nativeHistogramZeroThreshold = (zeroThreshold as number | undefined) ?? kDefaultNativeZeroThreshold;
  declaration.nativeHistogramMaxBucketNumber = (maxBuckets as number | undefined) ?? kDefaultNativeMaxBucketNumber;
}

/** Check `enableExemplars` and record it in the declaration when true. */
export function normalizeExemplarOption(metric: string, options: Record<string, unknown>, declaration: MetricDeclaration): void {
  const enable = options.enableExemplars;
  if (enable === undefined || enable === false) return;
  if (enable !== true) invalid(metric, "options.enableExemplars must be a boolean");
  declaration.enableExemplars = true;
}
