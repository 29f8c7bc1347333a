/**
 * The status page in a real browser (Debian's chromium): the charts draw from live data while a real
 * piscina pool works, nothing is requested from anywhere else, no script error or CSP violation, the page
 * reads at phone width and in dark mode, and works without JavaScript. With PROM_THREADS_SCREENSHOTS=1 it
 * also refreshes the screenshots in docs/ that the README shows.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, skipWithoutChromium } from "../../helpers/browser.js";
import { startDemoHub, type DemoHub } from "../../helpers/demo-hub.js";
import { skipWithout } from "../../helpers/exposition-checkers.js";
import { get } from "../../helpers/http.js";
import { waitFor } from "../../helpers/workers.js";

// The page callbacks below run in the browser; the test project has no DOM library, so declare the names
// they use.
declare const document: { body: { dataset: Record<string, string | undefined> }; documentElement: { scrollWidth: number } };
declare function getComputedStyle(element: unknown): { backgroundColor: string };

const SCREENSHOTS = process.env.PROM_THREADS_SCREENSHOTS === "1";

interface Watch {
  requests: string[];
  problems: string[];
}

function watch(page: Page): Watch {
  const seen: Watch = { requests: [], problems: [] };
  page.on("request", (request) => seen.requests.push(request.url()));
  page.on("pageerror", (error) => seen.problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") seen.problems.push(`console ${message.type()}: ${message.text()}`);
  });
  return seen;
}

const chartOf = (page: Page, id: string) =>
  page.$eval(`[data-chart="${id}"]`, (figure) => ({
    points: Number(figure.getAttribute("data-points")),
    max: Number(figure.getAttribute("data-max")),
    lines: [...figure.querySelectorAll("polyline")].map((line) => line.getAttribute("points") ?? ""),
  }));

describe.skipIf(skipWithoutChromium("the status page browser test"))("the status page in chromium", () => {
  let demo: DemoHub;

  beforeAll(async () => {
    demo = await startDemoHub();
    await waitFor(() => demo.settled() > 50, 20_000);
  });
  afterAll(async () => {
    await demo?.stop();
  });

  it("draws its charts from live data while the pool works, requesting nothing from elsewhere", async () => {
    const browser = await launchChromium({ viewport: { width: 1280, height: 900 }, colorScheme: "light" });
    try {
      const page = await browser.context.newPage();
      const seen = watch(page);
      await page.goto(`${demo.origin}/`);
      // Server-rendered first paint: the numbers are there before any script ran.
      expect(await page.textContent("#workers")).toBe("2 of 16");
      await page.waitForFunction(() => Number(document.body.dataset.polls ?? 0) >= 3, undefined, { timeout: 20_000 });

      const drained = await chartOf(page, "drained");
      expect(drained.points).toBeGreaterThanOrEqual(3);
      expect(drained.max).toBeGreaterThan(0);
      const tasks = await chartOf(page, "tasks-jobs");
      expect(tasks.lines.length).toBe(3); // completed, failed, aborted
      expect(tasks.max).toBeGreaterThan(0);
      const dropped = await chartOf(page, "dropped");
      expect(dropped.lines.map((l) => l.length > 0)).toContain(true);
      expect(await page.$eval('[data-chart="dropped"] polyline', (l) => l.getAttribute("data-series"))).toBe("declaration_conflict");

      // Live: the next polls move the lines and the totals as the pool keeps working.
      const before = { tasks: await page.textContent("#pool-jobs-tasks"), drained: await page.textContent("#drained") };
      const polls = Number(await page.getAttribute("body", "data-polls"));
      await page.waitForFunction((n) => Number(document.body.dataset.polls) >= n + 2, polls, { timeout: 20_000 });
      expect(await page.textContent("#pool-jobs-tasks")).not.toBe(before.tasks);
      expect(await page.textContent("#drained")).not.toBe(before.drained);
      expect((await chartOf(page, "drained")).lines).not.toEqual(drained.lines);

      // Ring fill bars, one per slot, two in use; a row per worker thread with its event loop utilization.
      expect(await page.$$eval('[data-chart="slots"] rect', (rects) => rects.length)).toBe(16);
      expect(await page.getAttribute('[data-chart="slots"]', "data-used")).toBe("2");
      const threads = await page.$$eval("table.threads tbody tr", (rows) => rows.map((row) => row.textContent ?? ""));
      expect(threads).toHaveLength(2);
      for (const row of threads) expect(row).toMatch(/jobs\d+\d+\.\d %\d+\.\d MiB/);
      const quantiles = await page.$$eval("table.quantiles tbody tr", (rows) => rows.map((row) => row.textContent ?? ""));
      expect(quantiles[0]).toMatch(/^Wait/);
      expect(quantiles[1]).toMatch(/^Run(\d+(\.\d+)? (µs|ms|s)){3}/);

      expect(seen.problems).toEqual([]);
      const foreign = seen.requests.filter((url) => !url.startsWith(`${demo.origin}/`));
      expect(foreign).toEqual([]);
      expect(seen.requests.filter((url) => url.endsWith("/status")).length).toBeGreaterThanOrEqual(5);
      // For the README: half a minute of history makes a chart worth looking at.
      if (SCREENSHOTS) await page.waitForFunction((n) => Number(document.body.dataset.polls) >= n + 15, polls, { timeout: 60_000 });
      if (SCREENSHOTS) writeFileSync(new URL("../../../docs/status-page.png", import.meta.url), await page.screenshot({ fullPage: true }));
    } finally {
      await browser.close();
    }
  });

  it("reads at phone width in dark mode without sideways scrolling", async () => {
    const browser = await launchChromium({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, colorScheme: "dark" });
    try {
      const page = await browser.context.newPage();
      const seen = watch(page);
      await page.goto(`${demo.origin}/`);
      await page.waitForFunction(() => Number(document.body.dataset.polls ?? 0) >= 4, undefined, { timeout: 20_000 });
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      // Dark mode: the page's background follows prefers-color-scheme.
      const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const [r = 255, g = 255, b = 255] = (background.match(/\d+/g) ?? []).map(Number);
      expect(r + g + b).toBeLessThan(150);
      expect(seen.problems).toEqual([]);
      if (SCREENSHOTS) await page.waitForFunction(() => Number(document.body.dataset.polls) >= 12, undefined, { timeout: 60_000 });
      if (SCREENSHOTS) writeFileSync(new URL("../../../docs/status-page-phone.png", import.meta.url), await page.screenshot());
    } finally {
      await browser.close();
    }
  });

  it("shows the numbers without JavaScript, and says the rate charts need it", async () => {
    const browser = await launchChromium({ viewport: { width: 1024, height: 768 }, javaScriptEnabled: false });
    try {
      const page = await browser.context.newPage();
      await page.goto(`${demo.origin}/`);
      expect(await page.textContent("#state")).toBe("running");
      expect(Number((await page.textContent("#pool-jobs-threads")) ?? "")).toBe(2);
      expect(await page.$$eval('[data-chart="slots"] rect', (rects) => rects.length)).toBe(16);
      expect(await page.isVisible(".wait")).toBe(true);
      expect(await page.$$eval("table.threads tbody tr", (rows) => rows.length)).toBe(2);
    } finally {
      await browser.close();
    }
  });
});

/** A self-signed certificate for 127.0.0.1, made with openssl for this run only. */
function selfSigned(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), "prom-threads-status-tls-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { cwd: dir, stdio: "ignore", timeout: 30_000 });
    return { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(skipWithoutChromium("the status page browser test over HTTPS with basic auth") || skipWithout(["openssl"], "the status page over HTTPS"))("the status page over HTTPS with basic auth", () => {
  let demo: DemoHub;

  beforeAll(async () => {
    demo = await startDemoHub({ inFlight: 2, server: { tls: selfSigned(), auth: { username: "ops", password: "s3cret-enough" } } });
    await waitFor(() => demo.settled() > 20, 20_000);
  });
  afterAll(async () => {
    await demo?.stop();
  });

  it("polls live with the page's credentials, and shows nothing without them", async () => {
    expect(demo.origin).toMatch(/^https:/);
    const allowed = await launchChromium({ ignoreHTTPSErrors: true, httpCredentials: { username: "ops", password: "s3cret-enough" } });
    try {
      const page = await allowed.context.newPage();
      const seen = watch(page);
      await page.goto(`${demo.origin}/`);
      await page.waitForFunction(() => Number(document.body.dataset.polls ?? 0) >= 2, undefined, { timeout: 20_000 });
      expect((await chartOf(page, "tasks-jobs")).max).toBeGreaterThan(0);
      expect(seen.problems).toEqual([]);
    } finally {
      await allowed.close();
    }
    for (const path of ["/", "/status"]) expect((await get(`${demo.origin}${path}`, { tls: { rejectUnauthorized: false } })).status, path).toBe(401);
  });
});
