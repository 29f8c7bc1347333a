/** docs/scaling.md and its worked example: the example runs and prints what the page says it prints. */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ErrorCodes } from "../src/shared/api/errors.js";

const root = new URL("../", import.meta.url);
const doc = readFileSync(new URL("docs/scaling.md", root), "utf8");

/** Option names declared in an interface of a source file (`  name?: type;` or `  name: type;` lines). */
function optionNames(file: string, iface: string): string[] {
  const source = readFileSync(new URL(file, root), "utf8");
  const body = new RegExp(`export interface ${iface}[^{]*\\{([\\s\\S]*?)\\n\\}`).exec(source)?.[1] ?? "";
  return [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1] as string);
}

describe("docs/scaling.md", () => {
  it("documents the error codes of the cluster, Pushgateway and discovery APIs", () => {
    const codes = [
      ErrorCodes.CLUSTER_ROLE,
      ErrorCodes.CLUSTER_PUSH_FAILED,
      ErrorCodes.MALFORMED_CLUSTER_MESSAGE,
      ErrorCodes.GATEWAY_FAILED,
      ErrorCodes.DISCOVERY_FAILED,
      ErrorCodes.DECLARATION_CONFLICT,
    ];
    expect(codes.filter((code) => !doc.includes(`| \`${code}\` |`))).toEqual([]);
  });

  it("documents every option of ClusterPublisher, ClusterAggregator and pushToGateway in a table", () => {
    const names = [
      ...optionNames("src/main/cluster/publisher.ts", "ClusterPublisherOptions"),
      ...optionNames("src/main/cluster/aggregator.ts", "ClusterAggregatorOptions"),
      ...optionNames("src/main/pushgateway.ts", "PushToGatewayOptions"),
    ];
    expect(names.length).toBeGreaterThanOrEqual(15);
    expect(names.filter((name) => !doc.includes(`| \`${name}\` |`))).toEqual([]);
  });

  it("runs the worked example (examples/scaling/cluster.mjs --once) as the page describes", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["examples/scaling/cluster.mjs", "--once"], {
      cwd: root.pathname,
      env: { ...process.env, PORT: "0", WORKERS: "2" },
      timeout: 30_000,
    });
    expect(stdout).toContain('jobs_total{parity="even"} 100');
    expect(stdout).toContain('jobs_total{parity="odd"} 100');
    expect(stdout).toContain("job_seconds_count 200");
    // 400 job records, plus what attached pools record about themselves (task timings, thread samples).
    const drained = Number(/^prom_threads_records_drained_total (\d+)$/m.exec(stdout)?.[1]);
    expect(drained).toBeGreaterThanOrEqual(400);
    const sd = JSON.parse(/^http_sd: (.*)$/m.exec(stdout)?.[1] ?? "null") as Array<{ targets: string[]; labels: Record<string, string> }>;
    expect(sd.map((g) => g.labels.worker).sort()).toEqual(["1", "2"]);
    expect(new Set(sd.map((g) => g.targets[0])).size).toBe(2);
  });
});
