import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { countExceptions, time, trackInProgress } from "../../src/main/index.js";
import { samples } from "../helpers/exposition.js";

/** A clock that advances by `step` seconds each time it is read: durations become exact. */
function steppingClock(step: number) {
  let now = 100;
  return () => {
    const t = now;
    now += step;
    return t;
  };
}

function metrics() {
  const registry = new Registry();
  const histogram = new Histogram({ name: "op_seconds", help: "h", labelNames: ["status"], buckets: [1, 2], registers: [registry] });
  const plain = new Histogram({ name: "plain_seconds", help: "h", buckets: [1, 2], registers: [registry] });
  const errors = new Counter({ name: "errors_total", help: "h", labelNames: ["type"], registers: [registry] });
  const bare = new Counter({ name: "bare_errors_total", help: "h", registers: [registry] });
  const inProgress = new Gauge({ name: "in_progress", help: "h", registers: [registry] });
  return { registry, histogram, plain, errors, bare, inProgress, read: async () => samples(await registry.metrics()) };
}

describe("time()", () => {
  it("observes a sync function's duration, and keeps its this, arguments and result", async () => {
    const m = metrics();
    const clock = steppingClock(1.5);
    const obj = {
      factor: 3,
      mul: time(m.plain, function (this: { factor: number }, x: number) {
        return x * this.factor;
      }, { clock }),
    };
    expect(obj.mul(2)).toBe(6);
    const all = await m.read();
    expect(all.get("plain_seconds_count")).toBe(1);
    expect(all.get("plain_seconds_sum")).toBe(1.5);
    expect(all.get('plain_seconds_bucket{le="1"}')).toBe(0);
    expect(all.get('plain_seconds_bucket{le="2"}')).toBe(1);
  });

  it("observes when a sync function throws, and rethrows", async () => {
    const m = metrics();
    const boom = time(m.plain, () => {
      throw new RangeError("boom");
    }, { clock: steppingClock(0.5) });
    expect(() => boom()).toThrow(RangeError);
    expect((await m.read()).get("plain_seconds_sum")).toBe(0.5);
  });

  it("observes when an async function resolves or rejects, after it settles", async () => {
    const m = metrics();
    const clock = steppingClock(2);
    let release!: () => void;
    const pending = new Promise<void>((r) => (release = r));
    const ok = time(m.plain, async () => {
      await pending;
      return "done";
    }, { clock });
    const result = ok();
    expect((await m.read()).get("plain_seconds_count")).toBe(0);
    release();
    expect(await result).toBe("done");
    const failing = time(m.plain, async () => {
      throw new Error("no");
    }, { clock });
    await expect(failing()).rejects.toThrow("no");
    const all = await m.read();
    expect(all.get("plain_seconds_count")).toBe(2);
    expect(all.get("plain_seconds_sum")).toBe(4);
  });

  it("times a promise", async () => {
    const m = metrics();
    expect(await time(m.plain, Promise.resolve(42), { clock: steppingClock(0.25) })).toBe(42);
    await expect(time(m.plain, Promise.reject(new Error("x")), { clock: steppingClock(0.25) })).rejects.toThrow("x");
    const all = await m.read();
    expect(all.get("plain_seconds_count")).toBe(2);
    expect(all.get("plain_seconds_sum")).toBe(0.5);
  });

  it("chooses labels from the outcome", async () => {
    const m = metrics();
    const run = time(m.histogram, async (fail: boolean) => {
      if (fail) throw new Error("bad");
      return 1;
    }, { labels: (_result, error) => ({ status: error ? "error" : "ok" }), clock: steppingClock(1) });
    await run(false);
    await run(false);
    await expect(run(true)).rejects.toThrow("bad");
    const all = await m.read();
    expect(all.get('op_seconds_count{status="ok"}')).toBe(2);
    expect(all.get('op_seconds_count{status="error"}')).toBe(1);
  });

  it("works with fixed labels through a child", async () => {
    const m = metrics();
    time(m.histogram.labels("fixed"), () => 1, { clock: steppingClock(1) })();
    expect((await m.read()).get('op_seconds_count{status="fixed"}')).toBe(1);
  });

  it("refuses a metric without observe()", () => {
    expect(() => time({} as never, () => 1)).toThrow(/observe/);
  });
});

describe("countExceptions()", () => {
  it("counts every error by default and rethrows; successes do not count", async () => {
    const m = metrics();
    const parse = countExceptions(m.bare, (s: string) => JSON.parse(s));
    expect(parse("1")).toBe(1);
    expect(() => parse("{")).toThrow(SyntaxError);
    await expect(countExceptions(m.bare, Promise.reject(new Error("r")))).rejects.toThrow("r");
    expect((await m.read()).get("bare_errors_total")).toBe(2);
  });

  it("filters by error class or predicate, and labels from the error", async () => {
    const m = metrics();
    const byClass = countExceptions(m.errors, (e: Error) => {
      throw e;
    }, { filter: TypeError, labels: (error) => ({ type: (error as Error).name }) });
    expect(() => byClass(new TypeError("t"))).toThrow(TypeError);
    expect(() => byClass(new RangeError("r"))).toThrow(RangeError);
    const byPredicate = countExceptions(m.errors, async (e: Error) => {
      throw e;
    }, { filter: (error) => (error as Error).message === "count me", labels: () => ({ type: "predicate" }) });
    await expect(byPredicate(new Error("count me"))).rejects.toThrow();
    await expect(byPredicate(new Error("skip me"))).rejects.toThrow();
    const all = await m.read();
    expect(all.get('errors_total{type="TypeError"}')).toBe(1);
    expect(all.has('errors_total{type="RangeError"}')).toBe(false);
    expect(all.get('errors_total{type="predicate"}')).toBe(1);
  });
});

describe("trackInProgress()", () => {
  it("increments before the call and decrements when it settles, also on rejection", async () => {
    const m = metrics();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const work = trackInProgress(m.inProgress, async (fail: boolean) => {
      await gate;
      if (fail) throw new Error("f");
    });
    const a = work(false);
    const b = work(true);
    expect((await m.read()).get("in_progress")).toBe(2);
    release();
    await a;
    await expect(b).rejects.toThrow("f");
    expect((await m.read()).get("in_progress")).toBe(0);
    expect(() => trackInProgress(m.inProgress, () => {
      throw new Error("sync");
    })()).toThrow("sync");
    expect((await m.read()).get("in_progress")).toBe(0);
  });
});

describe("decorators (compiled by tsc from test/ts-fixtures)", () => {
  it("time, countExceptions and trackInProgress decorate class methods", async () => {
    const { build } = await import("../fixtures/built/decorated.js");
    const { service, registry } = build();
    expect(service.double(21)).toBe(42);
    expect(await service.later("x")).toBe("x");
    expect(() => service.fail()).toThrow("decorated failure");
    const pending = service.track();
    const during = samples(await registry.metrics()).get("deco_in_progress");
    await pending;
    const all = samples(await registry.metrics());
    expect(during).toBe(1);
    expect(all.get("deco_in_progress")).toBe(0);
    expect(all.get("deco_seconds_count")).toBe(2);
    expect(all.get("deco_seconds_sum")).toBe(2);
    expect(all.get("deco_errors_total")).toBe(1);
    expect(service.calls).toBe(4);
  });
});

describe("wrappers with worker-side metrics", () => {
  it("record through the worker classes into the hub's registry", async () => {
    const { MetricsHub } = await import("../../src/main/index.js");
    const { Scripted } = await import("../helpers/scripted.js");
    const registry = new Registry();
    const hub = new MetricsHub({ registry });
    const worker = await Scripted.start({ workerData: hub.workerData });
    await worker.ok("wrappers");
    const all = samples(await registry.metrics());
    expect(all.get('wrapped_seconds_count{status="ok"}')).toBe(2);
    expect(all.get('wrapped_seconds_count{status="error"}')).toBe(1);
    expect(all.get("wrapped_failures_total")).toBe(1);
    expect(all.get("wrapped_active")).toBe(0);
    await worker.worker.terminate();
    await hub.close();
  });
});
