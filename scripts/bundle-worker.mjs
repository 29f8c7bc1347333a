// After tsc: bundle the worker entry (`prom-threads/worker`, dist/worker/index.js) into one file, so a new
// thread loads one module instead of thirty-odd. The pool task wrapper
// (dist/worker/pool-task.js) imports only the public entry, so its bundle imports that file instead of
// sharing a chunk with it: one copy of the worker code, one runtime. The other files tsc wrote stay
// (declarations, and modules the tests import one by one), and the runtime is a per-thread singleton
// whatever copy of it a thread loads (src/worker/runtime.ts).
import { mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { rolldown } from "rolldown";

const root = fileURLToPath(new URL("..", import.meta.url));
const worker = path.join(root, "dist", "worker");
const out = mkdtempSync(path.join(tmpdir(), "prom-threads-worker-"));
// The bundle carries its own copy of the public API both entry points export: the wrappers hold no state,
// and the error classes agree on `instanceof` with the main entry's copy (src/shared/api/errors.ts).
// What tsc's entry exports, before the bundle replaces it: the bundle must export exactly that.
const want = Object.keys(await import(pathToFileURL(path.join(worker, "index.js")).href)).sort();
const bundle = await rolldown({
  input: { index: path.join(worker, "index.js"), "pool-task": path.join(worker, "pool-task.js") },
  platform: "node",
  logLevel: "warn",
  // Lets the worker code live in the entry's own file, which the pool task wrapper imports, instead of a
  // chunk both entries load behind a facade (one module more on every thread's path). The check below
  // makes sure no internal name was added to the entry's exports.
  preserveEntrySignatures: "allow-extension",
});
// Whitespace, comments and the names of locals: a new thread parses the bundle before it runs a line of
// it, and again function by function as they are first called, so fewer bytes start it sooner (the TSDoc
// is in the declarations). Shortening local names took about 0.5 ms off importing the entry in a fresh
// thread (docs/benchmarks.md). Code stays as tsc wrote it (no compression), so the recording paths'
// shapes do not change; functions and classes keep their names (`keepNames`), so stack traces and
// `error.name` read as before.
const minify = { compress: false, mangle: { keepNames: true }, codegen: { removeWhitespace: true } };
const { output } = await bundle.write({ dir: out, format: "esm", entryFileNames: "[name].js", chunkFileNames: "worker-[hash].js", sourcemap: false, minify });
await bundle.close();
const files = output.filter((file) => file.type === "chunk").map((file) => file.fileName).sort();
const entry = output.find((file) => file.type === "chunk" && file.fileName === "index.js");
const got = entry?.type === "chunk" ? [...entry.exports].sort() : [];
if (files.join() !== "index.js,pool-task.js" || got.join() !== want.join()) {
  rmSync(out, { recursive: true, force: true });
  throw new Error(`bundle-worker: expected index.js and pool-task.js, index.js exporting ${want.join(", ")}; got ${files.join(", ")}, exporting ${got.join(", ")}`);
}
// Chunks of an earlier bundle, and maps of the two entries (tsc writes them when sourceMap is on), would
// describe files the bundle replaced.
for (const old of readdirSync(worker)) if (/^(worker-[\w-]+\.js(\.map)?|index\.js\.map|pool-task\.js\.map)$/.test(old)) rmSync(path.join(worker, old));
for (const file of readdirSync(out)) renameSync(path.join(out, file), path.join(worker, file));
rmSync(out, { recursive: true, force: true });
