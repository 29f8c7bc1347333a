/**
 * Scrapes in slices: a scrape whose render spans many turns of the event loop is exact and consistent per
 * series while workers record; what is recorded during it shows in the next one; a scrape whose clients
 * went away stops; concurrent scrapes share one render. Functional checks only: timings live in bench/.
 */
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer } from "node:http";
import type { Worker } from "node:worker_threads";
import { Gauge, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsHub, metricsHandler } from "../../../src/main/index.js";
import { scrape, type ScrapeSource } from "../../../src/main/serve/scrape.js";
import { ScrapeFlights } from "../../../src/main/serve/single-flight.js";
import { nextMessage, startSlicedRecorder } from "../../helpers/workers.js";

const SERIES = 4000;
const TEXT_REQUEST = { accept: undefined, acceptEncoding: undefined };

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function setup(series = SERIES): Promise<{ hub: MetricsHub; worker: Worker; source: ScrapeSource }> {
  const hub = new MetricsHub({ registry: new Registry(), maxSeries: series });
  cleanups.push(() => hub.close());
  const worker = await startSlicedRecorder(hub, series, (step) => cleanups.push(step));
  return { hub, worker, source: { registry: hub.registry, hub, report: () => {} } };
}

/** Turns of the event loop (a setImmediate loop) that ran while `work` was pending, and its result. */
async function countTurns<T>(work: Promise<T>): Promise<{ turns: number; result: T }> {
  let turns = 0;
  let done = false;
  const loop = (): void => {
    if (done) return;
    turns++;
    setImmediate(loop);
  };
  setImmediate(loop);
  try {
    const result = await work;
    return { turns, result };
  } finally {
    done = true;
  }
}

interface Series {
  buckets: Map<string, number>;
  count: number | undefined;
  sum: number | undefined;
}

/** The sliced_seconds series of a text exposition, by id. */
function parseHistogram(text: string): Map<string, Series> {
  const out = new Map<string, Series>();
  const line = /^sliced_seconds_(bucket|count|sum)\{([^}]*)\} (\S+)$/;
  for (const row of text.split("\n")) {
    const match = line.exec(row);
    if (match === null) continue;
    const [, kind, labels, value] = match as unknown as [string, string, string, string];
    const id = /id="([^"]*)"/.exec(labels)?.[1] as string;
    let series = out.get(id);
    if (series === undefined) {
      series = { buckets: new Map(), count: undefined, sum: undefined };
      out.set(id, series);
    }
    if (kind === "bucket") series.buckets.set(/le="([^"]*)"/.exec(labels)?.[1] as string, Number(value));
    else if (kind === "count") series.count = Number(value);
    else series.sum = Number(value);
  }
  return out;
}

/**
 * Every problem of each series (not cumulative, +Inf or _sum not _count, anything below le=1 when every
 * observation is 1, fewer than `floor` observations, fewer than the scrape before); at most 10 reported.
 */
function problemsOf(series: Map<string, Series>, floor: number, previous: Map<string, number>): string[] {
  const problems: string[] = [];
  const problem = (text: string): void => {
    if (problems.length < 10) problems.push(text);
  };
  for (const [id, s] of series) {
    const values = [...s.buckets.values()];
    for (let i = 1; i < values.length; i++) if ((values[i] as number) < (values[i - 1] as number)) problem(`${id}: buckets not cumulative`);
    if (s.buckets.get("+Inf") !== s.count) problem(`${id}: +Inf bucket ${s.buckets.get("+Inf")} is not _count ${s.count}`);
    if (s.sum !== s.count) problem(`${id}: _sum ${s.sum} of observations of 1 is not _count ${s.count}`);
    // Buckets below 1 hold nothing; from le=1 on, everything.
    if (s.buckets.get("0.5") !== 0) problem(`${id}: ${s.buckets.get("0.5")} below 1`);
    if (s.buckets.get("1") !== s.count) problem(`${id}: le=1 holds ${s.buckets.get("1")}, not _count ${s.count}`);
    if ((s.count as number) < floor) problem(`${id}: ${s.count} observations, fewer than the ${floor} returned before the scrape`);
    if ((s.count as number) < (previous.get(id) ?? 0)) problem(`${id}: ${s.count} observations, fewer than the scrape before (${previous.get(id)})`);
  }
  return problems;
}

describe("a scrape rendered in slices", () => {
  it("spans many turns of the event loop, and is exact and consistent per series while a worker records", async () => {
    const { hub, worker, source } = await setup();
    let returnedRounds = 0;
    let finished = false;
    worker.on("message", (message: unknown) => {
      if (typeof message === "object" && message !== null && "round" in message) returnedRounds = (message as { round: number }).round;
      if (message === "done") finished = true;
    });
    worker.postMessage({ op: "rounds", rounds: 30 });
    let previous = new Map<string, number>();
    let scrapes = 0;
    let maxTurns = 0;
    while (!finished || scrapes < 3) {
      // Every round whose calls returned before the scrape began is in it.
      const floor = 1 + returnedRounds;
      const { turns, result } = await countTurns(scrape(source, TEXT_REQUEST));
      maxTurns = Math.max(maxTurns, turns);
      scrapes++;
      expect(result.status).toBe(200);
      // Checked cheaply, with no expect() per sample: a test that held the main thread for long (parsing and
      // checking 60,000 lines on a loaded machine) would block the drain, and a worker whose ring and overflow
      // are full drops (counted) once the hub has made no progress for overflowWaitMs.
      const series = parseHistogram(result.body.toString("utf8"));
      expect(series.size).toBe(SERIES);
      expect(problemsOf(series, floor, previous)).toEqual([]);
      previous = new Map([...series].map(([id, s]) => [id, s.count as number]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The render of 4,000 label sets of a 12-bucket histogram (60,000 lines) let the event loop run.
    expect(maxTurns).toBeGreaterThan(1);
    // After the last round returned: exactly 1 + 30 observations per series.
    const last = parseHistogram((await scrape(source, TEXT_REQUEST)).body.toString("utf8"));
    for (const [id, s] of last) expect(s.count, id).toBe(31);
    // Nothing was dropped: exactness is asked of what was recorded, and everything was.
    expect(Object.values(hub.stats().recordsDropped).reduce((sum, n) => sum + n, 0)).toBe(0);
  }, 120_000);

  it("drains a backlog bigger than a ring exactly, while a worker keeps bursting (hub defaults)", async () => {
    const { hub, worker, source } = await setup();
    const burstTotal = (text: string): number => Number(/^sliced_burst_total (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
    // 400,000 calls in one synchronous loop: past the ring (65,536 records) and the overflow (65,536), so
    // the worker waits while the hub drains; when the last call returns, up to both are still unread.
    const burst = 400_000;
    worker.postMessage({ op: "burst", count: burst });
    expect(await nextMessage(worker)).toBe("burst");
    const first = await countTurns(scrape(source, TEXT_REQUEST));
    expect(burstTotal(first.result.body.toString("utf8"))).toBe(burst);
    // A second burst while OpenMetrics scrapes follow one another: each scrape holds at least what returned
    // before it began, never less than the scrape before; the background drain keeps the waiting worker
    // going while the scrapes run.
    let returned = false;
    worker.postMessage({ op: "burst", count: burst });
    const done = nextMessage(worker).then((message) => {
      expect(message).toBe("burst");
      returned = true;
    });
    let previous = burst;
    let scrapes = 0;
    while (!returned || scrapes < 2) {
      const floor = returned ? 2 * burst : burst;
      const text = (await scrape(source, { accept: "application/openmetrics-text; version=1.0.0", acceptEncoding: undefined })).body.toString("utf8");
      // Read cheaply: a test that holds the main thread for long (parsing 60,000 lines) would block the
      // drain the waiting worker needs.
      const total = Number(/^sliced_burst_total (\S+)$/m.exec(text)?.[1]);
      expect(total).toBeGreaterThanOrEqual(Math.max(floor, previous));
      previous = total;
      scrapes++;
    }
    await done;
    expect(burstTotal((await scrape(source, TEXT_REQUEST)).body.toString("utf8"))).toBe(2 * burst);
    // Nothing was dropped: the worker waited for room while the scrapes ran.
    expect(Object.values(hub.stats().recordsDropped).reduce((sum, n) => sum + n, 0)).toBe(0);
  }, 120_000);

  it("shows records made during a sliced scrape in the next one", async () => {
    const { worker, source } = await setup();
    // The marker is recorded (its call returns) while the first scrape is in progress.
    let yielded!: () => void;
    const firstTurn = new Promise<void>((resolve) => (yielded = resolve));
    setImmediate(() => yielded());
    const during = scrape(source, TEXT_REQUEST);
    await firstTurn;
    worker.postMessage({ op: "mark" });
    expect(await nextMessage(worker)).toBe("marked");
    const first = await during;
    expect(first.status).toBe(200);
    const next = (await scrape(source, TEXT_REQUEST)).body.toString("utf8");
    expect(next).toMatch(/^sliced_marker_total 1$/m);
  }, 60_000);

  it("lets the event loop run between prom-client metrics too, whose get() only awaits the microtask queue", async () => {
    // A registry the hub does not own: 200 prom-client gauges of 200 label sets each.
    const registry = new Registry();
    for (let g = 0; g < 200; g++) {
      const gauge = new Gauge({ name: `many_gauges_${g}`, help: "One of many.", labelNames: ["series"], registers: [registry] });
      for (let i = 0; i < 200; i++) gauge.set({ series: `s${i}` }, i);
    }
    const source = { registry, hub: undefined, report: () => {} };
    // The second scrape's body fits the buffer the first one's size gave it: no turns for joining buffers.
    await scrape(source, TEXT_REQUEST);
    const { turns, result } = await countTurns(scrape(source, TEXT_REQUEST));
    expect(result.status).toBe(200);
    expect(result.body.toString("utf8")).toBe(await registry.metrics());
    // 40,000 lines take milliseconds to render: more than one turn when each step keeps to its budget.
    expect(turns).toBeGreaterThan(1);
  });

  it("stops when its signal aborts (every client went away)", async () => {
    const { source } = await setup();
    const whole = await countTurns(scrape(source, TEXT_REQUEST));
    expect(whole.result.status).toBe(200);
    expect(whole.turns).toBeGreaterThan(4);
    const controller = new AbortController();
    setImmediate(() => controller.abort());
    const aborted = await countTurns(scrape(source, TEXT_REQUEST, controller.signal));
    // It stopped at its next step instead of rendering on.
    expect(aborted.result.status).toBe(503);
    expect(aborted.turns).toBeLessThan(whole.turns);
    expect(aborted.turns).toBeLessThanOrEqual(3);
  }, 60_000);

  it("shares one render among concurrent scrapes; a render goes on while one of its clients waits", async () => {
    const { source } = await setup();
    const flights = new ScrapeFlights(source);
    const gone = new AbortController();
    const first = flights.run(TEXT_REQUEST, gone.signal);
    const second = flights.run(TEXT_REQUEST, new AbortController().signal);
    expect(second).toBe(first);
    expect(flights.rendering).toBe(1);
    // Another format is another render.
    const third = flights.run({ accept: "application/openmetrics-text; version=1.0.0", acceptEncoding: undefined });
    expect(third).not.toBe(first);
    expect(flights.rendering).toBe(2);
    gone.abort();
    const [a, b, c] = await Promise.all([first, second, third]);
    expect(a.status).toBe(200);
    expect(b).toBe(a);
    expect(parseHistogram(a.body.toString("utf8")).size).toBe(SERIES);
    expect(c.body.toString("utf8")).toMatch(/# EOF\n$/);
    expect(flights.rendering).toBe(0);
  }, 60_000);

  it("starts a new render for a client that comes after every client of the last one went away", async () => {
    const { source } = await setup();
    const flights = new ScrapeFlights(source);
    const gone = new AbortController();
    const abandoned = flights.run(TEXT_REQUEST, gone.signal);
    gone.abort();
    expect(flights.rendering).toBe(0);
    const fresh = flights.run(TEXT_REQUEST);
    expect(fresh).not.toBe(abandoned);
    expect((await abandoned).status).toBe(503);
    expect((await fresh).status).toBe(200);
  }, 60_000);

  it("over HTTP: a client that disconnects mid-render leaves the server serving the next scrape", async () => {
    const { hub } = await setup();
    const server = createServer(metricsHandler({ hub }));
    server.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as AddressInfo;
    const req = request({ host: "127.0.0.1", port, path: "/metrics" });
    req.on("error", () => {});
    req.end();
    await new Promise((resolve) => setTimeout(resolve, 5));
    req.destroy();
    const body = await new Promise<string>((resolve, reject) => {
      const next = request({ host: "127.0.0.1", port, path: "/metrics" }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve(text));
      });
      next.on("error", reject);
      next.end();
    });
    expect(parseHistogram(body).size).toBe(SERIES);
  }, 60_000);
});
