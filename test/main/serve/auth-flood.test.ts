/**
 * A flood of wrong passwords against a bcrypt-protected server must not starve the real scraper nor the
 * event loop: bcrypt runs on its own thread, concurrent checks are bounded, each peer's failures are
 * budgeted, and verified credentials pass at once. Unit tests of the budget use an injected clock.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import bcrypt from "bcryptjs";
import { Gauge, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { startHttpServer, type MetricsServer } from "../../../src/main/index.js";
import { AuthFailureGuard, kMaxTrackedPeers } from "../../../src/main/serve/auth-guard.js";
import { BasicAuth, resolveAuth, kVerifiedTtlMs } from "../../../src/main/serve/auth.js";
import { get, sleep } from "../../helpers/http.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

describe("a bcrypt flood", () => {
  it("keeps answering the real scraper within a bound while 32 connections send wrong passwords", async () => {
    // Cost 10: about 100 ms per check here, the cost that made the original attack hurt.
    const hash = bcrypt.hashSync("s3cret", 10);
    const registry = new Registry();
    new Gauge({ name: "app_up", help: "Up.", registers: [registry] }).set(1);
    const server: MetricsServer = await startHttpServer({ port: 0, registry, auth: { username: "prometheus", password: hash } });
    cleanups.push(() => server.close());
    const good = { authorization: basic("prometheus", "s3cret") };
    // The scraper authenticates once before the flood, as a running Prometheus has.
    expect((await get(server.url, { headers: good })).status).toBe(200);

    let stop = false;
    const floodStatuses = new Map<number, number>();
    const attacker = async (n: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        // From another address than the scraper's: a peer that spent its budget gets 429 whatever it sends.
        const status = await get(server.url, { headers: { authorization: basic(n % 2 === 0 ? "prometheus" : "nobody", `guess-${n}-${i}`) }, localAddress: "127.0.0.2" }).then(
          (reply) => reply.status,
          () => 0,
        );
        floodStatuses.set(status, (floodStatuses.get(status) ?? 0) + 1);
      }
    };
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const flood = Array.from({ length: 32 }, (_, n) => attacker(n));
    const latencies: number[] = [];
    try {
      const until = Date.now() + 3000;
      while (Date.now() < until) {
        const started = performance.now();
        const reply = await get(server.url, { headers: good });
        latencies.push(performance.now() - started);
        expect(reply.status).toBe(200);
        expect(reply.text).toContain("app_up 1");
        await sleep(50);
      }
    } finally {
      stop = true;
      await Promise.all(flood);
      loop.disable();
    }
    // Before: the scraper waited 20 s and the loop stalled for over a second. The bounds leave room for a
    // loaded machine and still fail the old behaviour by an order of magnitude.
    console.log(`[auth flood] the scraper's slowest answer ${Math.max(...latencies).toFixed(0)} ms over ${latencies.length}; event loop max ${(loop.max / 1e6).toFixed(0)} ms; flood ${JSON.stringify(Object.fromEntries(floodStatuses))}`);
    expect(latencies.length).toBeGreaterThan(10);
    expect(Math.max(...latencies)).toBeLessThan(1000);
    expect(loop.max / 1e6).toBeLessThan(500);
    // Wrong passwords got 401 while budget lasted, then 429 at once; nothing else.
    expect(floodStatuses.get(401) ?? 0).toBeGreaterThan(0);
    expect(floodStatuses.get(429) ?? 0).toBeGreaterThan(0);
    expect([...floodStatuses.keys()].filter((status) => status !== 401 && status !== 429)).toEqual([]);
  });

  it("answers 429 with Retry-After to a peer past authFailureBurst, and still lets verified credentials in", async () => {
    const registry = new Registry();
    new Gauge({ name: "app_up", help: "Up.", registers: [registry] }).set(1);
    const server = await startHttpServer({ port: 0, registry, auth: { username: "u", password: "p" }, authFailureBurst: 3 });
    cleanups.push(() => server.close());
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(server.url, { headers: { authorization: basic("u", "wrong") } })).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const limited = await get(server.url, { headers: { authorization: basic("u", "wrong") } });
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    // A plain password has no remembered credentials: the right one waits for the budget like any other.
    expect((await get(server.url, { headers: { authorization: basic("u", "p") } })).status).toBe(429);
    await sleep(1100);
    expect((await get(server.url, { headers: { authorization: basic("u", "p") } })).status).toBe(200);
  });
});

describe("BasicAuth bounds (injected bcrypt and clock)", () => {
  const hash = bcrypt.hashSync("s3cret", 4);

  it("limits concurrent bcrypt checks and answers the excess at once, whatever the user name", async () => {
    const waiting: Array<() => void> = [];
    const slow = { compare: (password: string, h: string) => new Promise<boolean>((resolve) => waiting.push(() => resolve(bcrypt.compareSync(password, h)))) };
    const auth = await BasicAuth.create(resolveAuth({ username: "prometheus", password: hash }), { maxConcurrentAuthChecks: 2, authFailureBurst: 100, authFailuresPerSecond: 1 }, slow);
    const first = auth.check(basic("prometheus", "a"), "10.0.0.1");
    const second = auth.check(basic("nobody", "b"), "10.0.0.2");
    expect(auth.checking).toBe(2);
    expect(await auth.check(basic("prometheus", "s3cret"), "10.0.0.3")).toEqual({ result: "limited", retryAfter: 1 });
    expect(await auth.check(basic("nobody", "x"), "10.0.0.3")).toEqual({ result: "limited", retryAfter: 1 });
    for (const release of waiting.splice(0)) release();
    expect(await first).toEqual({ result: "denied" });
    expect(await second).toEqual({ result: "denied" });
    const ok = auth.check(basic("prometheus", "s3cret"), "10.0.0.3");
    for (const release of waiting.splice(0)) release();
    expect(await ok).toEqual({ result: "ok" });
  });

  it("answers a peer past its budget 429 for remembered credentials too: no guess is answered past the budget", async () => {
    let now = 0;
    const local = await BasicAuth.create(resolveAuth({ username: "prometheus", password: hash }), { maxConcurrentAuthChecks: 4, authFailureBurst: 2, authFailuresPerSecond: 1 }, bcrypt, () => now);
    const good = basic("prometheus", "s3cret");
    // The scraper, at its own address, is verified and remembered.
    expect(await local.check(good, "10.0.0.1")).toEqual({ result: "ok" });
    // A guesser spends its budget; from then on the right guess is limited like a wrong one.
    expect(await local.check(basic("prometheus", "guess-1"), "10.0.0.9")).toEqual({ result: "denied" });
    expect(await local.check(basic("prometheus", "guess-2"), "10.0.0.9")).toEqual({ result: "denied" });
    expect(await local.check(basic("prometheus", "guess-3"), "10.0.0.9")).toMatchObject({ result: "limited" });
    expect(await local.check(good, "10.0.0.9")).toMatchObject({ result: "limited" });
    // The scraper's address is not affected.
    expect(await local.check(good, "10.0.0.1")).toEqual({ result: "ok" });
    // Its attempt back, the guesser is let in with the right credentials.
    now += 1000;
    expect(await local.check(good, "10.0.0.9")).toEqual({ result: "ok" });
  });

  it("takes one of the peer's attempts for each request turned away by the bound on bcrypt checks", async () => {
    const waiting: Array<() => void> = [];
    const slow = { compare: (password: string, h: string) => new Promise<boolean>((resolve) => waiting.push(() => resolve(bcrypt.compareSync(password, h)))) };
    const auth = await BasicAuth.create(resolveAuth({ username: "prometheus", password: hash }), { maxConcurrentAuthChecks: 1, authFailureBurst: 2, authFailuresPerSecond: 1 }, slow, () => 0);
    const good = basic("prometheus", "s3cret");
    const verifying = auth.check(good, "10.0.0.1");
    waiting.shift()?.();
    expect(await verifying).toEqual({ result: "ok" });
    // One check holds the bound; a guesser's requests are turned away and each costs it an attempt.
    const held = auth.check(basic("nobody", "x"), "10.0.0.2");
    expect(await auth.check(basic("prometheus", "guess-1"), "10.0.0.9")).toEqual({ result: "limited", retryAfter: 1 });
    expect(await auth.check(basic("prometheus", "guess-2"), "10.0.0.9")).toEqual({ result: "limited", retryAfter: 1 });
    // Its budget spent, the right guess is limited too, while the scraper's remembered credentials pass.
    expect(await auth.check(good, "10.0.0.9")).toMatchObject({ result: "limited" });
    expect(await auth.check(good, "10.0.0.1")).toEqual({ result: "ok" });
    for (const release of waiting.splice(0)) release();
    expect(await held).toEqual({ result: "denied" });
  });

  it("remembers verified credentials while they are used, and forgets them kVerifiedTtlMs after the last use", async () => {
    let now = 1_000_000;
    let compares = 0;
    const counting = {
      compare: (password: string, h: string) => {
        compares++;
        return bcrypt.compare(password, h);
      },
    };
    const auth = await BasicAuth.create(resolveAuth({ username: "prometheus", password: hash }), undefined, counting, () => now);
    const good = basic("prometheus", "s3cret");
    expect(await auth.check(good, "p")).toEqual({ result: "ok" });
    for (let i = 0; i < 5; i++) {
      now += kVerifiedTtlMs - 1;
      expect(await auth.check(good, "p")).toEqual({ result: "ok" });
    }
    expect(compares).toBe(1);
    now += kVerifiedTtlMs + 1;
    expect(await auth.check(good, "p")).toEqual({ result: "ok" });
    expect(compares).toBe(2);
  });

  it("gives a peer its attempts back at authFailuresPerSecond, and other peers are not affected", () => {
    let now = 0;
    const guard = new AuthFailureGuard(2, 1, () => now);
    guard.failed("a");
    guard.failed("a");
    expect(guard.allows("a")).toBe(false);
    expect(guard.retryAfter("a")).toBe(1);
    expect(guard.allows("b")).toBe(true);
    now += 999;
    expect(guard.allows("a")).toBe(false);
    now += 1;
    expect(guard.allows("a")).toBe(true);
    guard.failed("a");
    expect(guard.allows("a")).toBe(false);
    now += 10_000;
    expect(guard.allows("a")).toBe(true);
  });

  it(`remembers at most ${kMaxTrackedPeers} peers`, () => {
    const guard = new AuthFailureGuard(1, 1, () => 0);
    for (let i = 0; i < kMaxTrackedPeers + 500; i++) guard.failed(`peer-${i}`);
    expect(guard.size).toBe(kMaxTrackedPeers);
    // The newest are remembered, the oldest forgotten.
    expect(guard.allows(`peer-${kMaxTrackedPeers + 499}`)).toBe(false);
    expect(guard.allows("peer-0")).toBe(true);
  });
});
