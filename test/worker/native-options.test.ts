import { describe, expect, it } from "vitest";
import { ErrorCodes, PromThreadsError } from "../../src/shared/api/errors.js";
import { kMaxExemplarLabelChars, validateExemplarLabels } from "../../src/shared/model/exemplar.js";
import { Counter } from "../../src/worker/counter.js";
import { Histogram } from "../../src/worker/histogram.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof PromThreadsError ? error.code : `not a PromThreadsError: ${String(error)}`;
  }
  return undefined;
}

describe("native histogram options", () => {
  it("refuses bad options with ERR_PROM_THREADS_INVALID_OPTION and a message naming the option", () => {
    const bad = [
      { nativeHistogramBucketFactor: 1 },
      { nativeHistogramBucketFactor: 0.5 },
      { nativeHistogramBucketFactor: Infinity },
      { nativeHistogramBucketFactor: "1.1" },
      { nativeHistogramBucketFactor: 1.1, nativeHistogramZeroThreshold: -1 },
      { nativeHistogramBucketFactor: 1.1, nativeHistogramMaxBucketNumber: 1.5 },
      { nativeHistogramZeroThreshold: 0.001 },
      { buckets: [] },
      { nativeHistogramBucketFactor: 1.1, buckets: Array.from({ length: 4096 }, (_, i) => i) },
      { enableExemplars: "yes" },
    ];
    for (const options of bad) {
      expect(codeOf(() => new Histogram({ name: "h", help: "h", ...options } as never)), JSON.stringify(options)).toBe(ErrorCodes.INVALID_OPTION);
    }
    expect(() => new Histogram({ name: "h", help: "h", nativeHistogramBucketFactor: 1 })).toThrow(/options\.nativeHistogramBucketFactor must be a finite number greater than 1/);
  });

  it("accepts native-only (buckets: []) and both, filling in client_golang's defaults", () => {
    const native = new Histogram({ name: "n", help: "h", buckets: [], nativeHistogramBucketFactor: 1.1 });
    expect(native.buckets).toEqual([]);
    const both = new Histogram({ name: "b", help: "h", buckets: [1, 2], nativeHistogramBucketFactor: 1.1, nativeHistogramZeroThreshold: 0, nativeHistogramMaxBucketNumber: 0 });
    expect(both.buckets).toEqual([1, 2]);
  });

  it("refuses NaN and infinities with ERR_PROM_THREADS_INVALID_VALUE, with and without exemplars", () => {
    const h = new Histogram({ name: "v", help: "h", buckets: [], nativeHistogramBucketFactor: 1.1, enableExemplars: true });
    for (const value of [NaN, Infinity, -Infinity]) {
      expect(codeOf(() => h.observe(value))).toBe(ErrorCodes.INVALID_VALUE);
      expect(codeOf(() => h.observe({ value, exemplarLabels: { trace_id: "x" } }))).toBe(ErrorCodes.INVALID_VALUE);
    }
    const plain = new Histogram({ name: "p", help: "h", buckets: [], nativeHistogramBucketFactor: 2 });
    expect(codeOf(() => plain.labels().observe(NaN))).toBe(ErrorCodes.INVALID_VALUE);
  });
});

describe("exemplar labels", () => {
  it("allow at most 128 characters of names and values together, counted as code points", () => {
    const name = "trace_id"; // 8 characters
    expect(validateExemplarLabels("m", { [name]: "x".repeat(kMaxExemplarLabelChars - name.length) })).toEqual({ [name]: "x".repeat(120) });
    expect(codeOf(() => validateExemplarLabels("m", { [name]: "x".repeat(121) }))).toBe(ErrorCodes.INVALID_LABELS);
    // 120 emoji are 240 UTF-16 units but 120 characters.
    expect(() => validateExemplarLabels("m", { [name]: "😀".repeat(120) })).not.toThrow();
    expect(codeOf(() => validateExemplarLabels("m", { [name]: "😀".repeat(121) }))).toBe(ErrorCodes.INVALID_LABELS);
    expect(codeOf(() => validateExemplarLabels("m", { "bad-name": "x" }))).toBe(ErrorCodes.INVALID_LABELS);
    expect(codeOf(() => validateExemplarLabels("m", { a: null }))).toBe(ErrorCodes.INVALID_LABELS);
    expect(validateExemplarLabels("m", { n: 5 })).toEqual({ n: "5" });
  });

  it("are checked when a counter or histogram with enableExemplars records", () => {
    const c = new Counter({ name: "c_total", help: "h", enableExemplars: true });
    expect(codeOf(() => c.inc({ value: 1, exemplarLabels: { trace_id: "y".repeat(200) } }))).toBe(ErrorCodes.INVALID_LABELS);
    expect(codeOf(() => c.inc({ value: -1, exemplarLabels: { trace_id: "y" } }))).toBe(ErrorCodes.INVALID_VALUE);
  });
});
