/**
 * Validation of names, declarations and label values. Runs at setup and at label-set creation, never per
 * observation: the hot path checks only the recorded number.
 * @module
 */
import { ConfigurationError, ErrorCodes, RecordingError } from "../api/errors.js";
import { kMaxLocalId } from "../transport/layout.js";
import {
  kMaxAgeBuckets,
  kMaxAgeSeconds,
  kMaxBuckets,
  kMaxCompressCount,
  kMaxHelpBytes,
  kMaxLabelNames,
  kMaxLabelValueBytes,
  kMaxMetricDeclarationBytes,
  kMaxPercentiles,
  kMinAgeBucketSeconds,
  kMinCompressCount,
} from "./limits.js";
import { kClassicLabelNameGrammar, kClassicMetricNameGrammar, escapeName, isReservedName, isUtf8Name } from "./names.js";
import { normalizeExemplarOption, normalizeNativeOptions } from "./native-options.js";
import {
  kDefaultBuckets,
  kDefaultPercentiles,
  type ClusterAggregator,
  type GaugeAggregate,
  type LabelValue,
  type MetricConfiguration,
  type MetricDeclaration,
  type MetricType,
} from "./types.js";

const kGaugeAggregates: readonly GaugeAggregate[] = ["sum", "max", "min", "last"];
const kClusterAggregators: readonly ClusterAggregator[] = ["sum", "first", "min", "max", "average", "omit"];

const utf8 = new TextEncoder();

/**
 * Throw unless `name` is a valid Prometheus 3 metric name: a non-empty string of valid UTF-8 (no lone
 * surrogate) that does not start with the reserved `__`. Classic names (`[a-zA-Z_:][a-zA-Z0-9_:]*`) and
 * UTF-8 names such as `http.server.request.duration` are both accepted.
 */
function validateMetricName(name: unknown): asserts name is string {
  if (!isUtf8Name(name)) {
    throw new ConfigurationError(
      ErrorCodes.INVALID_NAME,
      `Invalid metric name ${JSON.stringify(name)}: it must be a non-empty string of valid UTF-8 (no lone surrogate); classic names match ${kClassicMetricNameGrammar}`,
    );
  }
  if (isReservedName(name)) {
    throw new ConfigurationError(
      ErrorCodes.INVALID_NAME,
      `Invalid metric name "${name}": names starting with "__" are reserved for Prometheus`,
    );
  }
}

/** Throw unless every label name is valid, unique and not reserved for `type`. */
function validateLabelNames(metric: string, type: MetricType, labelNames: unknown): string[] {
  if (labelNames === undefined) return [];
  if (!Array.isArray(labelNames)) {
    throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `Metric "${metric}": options.labelNames must be an array of strings`);
  }
  if (labelNames.length > kMaxLabelNames) {
    throw new ConfigurationError(
      ErrorCodes.INVALID_OPTION,
      `Metric "${metric}": options.labelNames has ${labelNames.length} names; a metric may have at most ${kMaxLabelNames}`,
    );
  }
  const seen = new Set<string>();
  const escapedSeen = new Map<string, string>();
  for (const label of labelNames as unknown[]) {
    if (!isUtf8Name(label)) {
      throw new ConfigurationError(
        ErrorCodes.INVALID_NAME,
        `Metric "${metric}": invalid label name ${JSON.stringify(label)}: it must be a non-empty string of valid UTF-8 (no lone surrogate); classic names match ${kClassicLabelNameGrammar}`,
      );
    }
    if (isReservedName(label)) {
      throw new ConfigurationError(ErrorCodes.INVALID_NAME, `Metric "${metric}": label name "${label}" is reserved (starts with "__")`);
    }
    if (type === "histogram" && label === "le") {
      throw new ConfigurationError(ErrorCodes.INVALID_NAME, `Metric "${metric}": a histogram cannot use the label name "le"`);
    }
    if (type === "summary" && label === "quantile") {
      throw new ConfigurationError(ErrorCodes.INVALID_NAME, `Metric "${metric}": a summary cannot use the label name "quantile"`);
    }
    if (seen.has(label)) {
      throw new ConfigurationError(
        ErrorCodes.INVALID_NAME,
        `Metric "${metric}": label name "${label}" appears twice in options.labelNames; prom-client accepts that, prom-threads does not (positional label values would be ambiguous): list each name once`,
      );
    }
    seen.add(label);
    // Scrapers without UTF-8 support read escaped names: two names must not escape to one.
    const escaped = escapeName(label, "underscores", "label");
    const twin = escapedSeen.get(escaped);
    if (twin !== undefined) {
      throw new ConfigurationError(
        ErrorCodes.INVALID_NAME,
        `Metric "${metric}": label names "${twin}" and "${label}" both read "${escaped}" for a scraper without UTF-8 support (escaping=underscores): rename one`,
      );
    }
    escapedSeen.set(escaped, label);
  }
  return [...seen];
}

function validateBuckets(metric: string, buckets: unknown, native: boolean): number[] {
  if (buckets === undefined) return [...kDefaultBuckets];
  // A native histogram may have no classic buckets at all (client_golang's native-only histogram).
  if (!Array.isArray(buckets) || (buckets.length === 0 && !native)) {
    throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `Metric "${metric}": options.buckets must be a non-empty array of numbers`);
  }
  if (buckets.length > kMaxBuckets + 1) {
    throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `Metric "${metric}": options.buckets has ${buckets.length} bounds; at most ${kMaxBuckets} are allowed`);
  }
  const bounds = (buckets as unknown[]).filter((b) => b !== Number.POSITIVE_INFINITY);
  let previous = Number.NEGATIVE_INFINITY;
  for (const bound of bounds) {
    if (typeof bound !== "number" || !Number.isFinite(bound) || bound <= previous) {
      throw new ConfigurationError(
        ErrorCodes.INVALID_OPTION,
        `Metric "${metric}": options.buckets must be finite numbers in strictly increasing order (+Inf is implied)`,
      );
    }
    previous = bound;
  }
  if (bounds.length > kMaxBuckets) {
    throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `Metric "${metric}": options.buckets has ${bounds.length} bounds; at most ${kMaxBuckets} are allowed`);
  }
  return bounds as number[];
}

function validatePercentiles(metric: string, percentiles: unknown): number[] {
  if (percentiles === undefined) return [...kDefaultPercentiles];
  if (!Array.isArray(percentiles) || percentiles.length === 0) {
    throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `Metric "${metric}": options.percentiles must be a non-empty array`);
  }
  if (percentiles.length > kMaxPercentiles) {
    throw new ConfigurationError(
      ErrorCodes.INVALID_OPTION,
      `Metric "${metric}": options.percentiles has ${percentiles.length} quantiles; at most ${kMaxPercentiles} are allowed`,
    );
  }
  for (const p of percentiles as unknown[]) {
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
      throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `Metric "${metric}": options.percentiles must be numbers between 0 and 1`);
    }
  }
  return [...(percentiles as number[])];
}

function optionalPositiveInteger(metric: string, option: string, value: unknown, max = Number.MAX_SAFE_INTEGER, min = 1): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? "a positive integer" : `an integer from ${min} to ${max}`;
    throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `Metric "${metric}": options.${option} must be ${range}, got ${String(value)}`);
  }
  return value;
}

function optionalBoolean(metric: string, option: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === "boolean") return value;
  throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `Metric "${metric}": options.${option} must be true or false`);
}

/** Validate a summary's sliding window: bounds that keep prom-client's rotation and memory small. */
function validateWindow(metric: string, options: Record<string, unknown>, declaration: MetricDeclaration): void {
  const { maxAgeSeconds } = options;
  if (maxAgeSeconds !== undefined) {
    if (typeof maxAgeSeconds !== "number" || !(maxAgeSeconds > 0 && maxAgeSeconds <= kMaxAgeSeconds)) {
      throw new ConfigurationError(
        ErrorCodes.INVALID_OPTION,
        `Metric "${metric}": options.maxAgeSeconds must be a number of seconds above 0 and at most ${kMaxAgeSeconds}, got ${String(maxAgeSeconds)}`,
      );
    }
    declaration.maxAgeSeconds = maxAgeSeconds;
  }
  const ageBuckets = optionalPositiveInteger(metric, "ageBuckets", options.ageBuckets, kMaxAgeBuckets);
  if (ageBuckets !== undefined) declaration.ageBuckets = ageBuckets;
  if (declaration.maxAgeSeconds !== undefined && ageBuckets !== undefined && declaration.maxAgeSeconds / ageBuckets < kMinAgeBucketSeconds) {
    throw new ConfigurationError(
      ErrorCodes.INVALID_OPTION,
      `Metric "${metric}": options.maxAgeSeconds / options.ageBuckets must be at least ${kMinAgeBucketSeconds} s (the window rotates that often at most)`,
    );
  }
  const compressCount = optionalPositiveInteger(metric, "compressCount", options.compressCount, kMaxCompressCount, kMinCompressCount);
  if (compressCount !== undefined) declaration.compressCount = compressCount;
  if (optionalBoolean(metric, "pruneAgedBuckets", options.pruneAgedBuckets) === true) declaration.pruneAgedBuckets = true;
}

/**
 * Validate a metric configuration of the given type and return its normalized declaration.
 * Throws a {@link ConfigurationError} that names the metric.
 */
export function normalizeDeclaration(type: MetricType, config: unknown): MetricDeclaration {
  if (config === null || typeof config !== "object") {
    throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `A ${type} needs a configuration object with name and help`);
  }
  const options = config as MetricConfiguration & Record<string, unknown>;
  validateMetricName(options.name);
  const name = options.name;
  if (typeof options.help !== "string" || options.help.length === 0) {
    throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `Metric "${name}": options.help must be a non-empty string`);
  }
  const helpBytes = utf8.encode(options.help).length;
  if (helpBytes > kMaxHelpBytes) {
    throw new ConfigurationError(
      ErrorCodes.INVALID_OPTION,
      `Metric "${name}": options.help is ${helpBytes} bytes long; help text may be at most ${kMaxHelpBytes} bytes (UTF-8)`,
    );
  }
  if (options.collect !== undefined) {
    throw new ConfigurationError(
      ErrorCodes.UNSUPPORTED,
      `Metric "${name}": options.collect is not supported in worker threads (prom-client runs it at scrape time; nothing runs in a worker at scrape time): record the value when it changes, or keep this metric in the main thread`,
    );
  }
  optionalBoolean(name, "enableExemplars", options.enableExemplars);
  const declaration: MetricDeclaration = {
    name,
    help: options.help,
    type,
    labelNames: validateLabelNames(name, type, options.labelNames),
  };
  const maxSeries = optionalPositiveInteger(name, "maxSeries", options.maxSeries, kMaxLocalId);
  if (maxSeries !== undefined) declaration.maxSeries = maxSeries;
  if (type === "histogram") {
    declaration.buckets = validateBuckets(name, options.buckets, options.nativeHistogramBucketFactor !== undefined);
    normalizeNativeOptions(name, options, declaration);
  }
  if (type === "histogram" || type === "counter") normalizeExemplarOption(name, options, declaration);
  if (options.aggregator !== undefined) {
    if (!kClusterAggregators.includes(options.aggregator as ClusterAggregator)) {
      throw new ConfigurationError(
        ErrorCodes.INVALID_OPTION,
        `Metric "${name}": options.aggregator must be one of ${kClusterAggregators.map((a) => `"${a}"`).join(", ")}`,
      );
    }
    declaration.aggregator = options.aggregator as ClusterAggregator;
  }
  if (type === "gauge") {
    // prom-client users say how copies of a gauge combine with `aggregator`; "max" and "min" mean the same
    // for worker threads, so they choose `aggregate` unless it is given.
    const implied = options.aggregator === "max" || options.aggregator === "min" ? options.aggregator : "sum";
    const aggregate = options.aggregate ?? implied;
    if (!kGaugeAggregates.includes(aggregate as GaugeAggregate)) {
      throw new ConfigurationError(
        ErrorCodes.INVALID_OPTION,
        `Metric "${name}": options.aggregate must be one of ${kGaugeAggregates.map((a) => `"${a}"`).join(", ")}`,
      );
    }
    declaration.aggregate = aggregate as GaugeAggregate;
  }
  if (type === "summary") {
    declaration.percentiles = validatePercentiles(name, options.percentiles);
    validateWindow(name, options, declaration);
  }
  // Checked here, at construction, so that a metric that constructs fits the ring of any hub.
  const bytes = utf8.encode(JSON.stringify(declaration)).length;
  if (bytes > kMaxMetricDeclarationBytes) {
    throw new ConfigurationError(
      ErrorCodes.INVALID_OPTION,
      `Metric "${name}": its declaration (name, help, label names, buckets, percentiles) encodes to ${bytes} bytes; at most ${kMaxMetricDeclarationBytes} fit a worker ring. Use fewer buckets or a shorter help text`,
    );
  }
  return declaration;
}

/** Return a description of how `a` and `b` differ, or `undefined` when they declare the same metric. */
export function declarationDifference(a: MetricDeclaration, b: MetricDeclaration): string | undefined {
  const fields = [
    "type",
    "help",
    "labelNames",
    "maxSeries",
    "buckets",
    "aggregate",
    "aggregator",
    "percentiles",
    "maxAgeSeconds",
    "ageBuckets",
    "compressCount",
    "pruneAgedBuckets",
    "nativeHistogramBucketFactor",
    "nativeHistogramZeroThreshold",
    "nativeHistogramMaxBucketNumber",
    "nativeHistogramMinResetDuration",
    "nativeHistogramMaxZeroThreshold",
    "nativeHistogramMaxExemplars",
    "nativeHistogramExemplarTTL",
    "enableExemplars",
  ] as const;
  for (const field of fields) {
    if (JSON.stringify(a[field]) !== JSON.stringify(b[field])) {
      return `${field} ${JSON.stringify(b[field])} differs from the first declaration's ${JSON.stringify(a[field])}`;
    }
  }
  return undefined;
}

/**
 * Check one label value and return it as it travels to the hub: a string, or a finite number kept as a
 * number (prom-client keeps the type it was given). Throws a {@link RecordingError} when it is not allowed.
 */
function checkLabelValue(metric: string, label: string, value: unknown): LabelValue {
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value !== "string") {
    throw new RecordingError(
      ErrorCodes.INVALID_LABELS,
      `Metric "${metric}": label "${label}" must be a string or a number, got ${value === null ? "null" : typeof value}`,
    );
  }
  // A UTF-16 unit encodes to at most 3 UTF-8 bytes: only long strings need the exact byte count.
  if (value.length * 3 > kMaxLabelValueBytes && utf8.encode(value).length > kMaxLabelValueBytes) {
    throw new RecordingError(
      ErrorCodes.INVALID_LABELS,
      `Metric "${metric}": the value of label "${label}" is longer than ${kMaxLabelValueBytes} bytes`,
    );
  }
  // A lone surrogate has no UTF-8 form: encoded, two different values would become the same series.
  if (!value.isWellFormed()) {
    throw new RecordingError(
      ErrorCodes.INVALID_LABELS,
      `Metric "${metric}": the value of label "${label}" holds a lone UTF-16 surrogate, which has no UTF-8 form; use String.prototype.toWellFormed() or drop it`,
    );
  }
  return value;
}

/**
 * Resolve a labels object to values in `labelNames` order, throwing for unknown or missing names.
 */
export function labelObjectToValues(metric: string, labelNames: readonly string[], labels: object): LabelValue[] {
  const given = labels as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!labelNames.includes(key)) {
      throw new RecordingError(
        ErrorCodes.INVALID_LABELS,
        `Metric "${metric}": unknown label "${key}" (label names: ${labelNames.length > 0 ? labelNames.join(", ") : "none"})`,
      );
    }
  }
  return labelNames.map((label) => {
    const value = given[label];
    if (value === undefined) {
      throw new RecordingError(ErrorCodes.INVALID_LABELS, `Metric "${metric}": label "${label}" is missing`);
    }
    return checkLabelValue(metric, label, value);
  });
}

/** Resolve positional label values, as in `metric.labels("GET", 200)`, throwing for a wrong count. */
export function labelArgsToValues(metric: string, labelNames: readonly string[], args: readonly unknown[]): LabelValue[] {
  if (args.length !== labelNames.length) {
    throw new RecordingError(
      ErrorCodes.INVALID_LABELS,
      `Metric "${metric}": expected ${labelNames.length} label value(s) (${labelNames.join(", ")}), got ${args.length}`,
    );
  }
  return args.map((value, i) => checkLabelValue(metric, labelNames[i] as string, value));
}

/** Throw the recording error for a rejected value. Kept out of line so callers' fast paths stay small. */
export function throwInvalidValue(metric: string, what: string, value: unknown): never {
  throw new RecordingError(ErrorCodes.INVALID_VALUE, `Metric "${metric}": ${what}, got ${String(value)}`);
}
