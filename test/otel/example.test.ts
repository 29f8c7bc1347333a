/** examples/opentelemetry runs as documented and prints the totals its tasks recorded with OpenTelemetry's API. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runToEnd } from "../helpers/processes.js";
import { skipOtel } from "./support.js";

const version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

describe.skipIf(skipOtel())("examples/opentelemetry", () => {
  it("prints the pool's exact totals as OpenTelemetry data, after the workers exit", async () => {
    const { code, stdout, stderr } = await runToEnd(["examples/opentelemetry/main.mjs"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    // Label sets come in the order the hub first saw them: compare the lines as a set.
    expect(stdout.split("\n").sort()).toEqual([
      `scope prom-threads ${version}`,
      "example_squared_total{parity=odd} 10",
      "example_squared_total{parity=even} 10",
      // 0..3 squared have 1 digit, 4..9 squared 2, 10..19 squared 3.
      "example_result_size{} count 20 sum 46 buckets 4 6 10 0",
      "",
    ].sort());
  });
});
