/**
 * Debian's chromium driven by playwright-core (which cannot download a browser of its own here). Tests
 * skip with a message when the binary or the package is missing.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, BrowserContextOptions } from "playwright-core";

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM = process.env.PROM_THREADS_CHROMIUM ?? "/usr/bin/chromium";

const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

/** Return true (and warn) when the browser or playwright-core is missing: use with `describe.skipIf`. */
export function skipWithoutChromium(purpose: string): boolean {
  if (!existsSync(CHROMIUM)) {
    console.warn(`skipping ${purpose}: ${CHROMIUM} not found; install it with \`apt-get install chromium\``);
    return true;
  }
  try {
    createRequire(import.meta.url).resolve("playwright-core");
  } catch {
    console.warn(`skipping ${purpose}: playwright-core is not installed (npm ci installs it)`);
    return true;
  }
  return false;
}

/** A headless chromium with a fresh profile; `close()` removes the profile. */
export async function launchChromium(options: BrowserContextOptions = {}): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "prom-threads-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30_000, ...options });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
