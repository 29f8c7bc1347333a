/**
 * Prometheus file-based service discovery (`file_sd_configs`): each instance keeps one JSON file of its
 * own in a directory that Prometheus globs (`files: ["<dir>/*.json"]`).
 *
 * One file per instance rather than one shared file: instances on one host (or on many, sharing a
 * volume) never write the same file, so no lock is needed and no update is lost; an instance that dies
 * leaves only its own entry behind. Each write goes to a temporary file (named so the glob does not match
 * it) that is synced and then renamed over the real one, so Prometheus never reads a half-written file.
 *
 * An instance removes (or rewrites) its file only while the file is still the one it wrote (same inode):
 * another instance given the same name by mistake, in another process, is never deleted by this one's
 * close. Within one process, a second target of the same name is refused.
 * @module
 */
import { randomBytes } from "node:crypto";
import { readlinkSync, statSync, unlinkSync } from "node:fs";
import { open, readdir, rename, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { ConfigurationError, ErrorCodes, OperationError } from "../../shared/api/errors.js";
import { invalid, optionsObject } from "../validate-options.js";
import { validateLabels, validateTarget } from "./targets.js";

/** Options of {@link writeFileSdTarget}. */
export interface FileSdTargetOptions {
  /** The directory Prometheus reads with `file_sd_configs: [{ files: ["<directory>/*.json"] }]`. It must exist. */
  directory: string;
  /** The target as Prometheus should scrape it: `host:port`. */
  target: string;
  /**
   * Labels Prometheus attaches to the target (e.g. `{ service: "api" }`); names starting with `__meta_`
   * are available to relabeling only.
   * @default {}
   */
  labels?: Record<string, string>;
  /**
   * The file's name, without `.json`. The default names the host (and, on Linux, its process id
   * namespace), the process and the port, which is what lets a later instance on this host remove the
   * file of one that was killed.
   * @default `prom-threads-<host>-<pid>-<port>`
   */
  name?: string;
}

/** A target file that this process keeps. */
export interface FileSdTarget {
  /** The file's path. */
  readonly file: string;
  /** Rewrite the file with new labels (atomically). */
  update(labels: Record<string, string>): Promise<void>;
  /** Remove the file; Prometheus drops the target. Idempotent. */
  remove(): Promise<void>;
}

const kPrefix = "prom-threads-";

/** Which file this process wrote last at a path: its device and inode, which a rename keeps. */
interface Owned {
  dev: number;
  ino: number;
}

/**
 * The target files this process keeps, by path. One `exit` listener serves them all, so any number of
 * targets adds no listener (and no MaxListenersExceededWarning).
 */
const kept = new Map<string, Owned>();

function removeKeptOnExit(): void {
  for (const [file, owned] of kept) {
    try {
      if (isOurs(statSync(file), owned)) unlinkSync(file);
    } catch {
      // Already gone.
    }
  }
}

function isOurs(found: { dev: number; ino: number }, owned: Owned): boolean {
  return found.dev === owned.dev && found.ino === owned.ino;
}

/**
 * What tells hosts apart in default file names: the host name and, on Linux, the process id namespace,
 * so that containers sharing a host name and a volume never take each other's processes for dead.
 */
function hostKey(): string {
  let namespace = "";
  try {
    namespace = /\[(\d+)\]/.exec(readlinkSync("/proc/self/ns/pid"))?.[1] ?? "";
  } catch {
    // Not Linux: the host name alone.
  }
  return `${hostname().replace(/[^a-zA-Z0-9.]/g, "_")}${namespace === "" ? "" : `_${namespace}`}`;
}

/** The default file name of a target served by this process on `port`. */
export function defaultFileSdName(port: number): string {
  return `${kPrefix}${hostKey()}-${process.pid}-${port}`;
}

/**
 * Write a `file_sd` target file for this instance and keep it until {@link FileSdTarget.remove} (or the
 * process exits normally). Also removes files that earlier instances on this host left behind when they
 * were killed (default names only, for processes that no longer exist). Rejects with a ConfigurationError
 * for invalid options (a `name` another target of this process keeps, too) and
 * `ERR_PROM_THREADS_DISCOVERY_FAILED` when the file cannot be written.
 *
 * @example
 * const entry = await writeFileSdTarget({ directory: "/etc/prometheus/targets", target: "10.0.0.7:9464", labels: { service: "api" } });
 * // on shutdown:
 * await entry.remove();
 */
export async function writeFileSdTarget(options: FileSdTargetOptions): Promise<FileSdTarget> {
  optionsObject(options, true);
  const { directory } = options;
  if (typeof directory !== "string" || directory === "") invalid("directory", "a directory path", directory);
  const target = validateTarget("target", options.target);
  let labels = validateLabels("labels", options.labels ?? {});
  const name = options.name ?? defaultFileSdName(Number(target.slice(target.lastIndexOf(":") + 1)));
  if (typeof name !== "string" || !/^[a-zA-Z0-9._-]+$/.test(name) || name.startsWith(".")) invalid("name", "a file name of letters, digits, '.', '_' and '-' (not starting with '.')", name);
  const file = join(directory, `${name}.json`);
  // Two targets of this process with one file would remove each other's entry: refuse the second.
  if (kept.has(file)) invalid("name", `a name no other file_sd target of this process uses (${file} is kept already)`, name);
  await removeStale(directory);
  let owned = await writeAtomically(directory, file, target, labels);
  let removed = false;
  // A normal exit (process.exit(), an empty event loop) removes the file too; a kill cannot.
  if (kept.size === 0) process.once("exit", removeKeptOnExit);
  kept.set(file, owned);
  const release = (): void => {
    kept.delete(file);
    if (kept.size === 0) process.off("exit", removeKeptOnExit);
  };
  return {
    file,
    async update(next) {
      if (removed) throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `prom-threads: the file_sd target ${file} was removed`);
      const current = await stat(file).catch(() => undefined);
      if (current !== undefined && !isOurs(current, owned)) {
        throw new OperationError(ErrorCodes.DISCOVERY_FAILED, `prom-threads: the file_sd target file ${file} was replaced by another instance with the same name; not overwriting it`);
      }
      labels = validateLabels("labels", next);
      owned = await writeAtomically(directory, file, target, labels);
      kept.set(file, owned);
    },
    async remove() {
      if (removed) return;
      removed = true;
      release();
      try {
        // Another instance given the same name may have replaced the file since: then it is its, not ours.
        if (!isOurs(await stat(file), owned)) return;
        await unlink(file);
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === "ENOENT") return;
        throw new OperationError(ErrorCodes.DISCOVERY_FAILED, `prom-threads: cannot remove the file_sd target file ${file}: ${(cause as Error).message}`, { cause });
      }
    },
  };
}

/** Write the file through a temporary one renamed over it; resolves with the identity of what was written. */
async function writeAtomically(directory: string, file: string, target: string, labels: Record<string, string>): Promise<Owned> {
  // Ends in .tmp, so a `*.json` glob never matches it; random, so two writers never share it.
  const temporary = join(directory, `.${file.slice(directory.length + 1)}.${randomBytes(6).toString("hex")}.tmp`);
  const body = `${JSON.stringify([{ targets: [target], labels }], null, 2)}\n`;
  try {
    const handle = await open(temporary, "w", 0o644);
    let owned: Owned;
    try {
      await handle.writeFile(body, "utf8");
      await handle.sync();
      // The rename keeps the inode: this is how remove() later tells our file from another instance's.
      const { dev, ino } = await handle.stat();
      owned = { dev, ino };
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
    return owned;
  } catch (cause) {
    await unlink(temporary).catch(() => {});
    throw new OperationError(ErrorCodes.DISCOVERY_FAILED, `prom-threads: cannot write the file_sd target file ${file}: ${(cause as Error).message}`, { cause });
  }
}

/** Remove default-named files (and temporary files) of processes on this host that no longer exist. */
async function removeStale(directory: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(directory);
  } catch (cause) {
    throw new OperationError(ErrorCodes.DISCOVERY_FAILED, `prom-threads: cannot read the file_sd directory ${directory}: ${(cause as Error).message}`, { cause });
  }
  const mine = `${kPrefix}${hostKey()}`;
  const pattern = new RegExp(`^\\.?${escapeRegExp(mine)}-(\\d+)-\\d+\\.json(?:\\.[0-9a-f]+\\.tmp)?$`);
  for (const entry of entries) {
    const pid = Number(pattern.exec(entry)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    await unlink(join(directory, entry)).catch(() => {});
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
