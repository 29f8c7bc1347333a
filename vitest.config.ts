import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Worker-thread tests are CPU-heavy on 2-core machines: run files one at a time.
    fileParallelism: false,
  },
});
