import { describe, expect, it } from "vitest";
import { ErrorCodes, PromThreadsError } from "../../src/shared/api/errors.js";
import { normalizeDeclaration } from "../../src/shared/model/validation.js";
import { Histogram } from "../../src/worker/histogram.js";

function errorOf(fn: () => unknown): { code: string; message: string } | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof PromThreadsError) return { code: error.code, message: error.message };
    return { code: `not a PromThreadsError: ${String(error)}`, message: "" };
  }
  return undefined;
}

const native = { nativeHistogramBucketFactor: 1.1 };

describe("client_golang's native histogram controls", () => {
  it("refuse bad values with ERR_PROM_THREADS_INVALID_OPTION naming the option", () => {
    const bad: Array<[string, unknown]> = [
      ["nativeHistogramMinResetDuration", -1],
      ["nativeHistogramMinResetDuration", 1.5],
      ["nativeHistogramMinResetDuration", "1000"],
      ["nativeHistogramMinResetDuration", Infinity],
      ["nativeHistogramMaxZeroThreshold", -0.5],
      ["nativeHistogramMaxZeroThreshold", NaN],
      ["nativeHistogramMaxZeroThreshold", Infinity],
      ["nativeHistogramMaxZeroThreshold", "1"],
      ["nativeHistogramMaxExemplars", -1],
      ["nativeHistogramMaxExemplars", 2.5],
      ["nativeHistogramMaxExemplars", 10_001],
      ["nativeHistogramMaxExemplars", null],
      ["nativeHistogramExemplarTTL", -1],
      ["nativeHistogramExemplarTTL", 0.5],
      ["nativeHistogramExemplarTTL", "5m"],
    ];
    for (const [option, value] of bad) {
      const error = errorOf(() => new Histogram({ name: "h", help: "h", ...native, [option]: value } as never));
      expect(error?.code, `${option}: ${String(value)}`).toBe(ErrorCodes.INVALID_OPTION);
      expect(error?.message, `${option}: ${String(value)}`).toContain(`options.${option} must be`);
    }
  });

  it("are refused on a classic histogram, as the other native options are", () => {
    for (const option of ["nativeHistogramMinResetDuration", "nativeHistogramMaxZeroThreshold", "nativeHistogramMaxExemplars", "nativeHistogramExemplarTTL"]) {
      const error = errorOf(() => new Histogram({ name: "h", help: "h", [option]: 1 } as never));
      expect(error?.code).toBe(ErrorCodes.INVALID_OPTION);
      expect(error?.message).toContain(`options.${option} need options.nativeHistogramBucketFactor`);
    }
  });

  it("fill in client_golang's defaults in the declaration, which the hub validates again unchanged", () => {
    const defaults = normalizeDeclaration("histogram", { name: "d", help: "h", buckets: [], ...native });
    expect(defaults).toMatchObject({
      nativeHistogramMinResetDuration: 0,
      nativeHistogramMaxZeroThreshold: 0,
      nativeHistogramMaxExemplars: 10,
      nativeHistogramExemplarTTL: 300_000,
    });
    const given = normalizeDeclaration("histogram", {
      name: "g",
      help: "h",
      buckets: [1],
      ...native,
      nativeHistogramMinResetDuration: 3_600_000,
      nativeHistogramMaxZeroThreshold: 0.001,
      nativeHistogramMaxExemplars: 0,
      nativeHistogramExemplarTTL: 0,
    });
    expect(given).toMatchObject({ nativeHistogramMinResetDuration: 3_600_000, nativeHistogramMaxZeroThreshold: 0.001, nativeHistogramMaxExemplars: 0, nativeHistogramExemplarTTL: 0 });
    // The declaration travels as JSON and the hub normalizes it again: the same declaration.
    expect(normalizeDeclaration("histogram", JSON.parse(JSON.stringify(given)))).toEqual(given);
    expect(normalizeDeclaration("histogram", JSON.parse(JSON.stringify(defaults)))).toEqual(defaults);
  });
});
