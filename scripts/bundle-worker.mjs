// After tsc: bundle the worker entry (`prom-threads/worker`, dist/worker/index.js) and the pool task
// wrapper (dist/worker/pool-task.js) into a handful of files, so a new thread loads three modules instead
// of thirty-odd. The two entries share one chunk, so they share one runtime; the other files tsc wrote stay
// (declarations, and modules the tests import one by one), and the runtime is a per-thread singleton
// whatever copy of it a thread loads (src/worker/runtime.ts).
import { mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { rolldown } from "rolldown";

const root = fileURLToPath(new URL("..", import.meta.url));
const worker = path.join(root, "dist", "worker");
const out = mkdtempSync(path.join(tmpdir(), "prom-threads-worker-"));
const shared = path.join(root, "dist", "shared");
// The public API both entry points export (the error classes, the wrappers) stays the one module tsc
// wrote, so `instanceof` agrees whichever entry point a class came from.
const publicApi = new Set(["errors.js", "public.js", "wrappers.js"].map((file) => path.join(shared, "api", file)));
const bundle = await rolldown({
  input: { index: path.join(worker, "index.js"), "pool-task": path.join(worker, "pool-task.js") },
  platform: "node",
  logLevel: "warn",
  external: (id, importer) => importer !== undefined && publicApi.has(path.resolve(path.dirname(importer), id)),
});
// Whitespace and comments only: a new thread parses the bundle before it runs a line of it, and again
// function by function as they are first called, so fewer bytes start it sooner (the TSDoc is in the
// declarations). Names and code stay as tsc wrote them, so stack traces and the recording paths' shapes
// do not change.
const minify = { compress: false, mangle: false, codegen: { removeWhitespace: true } };
await bundle.write({ dir: out, format: "esm", entryFileNames: "[name].js", chunkFileNames: "worker-[hash].js", sourcemap: false, minify });
await bundle.close();
// Chunks of an earlier bundle, and maps of the two entries (tsc writes them when sourceMap is on), would
// describe files the bundle replaced.
for (const old of readdirSync(worker)) if (/^(worker-[\w-]+\.js(\.map)?|index\.js\.map|pool-task\.js\.map)$/.test(old)) rmSync(path.join(worker, old));
for (const file of readdirSync(out)) renameSync(path.join(out, file), path.join(worker, file));
rmSync(out, { recursive: true, force: true });
