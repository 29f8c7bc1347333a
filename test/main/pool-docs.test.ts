import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url);
const doc = readFileSync(new URL("docs/pool-metrics.md", root), "utf8");
const source = (file: string) => readFileSync(new URL(file, root), "utf8");

describe("docs/pool-metrics.md", () => {
  it("documents every option of hub.attach(pool, options)", () => {
    const body = /export interface PoolAttachOptions \{([\s\S]*?)\n\}/.exec(source("src/main/pool-metrics.ts"))?.[1] ?? "";
    const names = [...body.matchAll(/^ {2}(\w+)\?:/gm)].map((m) => m[1]!);
    expect(names).toEqual(["name", "wrapTasks", "threadMetricsIntervalMs"]);
    expect(names.filter((name) => !doc.includes(`| \`${name}\` |`))).toEqual([]);
  });

  it("documents every pool and thread metric", () => {
    const files = ["src/main/pool-metrics.ts", "src/shared/transport/pool-task.ts", "src/worker/thread-metrics.ts"];
    const names = new Set(files.flatMap((file) => [...source(file).matchAll(/"(prom_threads_(?:pool|thread)_\w+)"/g)].map((m) => m[1]!)));
    expect(names.size).toBe(10);
    expect([...names].filter((name) => !doc.includes(`| \`${name}{`))).toEqual([]);
  });
});
