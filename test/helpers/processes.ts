/** Run the demo, the load test and the examples as child processes: bounded in time, loopback only. */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";

/** Root folder of the repository. */
export const ROOT = new URL("../../", import.meta.url).pathname;

/** A child process whose output is collected as it comes. */
export class Child {
  readonly process: ChildProcess;
  stdout = "";
  stderr = "";
  readonly #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** Start `node <args>` (or `command` with `args`) in the repository root. */
  constructor(args: string[], options: { env?: Record<string, string>; command?: string } = {}) {
    this.process = spawn(options.command ?? process.execPath, args, { cwd: ROOT, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
    this.process.stdout!.setEncoding("utf8").on("data", (chunk: string) => (this.stdout += chunk));
    this.process.stderr!.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    this.#exit = once(this.process, "close").then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  }

  /** Resolve with the first match of `pattern` in stdout; reject after `timeoutMs` or if the process ends first. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.stdout);
      if (match !== null) return match;
      if (this.process.exitCode !== null || this.process.signalCode !== null) throw new Error(`exited before printing ${pattern}:\n${this.stdout}\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Resolve with the exit code and signal; SIGKILL it (and reject) after `timeoutMs`. */
  async exited(timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.process.kill("SIGKILL");
        reject(new Error(`still running after ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.#exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Send `signal` and wait for the exit. */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill(signal);
    return this.exited(timeoutMs);
  }
}

/** Run to the end and return the exit code and output. */
export async function runToEnd(args: string[], options: { env?: Record<string, string>; command?: string; timeoutMs?: number } = {}) {
  const child = new Child(args, options);
  const { code, signal } = await child.exited(options.timeoutMs ?? 60_000);
  return { code, signal, stdout: child.stdout, stderr: child.stderr };
}
