/**
 * file_sd target files: atomic writes under concurrent writers and a concurrent reader, removal on close
 * and on a normal exit, and the cleanup of files that killed instances left behind.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ErrorCodes, MetricsHub, startHttpServer, writeFileSdTarget } from "../../../src/main/index.js";
import { defaultFileSdName } from "../../../src/main/discovery/file-sd.js";
import { freePort, get } from "../../helpers/http.js";
import { Registry } from "prom-client";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "prom-threads-file-sd-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const dist = new URL("../../../dist/main/index.js", import.meta.url).href;

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

describe("writeFileSdTarget", () => {
  it("writes one file_sd group, rewrites it on update and removes it", async () => {
    const entry = await writeFileSdTarget({ directory: dir, target: "127.0.0.1:9464", labels: { service: "api" } });
    expect(entry.file).toBe(join(dir, `${defaultFileSdName(9464)}.json`));
    expect(JSON.parse(readFileSync(entry.file, "utf8"))).toEqual([{ targets: ["127.0.0.1:9464"], labels: { service: "api" } }]);
    await entry.update({ service: "api", zone: "b" });
    expect(JSON.parse(readFileSync(entry.file, "utf8"))).toEqual([{ targets: ["127.0.0.1:9464"], labels: { service: "api", zone: "b" } }]);
    await entry.remove();
    await entry.remove();
    expect(readdirSync(dir)).toEqual([]);
    await expect(entry.update({})).rejects.toThrow(/was removed/);
  });

  it("never lets a reader see a partial file while many writers rewrite theirs", async () => {
    const writers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => writeFileSdTarget({ directory: dir, target: `127.0.0.1:${9000 + i}`, name: `w${i}`, labels: { round: "0", padding: "x".repeat(4000) } })),
    );
    let reads = 0;
    let stop = false;
    const bad: string[] = [];
    const reader = (async () => {
      while (!stop) {
        for (const file of await readdir(dir)) {
          if (!file.endsWith(".json")) continue;
          const text = await readFile(join(dir, file), "utf8");
          try {
            const groups = JSON.parse(text) as Array<{ targets: string[]; labels: Record<string, string> }>;
            if (groups.length !== 1 || groups[0]!.labels.padding?.length !== 4000) bad.push(text.slice(0, 80));
          } catch {
            bad.push(text.slice(0, 80));
          }
          reads++;
        }
      }
    })();
    for (let round = 1; round <= 40; round++) {
      // Large enough that a non-atomic write would be seen half done.
      await Promise.all(writers.map((w) => w.update({ round: String(round), padding: "x".repeat(4000) })));
    }
    stop = true;
    await reader;
    expect(bad).toEqual([]);
    expect(reads).toBeGreaterThan(40);
    // Temporary files never match *.json and none are left.
    expect(readdirSync(dir).sort()).toEqual(writers.map((_, i) => `w${i}.json`).sort());
    for (const w of writers) await w.remove();
  });

  it("removes files that killed instances on this host left, and keeps live and foreign ones", async () => {
    const dead = await deadPid();
    const prefix = defaultFileSdName(1).slice(0, -`-${process.pid}-1`.length);
    const stale = `${prefix}-${dead}-9100.json`;
    const staleTemp = `.${prefix}-${dead}-9100.json.0123abcd.tmp`;
    const live = `${prefix}-${process.ppid}-9101.json`;
    const foreign = `prom-threads-otherhost-${dead}-9102.json`;
    const mine = "by-hand.json";
    for (const file of [stale, staleTemp, live, foreign, mine]) writeFileSync(join(dir, file), "[]");
    const entry = await writeFileSdTarget({ directory: dir, target: "127.0.0.1:9103" });
    expect(readdirSync(dir).sort()).toEqual([live, foreign, mine, `${defaultFileSdName(9103)}.json`].sort());
    await entry.remove();
  });

  it("is removed when the process exits normally, and stays when it is killed", async () => {
    const script = (port: number, then: string) =>
      `import { writeFileSdTarget } from ${JSON.stringify(dist)};
       await writeFileSdTarget({ directory: ${JSON.stringify(dir)}, target: "127.0.0.1:${port}" });
       ${then}`;
    await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script(9200, "process.exitCode = 0;")], { timeout: 20_000 });
    expect(readdirSync(dir)).toEqual([]);
    const child = spawn(process.execPath, ["--input-type=module", "-e", script(9201, "console.log('written'); setInterval(() => {}, 1000);")], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise((resolve) => child.stdout.once("data", resolve));
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it("never removes the live file of another instance given the same name, and refuses a second one in this process", async () => {
    const mine = await writeFileSdTarget({ directory: dir, target: "127.0.0.1:9300", name: "shared" });
    await expect(writeFileSdTarget({ directory: dir, target: "127.0.0.1:9301", name: "shared" })).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION });
    // Another process takes the same name over (a configuration mistake) and keeps running.
    const script = `import { writeFileSdTarget } from ${JSON.stringify(dist)};
      await writeFileSdTarget({ directory: ${JSON.stringify(dir)}, target: "127.0.0.1:9302", name: "shared" });
      console.log("written"); setInterval(() => {}, 1000);`;
    const other = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise((resolve) => other.stdout.once("data", resolve));
      const theirs = readFileSync(mine.file, "utf8");
      expect(theirs).toContain("127.0.0.1:9302");
      await expect(mine.update({ zone: "a" })).rejects.toMatchObject({ code: ErrorCodes.DISCOVERY_FAILED });
      await mine.remove();
      // Closing ours left theirs in place.
      expect(readFileSync(mine.file, "utf8")).toBe(theirs);
    } finally {
      other.kill("SIGKILL");
      await new Promise((resolve) => other.once("exit", resolve));
    }
    // The name is free again in this process.
    const again = await writeFileSdTarget({ directory: dir, target: "127.0.0.1:9303", name: "shared" });
    await again.remove();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("keeps any number of targets with one exit listener (no MaxListenersExceededWarning)", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on("warning", onWarning);
    const listeners = process.listenerCount("exit");
    try {
      const entries = await Promise.all(Array.from({ length: 24 }, (_, i) => writeFileSdTarget({ directory: dir, target: `127.0.0.1:${9400 + i}`, name: `many${i}` })));
      expect(process.listenerCount("exit") - listeners).toBe(1);
      await Promise.all(entries.map((entry) => entry.remove()));
      expect(process.listenerCount("exit")).toBe(listeners);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((name) => name === "MaxListenersExceededWarning")).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("validates its options and reports a directory it cannot use", async () => {
    await expect(writeFileSdTarget({ directory: dir, target: "no-port" })).rejects.toThrow(/options.target/);
    await expect(writeFileSdTarget({ directory: dir, target: "h:1", labels: { __x: "y" } })).rejects.toThrow(/options.labels.__x/);
    await expect(writeFileSdTarget({ directory: dir, target: "h:1", name: "../escape" })).rejects.toThrow(/options.name/);
    await expect(writeFileSdTarget({ directory: join(dir, "missing"), target: "h:1" })).rejects.toMatchObject({ code: ErrorCodes.DISCOVERY_FAILED });
  });
});

describe("startHttpServer({ fileSd })", () => {
  it("lists the server while it listens and removes it on close", async () => {
    const hub = new MetricsHub({ registry: new Registry() });
    const server = await startHttpServer({ hub, port: 0, fileSd: { directory: dir, labels: { service: "api" } } });
    try {
      const [file] = readdirSync(dir);
      expect(JSON.parse(readFileSync(join(dir, file!), "utf8"))).toEqual([{ targets: [`127.0.0.1:${server.port}`], labels: { service: "api" } }]);
      expect((await get(server.url)).status).toBe(200);
    } finally {
      await server.close();
      await hub.close();
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it("fails to start, and frees its port, when the directory cannot be written", async () => {
    const missing = join(dir, "missing");
    const port = await freePort();
    await expect(startHttpServer({ registry: new Registry(), port, fileSd: { directory: missing } })).rejects.toMatchObject({ code: ErrorCodes.DISCOVERY_FAILED });
    await expect(startHttpServer({ registry: new Registry(), port: 0, fileSd: { directory: "" } })).rejects.toThrow(/options.fileSd.directory/);
    expect(existsSync(missing)).toBe(false);
    const again = await startHttpServer({ registry: new Registry(), port }); // the port was released
    await again.close();
  });
});
