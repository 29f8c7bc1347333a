/**
 * Validation of the native histogram and exemplar options, at construction (never per observation).
 * @module
 */
import { ConfigurationError, ErrorCodes } from "../api/errors.js";
import {
  kDefaultNativeExemplarTtlMs,
  kDefaultNativeMaxBucketNumber,
  kDefaultNativeMaxExemplars,
  kDefaultNativeZeroThreshold,
  kMaxClassicBucketsWithNative,
  kMaxNativeDurationMs,
  kMaxNativeExemplars,
} from "./native-histogram.js";
import type { MetricDeclaration } from "./types.js";

function invalid(metric: string, message: string): never {
  throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `Metric "${metric}": ${message}`);
}

/** The options that only mean something with `nativeHistogramBucketFactor`. */
const kNeedFactor = [
  "nativeHistogramZeroThreshold",
  "nativeHistogramMaxBucketNumber",
  "nativeHistogramMinResetDuration",
  "nativeHistogramMaxZeroThreshold",
  "nativeHistogramMaxExemplars",
  "nativeHistogramExemplarTTL",
] as const;

/** Return `value` when it is undefined or an integer from `min` to `max`; throw naming the option otherwise. */
function optionalInteger(metric: string, option: string, value: unknown, min: number, max: number, meaning: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    invalid(metric, `options.${option} must be an integer from ${meaning}`);
  }
  return value;
}

/**
 * Check the `nativeHistogram*` options of a histogram and copy them, defaults filled in, into its
 * declaration. Without `nativeHistogramBucketFactor` the histogram is classic and the other options are
 * refused (they would do nothing). Runs on the worker's options and again, in the hub, on the
 * declaration that came through the ring: the declaration's fields have the options' names.
 */
export function normalizeNativeOptions(metric: string, options: Record<string, unknown>, declaration: MetricDeclaration): void {
  const factor = options.nativeHistogramBucketFactor;
  const zeroThreshold = options.nativeHistogramZeroThreshold;
  const maxBuckets = options.nativeHistogramMaxBucketNumber;
  if (factor === undefined) {
    const given = kNeedFactor.filter((name) => options[name] !== undefined);
    if (given.length > 0) invalid(metric, `${given.map((name) => `options.${name}`).join(" and ")} need options.nativeHistogramBucketFactor`);
    return;
  }
  if (typeof factor !== "number" || !(factor > 1 && factor < Infinity)) {
    invalid(metric, "options.nativeHistogramBucketFactor must be a finite number greater than 1");
  }
  if (zeroThreshold !== undefined && (typeof zeroThreshold !== "number" || !(zeroThreshold >= 0 && zeroThreshold < Infinity))) {
    invalid(metric, "options.nativeHistogramZeroThreshold must be a finite number of at least 0");
  }
  optionalInteger(metric, "nativeHistogramMaxBucketNumber", maxBuckets, 0, 1_000_000, "0 (no limit) to 1000000");
  const maxZero = options.nativeHistogramMaxZeroThreshold;
  if (maxZero !== undefined && (typeof maxZero !== "number" || !(maxZero >= 0 && maxZero < Infinity))) {
    invalid(metric, "options.nativeHistogramMaxZeroThreshold must be a finite number of at least 0 (0: never widen the zero bucket)");
  }
  const minReset = optionalInteger(metric, "nativeHistogramMinResetDuration", options.nativeHistogramMinResetDuration, 0, kMaxNativeDurationMs, `0 (never reset) to ${kMaxNativeDurationMs} milliseconds`);
  const maxExemplars = optionalInteger(metric, "nativeHistogramMaxExemplars", options.nativeHistogramMaxExemplars, 0, kMaxNativeExemplars, `0 (no native exemplars) to ${kMaxNativeExemplars}`);
  const ttl = optionalInteger(metric, "nativeHistogramExemplarTTL", options.nativeHistogramExemplarTTL, 0, kMaxNativeDurationMs, `0 (always replace the oldest) to ${kMaxNativeDurationMs} milliseconds`);
  if ((declaration.buckets?.length ?? 0) + 1 > kMaxClassicBucketsWithNative) {
    invalid(metric, `a native histogram may have at most ${kMaxClassicBucketsWithNative - 1} classic bucket bounds`);
  }
  declaration.nativeHistogramBucketFactor = factor;
  declaration.nativeHistogramZeroThreshold = (zeroThreshold as number | undefined) ?? kDefaultNativeZeroThreshold;
  declaration.nativeHistogramMaxBucketNumber = (maxBuckets as number | undefined) ?? kDefaultNativeMaxBucketNumber;
  declaration.nativeHistogramMinResetDuration = minReset ?? 0;
  declaration.nativeHistogramMaxZeroThreshold = (maxZero as number | undefined) ?? 0;
  declaration.nativeHistogramMaxExemplars = maxExemplars ?? kDefaultNativeMaxExemplars;
  declaration.nativeHistogramExemplarTTL = ttl ?? kDefaultNativeExemplarTtlMs;
}

/** Check `enableExemplars` and record it in the declaration when true. */
export function normalizeExemplarOption(metric: string, options: Record<string, unknown>, declaration: MetricDeclaration): void {
  const enable = options.enableExemplars;
  if (enable === undefined || enable === false) return;
  if (enable !== true) invalid(metric, "options.enableExemplars must be a boolean");
  declaration.enableExemplars = true;
}
