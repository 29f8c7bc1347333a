import { describe, expect, it } from "vitest";
import { acceptsGzip, negotiateFormat } from "../../../src/main/serve/negotiation.js";
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
