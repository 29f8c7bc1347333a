/**
 * Sample values are written as String() writes them (JSON.stringify() makes the same text without V8's
 * number-to-string cache, see format.ts), with the exposition formats' names for NaN and the infinities.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { formatValue } from "../../../src/main/serve/format.js";

describe("formatValue", () => {
  it("writes every finite number as String() does, NaN and the infinities by their exposition names", () => {
    expect([formatValue(Number.NaN), formatValue(Infinity), formatValue(-Infinity)]).toEqual(["NaN", "+Inf", "-Inf"]);
    const samples = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 123456789012345680000, 2 ** 53, 2 ** 53 + 2, Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, 5e-324, 0.000001, 1.7976931348623157e308];
    // Random doubles over the whole exponent range, from their bits.
    const bits = new BigUint64Array(1);
    const asDouble = new Float64Array(bits.buffer);
    let seed = 0x2545f4914f6cdd1dn;
    for (let i = 0; i < 20_000; i++) {
      seed ^= seed << 13n;
      seed ^= seed >> 7n;
      seed ^= seed << 17n;
      seed &= 0xffffffffffffffffn;
      bits[0] = seed;
      const value = asDouble[0] as number;
      if (Number.isFinite(value)) samples.push(value);
    }
    const differ = samples.filter((value) => formatValue(value) !== String(value));
    expect(differ).toEqual([]);
  });

  it("writes what a custom collector put in a value that is not a number as String() does", () => {
    expect(formatValue("1.23" as unknown as number)).toBe("1.23");
    expect(formatValue(10n as unknown as number)).toBe("10");
  });

  it("leaves no garbage in the old generation, where String()'s cache puts what it writes", () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const oldSpace = () => getHeapSpaceStatistics().find((space) => space.space_name === "old_space")?.space_used_size ?? 0;
    const values = Float64Array.from({ length: 100_000 }, (_, i) => i * 1.37 + 0.123);
    const growth = (write: (value: number) => string) => {
      gc();
      const before = oldSpace();
      let length = 0;
      for (const value of values) length += write(value).length;
      expect(length).toBeGreaterThan(values.length);
      return oldSpace() - before;
    };
    // The control: String() of 100,000 distinct sums leaves megabytes there (3.8 MB on Node 20).
    expect(growth(String)).toBeGreaterThan(1_000_000);
    expect(growth(formatValue)).toBeLessThan(300_000);
  });
});
