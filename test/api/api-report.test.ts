/**
 * The API report: the public declarations of `.`, `./worker` and `./fastify`, as built, must equal the
 * checked-in api/prom-threads.api.txt. A change to the public surface fails here with the diff; when the
 * change is meant, `npm run api:update` rewrites the report and the diff goes into the commit.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("the public API", () => {
  it("matches the checked-in report (npm run api:update after a deliberate change)", () => {
    const built = execFileSync(process.execPath, [join(root, "scripts", "api-report.mjs")], { cwd: root, encoding: "utf8", timeout: 60_000 });
    const checkedIn = readFileSync(join(root, "api", "prom-threads.api.txt"), "utf8");
    expect(built, "the public declarations changed: review the diff, then run `npm run api:update` and commit it").toBe(checkedIn);
  });

  it("names none of the hub's internals", () => {
    const report = readFileSync(join(root, "api", "prom-threads.api.txt"), "utf8");
    for (const name of ["resolveMetric", "reportMalformed", "reportQuarantined", "statusSources", "SlotDrain", "SlotContext", "metricLimitRefusals"]) {
      expect(report, name).not.toContain(name);
    }
    // The hub's parts are not reachable from an entry point.
    expect(report).not.toMatch(/^\/\/ ---- dist\/main\/hub\//m);
  });

  it("type-checks for a consumer that checks declaration files (skipLibCheck: false)", () => {
    const dir = mkdtempSync(join(tmpdir(), "prom-threads-api-"));
    try {
      const dist = join(root, "dist");
      writeFileSync(
        join(dir, "consumer.ts"),
        ["main/index.js", "worker/index.js", "fastify/index.js"].map((entry, i) => `import * as e${i} from ${JSON.stringify(join(dist, entry))};\nexport const x${i} = e${i};\n`).join(""),
      );
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: { strict: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", lib: ["ES2024"], skipLibCheck: false, noEmit: true, types: ["node"], typeRoots: [join(root, "node_modules", "@types")] },
          files: ["consumer.ts"],
        }),
      );
      let output = "";
      try {
        execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(dir, "tsconfig.json")], { encoding: "utf8", timeout: 120_000 });
      } catch (error) {
        output = String((error as { stdout?: string }).stdout ?? error);
      }
      expect(output).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
