/**
 * Every size and cardinality limit, with its default. docs/guarantees.md lists them for users.
 * @module
 */
import { kMinRingCapacity, kRecordBytes } from "../transport/layout.js";

/** Longest label value accepted, in UTF-8 bytes. Longer values throw at the call that gives them. */
export const kMaxLabelValueBytes = 1024;

/** Longest help text accepted, in UTF-8 bytes. Longer help throws in the metric's constructor. */
export const kMaxHelpBytes = 1024;

/** Most label names one metric may have. More throw in the metric's constructor. */
export const kMaxLabelNames = 32;

/**
 * Largest encoded metric declaration (name, help, label names, buckets, percentiles), in bytes: a quarter
 * of the smallest ring, so a metric that constructs fits every hub. Larger throws in the constructor.
 */
export const kMaxMetricDeclarationBytes = (kMinRingCapacity * kRecordBytes) / 4;

/**
 * Largest declaration a ring of `ringCapacity` records takes, in bytes: a quarter of the ring, so a
 * declaration can always move in whole while records keep flowing around it. A label set whose encoded
 * values are larger throws at the call that creates it.
 */
export function maxDeclarationBytes(ringCapacity: number): number {
  return (ringCapacity * kRecordBytes) / 4;
}

/**
 * Label sets one metric may have, across all workers, before further ones fold into its overflow
 * series; also the bound of each worker's own label-set cache per metric.
 */
export const kDefaultMaxSeries = 2000;

/**
 * The value of every label in a metric's overflow series: the series that label sets past `maxSeries`
 * fold into. `__` is reserved only in label names, so this is an ordinary value; a label set that uses it
 * on every label is that same series.
 */
export const kOverflowLabelValue = "__overflow__";

/** Most histogram buckets (without `+Inf`). More throw in the metric's constructor. */
export const kMaxBuckets = 512;

/** Most summary quantiles. More throw in the metric's constructor. */
export const kMaxPercentiles = 64;

/** Longest summary window (`maxAgeSeconds`): one year. */
export const kMaxAgeSeconds = 365 * 24 * 3600;

/** Most summary window buckets (`ageBuckets`): each is a t-digest per label set in the main thread. */
export const kMaxAgeBuckets = 100;

/**
 * Shortest time between two rotations of a summary window (`maxAgeSeconds / ageBuckets`), in seconds:
 * prom-client catches up on missed rotations one by one when it next reads the series.
 */
export const kMinAgeBucketSeconds = 0.1;

/** Smallest and largest `compressCount`: the main thread compresses every label set's digests this often. */
export const kMinCompressCount = 10;
/** See {@link kMinCompressCount}. */
export const kMaxCompressCount = 1_000_000_000;
