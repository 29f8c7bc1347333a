import { Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { ErrorCodes } from "../../src/shared/api/errors.js";
import { Counter, connect } from "../../src/worker/index.js";

// A labels object resolves to its child through a cache once its label set was resolved: these cases
// call each input with the cache cold and warm, and check both against the positional form (which never
// uses the cache) and against the errors the first resolution throws.
const registry = new Registry();
const hub = new MetricsHub({ registry });
connect(hub.workerData);
afterAll(() => hub.close());

let metrics = 0;
function counter(labelNames: string[], maxSeries?: number): Counter<string> {
  return new Counter({ name: `label_cache_${metrics++}_total`, help: "h", labelNames, ...(maxSeries === undefined ? {} : { maxSeries }) });
}

/** The error a call throws, as `{ code, message }`, or `undefined`. */
function errorOf(call: () => unknown): { code: string; message: string } | undefined {
  try {
    call();
    return undefined;
  } catch (error) {
    return { code: (error as { code: string }).code, message: (error as Error).message };
  }
}

async function valuesOf(name: string): Promise<Array<{ labels: Record<string, string | number>; value: number }>> {
  const json = (await registry.getMetricsAsJSON()) as unknown as Array<{ name: string; values: Array<{ labels: Record<string, string | number>; value: number }> }>;
  return json.find((f) => f.name === name)?.values ?? [];
}

describe("a labels object resolves to the same child cold and warm", () => {
  it("number and string values, in any key order, -0, NaN and Infinity", async () => {
    const c = counter(["method", "status"]);
    const byArgs = c.labels("GET", "200");
    for (const labels of [{ method: "GET", status: 200 }, { status: "200", method: "GET" }, { method: "GET", status: "200" }]) {
      expect(c.labels(labels)).toBe(byArgs);
      expect(c.labels(labels)).toBe(byArgs);
    }
    expect(c.labels({ method: "GET", status: -0 })).toBe(c.labels("GET", "0"));
    expect(c.labels({ method: "GET", status: 0 })).toBe(c.labels("GET", -0));
    for (const special of [NaN, Infinity, -Infinity]) {
      const cold = c.labels({ method: "GET", status: special });
      expect(c.labels({ method: "GET", status: special })).toBe(cold);
      expect(c.labels("GET", String(special))).toBe(cold);
    }
    c.inc({ method: "GET", status: 200 }, 2);
    c.inc({ method: "GET", status: "200" }, 3);
    c.inc({ status: 200, method: "GET" });
    const values = await valuesOf(c.name);
    expect(values.find((v) => v.labels.status === 200 || v.labels.status === "200")?.value).toBe(6);
  });

  it("values that need escaping, or would be ambiguous in a joined key, stay apart", async () => {
    const c = counter(["a", "b"]);
    const sets = [
      { a: "x", b: "y:z" },
      { a: "x:y", b: "z" },
      { a: "1:x", b: "" },
      { a: "", b: "1:x" },
      { a: 'q"\\\n', b: "é€😀" },
    ];
    const children = sets.map((labels) => c.labels(labels));
    expect(new Set(children).size).toBe(sets.length);
    sets.forEach((labels, i) => {
      expect(c.labels({ ...labels })).toBe(children[i]);
      expect(c.labels(labels.a, labels.b)).toBe(children[i]);
      c.inc({ ...labels }, i + 1);
    });
    const values = await valuesOf(c.name);
    sets.forEach((labels, i) => {
      expect(values.find((v) => v.labels.a === labels.a && v.labels.b === labels.b)?.value).toBe(i + 1);
    });
  });

  it("keys from the prototype and non-enumerable keys count as the slow path counts them", () => {
    const c = counter(["method", "status"]);
    const child = c.labels("GET", "200");
    // An inherited label: its value counts (a property read), as it always did.
    const inherited = Object.create({ method: "GET" }) as Record<string, string>;
    inherited.status = "200";
    expect(c.labels(inherited)).toBe(child);
    expect(c.labels(inherited)).toBe(child);
    // An inherited unknown key is not an own key: allowed.
    const inheritedExtra = Object.create({ extra: "x" }) as Record<string, string>;
    Object.assign(inheritedExtra, { method: "GET", status: "200" });
    expect(c.labels(inheritedExtra)).toBe(child);
    // Non-enumerable keys are not listed: a non-enumerable label counts by its value, an unknown one not at all.
    const hidden = Object.defineProperty({ status: "200" }, "method", { value: "GET", enumerable: false });
    expect(c.labels(hidden)).toBe(child);
    const hiddenExtra = Object.defineProperty({ method: "GET", status: "200" }, "extra", { value: "x", enumerable: false });
    expect(c.labels(hiddenExtra)).toBe(child);
  });
});

describe("a labels object the slow path refuses is refused warm too, with the same error", () => {
  const cases: Array<[string, () => object, string]> = [
    ["an extra key", () => ({ method: "GET", status: "200", extra: "x" }), 'unknown label "extra"'],
    ["an extra key in place of a label", () => ({ method: "GET", extra: "200" }), 'unknown label "extra"'],
    ["a missing key", () => ({ method: "GET" }), 'label "status" is missing'],
    ["an undefined value", () => ({ method: "GET", status: undefined }), 'label "status" is missing'],
    ["a boolean whose text is cached", () => ({ method: "GET", status: true }), 'label "status" must be a string or a number'],
    ["null", () => ({ method: "GET", status: null }), 'label "status" must be a string or a number'],
    ["an object whose text is cached", () => ({ method: "GET", status: { toString: () => "200" } }), 'label "status" must be a string or a number'],
    ["a lone surrogate", () => ({ method: "GET", status: "\uD800" }), "lone UTF-16 surrogate"],
    ["an overlong value", () => ({ method: "GET", status: "x".repeat(1025) }), "1024 bytes"],
  ];
  for (const [what, labels, message] of cases) {
    it(what, () => {
      const c = counter(["method", "status"]);
      const cold = errorOf(() => c.labels(labels()));
      expect(cold?.code).toBe(ErrorCodes.INVALID_LABELS);
      expect(cold?.message).toContain(message);
      // Warm the cache with every text these cases could match.
      c.labels({ method: "GET", status: "200" });
      c.labels({ method: "GET", status: "true" });
      c.labels({ method: "GET", status: "null" });
      c.inc({ method: "GET", status: "200" });
      expect(errorOf(() => c.labels(labels()))).toEqual(cold);
      expect(errorOf(() => c.inc(labels() as never, 1))).toEqual(cold);
    });
  }
});

describe("the cache follows the children", () => {
  it("a removed label set gets a new child", () => {
    const c = counter(["method"]);
    const first = c.labels({ method: "GET" });
    const other = c.labels({ method: "PUT" });
    c.remove({ method: "GET" });
    const second = c.labels({ method: "GET" });
    expect(second).not.toBe(first);
    expect(c.labels({ method: "GET" })).toBe(second);
    expect(c.labels({ method: "PUT" })).toBe(other);
  });

  it("a label set folded past maxSeries is not cached: after removes it gets its own child", () => {
    // The overflow child counts in the thread's cache as the limit applies it: with 2, two label sets
    // of their own, and a third after both are removed.
    const c = counter(["method"], 2);
    const get = c.labels({ method: "GET" });
    const put = c.labels({ method: "PUT" });
    const folded = c.labels({ method: "POST" });
    expect(folded).not.toBe(get);
    expect(folded).not.toBe(put);
    expect(c.labels({ method: "POST" })).toBe(folded);
    expect(c.labels({ method: "HEAD" })).toBe(folded);
    c.remove({ method: "GET" });
    c.remove({ method: "PUT" });
    const own = c.labels({ method: "POST" });
    expect(own).not.toBe(folded);
    expect(c.labels({ method: "POST" })).toBe(own);
  });
});
