import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ErrorCodes } from "../../../src/shared/api/errors.js";

const root = new URL("../../../", import.meta.url);
const doc = readFileSync(new URL("docs/serving.md", root), "utf8");

/** Option names declared in an interface of a source file (`  name?: type;` lines inside it). */
function optionNames(file: string, iface: string): string[] {
  const source = readFileSync(new URL(file, root), "utf8");
  const body = new RegExp(`export interface ${iface}[^{]*\\{([\\s\\S]*?)\\n\\}`).exec(source)?.[1] ?? "";
  return [...body.matchAll(/^ {2}(\w+)\?:/gm)].map((m) => m[1] as string);
}

describe("docs/serving.md", () => {
  it("documents every serving error code", () => {
    const codes = [ErrorCodes.INVALID_OPTION, ErrorCodes.LISTEN_FAILED, ErrorCodes.COLLECT_FAILED, ErrorCodes.MISSING_PEER_DEPENDENCY];
    expect(codes.filter((code) => !doc.includes(code))).toEqual([]);
  });

  it("documents every option of startHttpServer, metricsHandler and the fastify plugin", () => {
    const names = [
      ...optionNames("src/main/serve/options.ts", "MetricsHandlerOptions"),
      ...optionNames("src/main/serve/options.ts", "StartHttpServerOptions"),
      ...optionNames("src/main/serve/limits.ts", "ServerLimits"),
      ...optionNames("src/fastify/index.ts", "PromThreadsFastifyOptions"),
    ];
    expect(names.length).toBeGreaterThanOrEqual(14);
    expect(names.filter((name) => !doc.includes(`| \`${name}\` |`) && !doc.includes(`\`${name}\` (default`))).toEqual([]);
  });
});
