import { describe, expect, it } from "vitest";
import { acceptsGzip, negotiate, negotiateFormat } from "../../../src/main/serve/negotiation.js";
import { PROMETHEUS_ACCEPT } from "../../helpers/http.js";

describe("Accept negotiation", () => {
  it.each([
    [PROMETHEUS_ACCEPT, "openmetrics"],
    ["application/openmetrics-text", "openmetrics"],
    ["application/openmetrics-text; version=1.0.0; charset=utf-8", "openmetrics"],
    ["application/openmetrics-text;version=0.0.1", "openmetrics"],
    ["APPLICATION/OpenMetrics-Text;Version=1.0.0", "openmetrics"],
    ["application/*", "openmetrics"],
    ["text/plain;version=0.0.4;q=0.9, application/openmetrics-text;q=0.8", "text"],
    ["application/openmetrics-text;q=0.8, text/plain;version=0.0.4;q=0.9", "text"],
    ["application/openmetrics-text, text/plain", "openmetrics"],
    ["text/plain, application/openmetrics-text", "text"],
    ["application/openmetrics-text;version=2.0.0, text/plain;q=0.1", "text"],
    ["application/openmetrics-text;q=0, */*", "text"],
    ["application/openmetrics-text;q=0.5, */*;q=0.9", "text"],
    ["application/openmetrics-text;q=0.9, */*;q=0.5", "openmetrics"],
    ["*/*", "text"],
    ["text/*", "text"],
    ["application/json", "text"],
    ["application/openmetrics-text;q=bogus", "text"],
    ["", "text"],
    [undefined, "text"],
  ])("%j -> %s", (accept, expected) => {
    expect(negotiateFormat(accept)).toBe(expected);
  });

  it("answers each header as it did the first time when headers alternate (the last one parsed is kept)", () => {
    const headers = [PROMETHEUS_ACCEPT, "text/plain;version=1.0.0;escaping=dots", PROMETHEUS_ACCEPT, PROMETHEUS_ACCEPT, "text/plain", undefined, "text/plain;version=1.0.0;escaping=dots"];
    const first = new Map<string | undefined, ReturnType<typeof negotiate>>();
    for (const header of headers) {
      const negotiated = negotiate(header);
      if (!first.has(header)) first.set(header, structuredClone(negotiated));
      expect(negotiated, String(header)).toEqual(first.get(header));
      expect(Object.isFrozen(negotiated)).toBe(true);
    }
    expect(first.get(PROMETHEUS_ACCEPT)?.format).toBe("openmetrics");
    expect(first.get("text/plain;version=1.0.0;escaping=dots")).toEqual({ format: "text", version: "1.0.0", escaping: "dots", escapingNamed: true });
  });
});

describe("Accept-Encoding negotiation", () => {
  it.each([
    ["gzip", true],
    ["gzip, deflate, br", true],
    ["GZIP;q=0.5", true],
    ["x-gzip", true],
    ["*", true],
    ["gzip;q=0", false],
    ["gzip;q=0.000, *", false],
    ["*;q=0", false],
    ["br, deflate", false],
    ["identity", false],
    ["", false],
    [undefined, false],
  ])("%j -> %s", (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});
