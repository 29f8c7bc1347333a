/**
 * prom-client compatibility: every script of scripts.ts runs inside a real worker against the hub's
 * registry, and in this thread against plain prom-client; both registries' getMetricsAsJSON() and text
 * exposition must match, and every call must throw in one exactly when it throws in the other. The only
 * exceptions are KNOWN_DIFFERENCES, which must still differ (the README's compatibility table lists them).
 */
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import * as promClient from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { DIFFERS_IN_SOME_FORMATS, KNOWN_DIFFERENCES, SCRIPTS, type CallStep, type Script, type Step } from "./scripts.js";
// @ts-expect-error plain JavaScript fixture shared with the worker
import { runSteps } from "../fixtures/compat-steps.mjs";

const FUNCTION_MARK = "__function__";

interface Observed {
  outcomes: string[];
  json: string;
  text: string;
}

const PROMETHEUS = promClient.Registry.PROMETHEUS_CONTENT_TYPE;
const OPENMETRICS = promClient.Registry.OPENMETRICS_CONTENT_TYPE;

let hub: MetricsHub;
let worker: Worker;
/** The content type of both registries in the current pass (prom-client's tests run under both). */
let contentType: string = PROMETHEUS;

async function start(type: string): Promise<void> {
  contentType = type;
  const registry = new promClient.Registry();
  registry.setContentType(type as never);
  hub = new MetricsHub({ registry, selfMetrics: false, maxWorkers: 2 });
  worker = new Worker(new URL("../fixtures/compat-runner.mjs", import.meta.url), { workerData: hub.workerData });
  const [ready] = (await once(worker, "message")) as [string];
  expect(ready).toBe("ready");
}

async function stop(): Promise<void> {
  await worker?.terminate();
  await hub?.close();
}

/** The script's metrics with a unique name prefix, so all scripts share one hub; functions marked for the worker. */
function prefixed(script: Script, prefix: string, forWorker: boolean) {
  return script.metrics.map(({ kind, config }) => {
    const copy: Record<string, unknown> = { ...config, name: `${prefix}${String(config.name)}` };
    if (forWorker) for (const [key, value] of Object.entries(copy)) if (typeof value === "function") copy[key] = FUNCTION_MARK;
    return { kind, config: copy };
  });
}

function isCall(step: Step): step is CallStep {
  return "call" in step;
}

/** Split a script into runs of worker calls and the main-thread steps between them. */
function phases(steps: Step[]): Array<CallStep[] | Step> {
  const out: Array<CallStep[] | Step> = [];
  for (const step of steps) {
    const last = out[out.length - 1];
    if (isCall(step)) {
      if (Array.isArray(last)) last.push(step);
      else out.push([step]);
    } else {
      out.push(step);
    }
  }
  if (out.length === 0) out.push([]);
  return out;
}

async function runMainStep(step: Step, registry: promClient.Registry): Promise<void> {
  if ("main" in step) registry.resetMetrics();
  else if ("sleep" in step) await new Promise((resolve) => setTimeout(resolve, step.sleep));
}

/** Canonical JSON of a registry's metrics with `prefix`: values sorted, object keys sorted. */
async function canonical(registry: promClient.Registry, prefix: string, timed: boolean): Promise<Observed["json"]> {
  const metrics = (await registry.getMetricsAsJSON()).filter((m) => m.name.startsWith(prefix));
  const round = (v: number) => (timed ? Math.round(v * 100) / 100 : v);
  const shaped = metrics
    .map((m) => ({
      ...m,
      values: m.values.map((v) => sortKeys({ ...v, value: round(v.value), ...exemplarWithoutTime(v) })).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return JSON.stringify(sortKeys(shaped));
}

/** An exemplar's timestamp is the moment of the call, which no two runs share: compare the rest. */
function exemplarWithoutTime(v: object): object {
  const exemplar = (v as { exemplar?: { timestamp?: unknown } | null }).exemplar;
  return exemplar === undefined || exemplar === null ? {} : { exemplar: { ...exemplar, timestamp: "<t>" } };
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}

/** The text exposition of the script's metrics, lines sorted (series order is not part of the contract). */
async function text(registry: promClient.Registry, names: string[], timed: boolean): Promise<string> {
  const lines: string[] = [];
  for (const name of names) {
    if (registry.getSingleMetric(name) === undefined) continue;
    for (const line of (await registry.getSingleMetricAsString(name)).split("\n")) {
      // An exemplar's trailing timestamp is the moment of the call: compare the rest.
      const untimed = line.replace(/( # \{[^}]*\} [^ ]+) [0-9.e+-]+$/, "$1 <t>");
      lines.push(timed && !line.startsWith("#") ? untimed.replace(/ [0-9.e-]+$/, " <t>") : untimed);
    }
  }
  return lines.sort().join("\n");
}

async function inWorker(script: Script, prefix: string): Promise<Observed> {
  const metrics = prefixed(script, prefix, true);
  const outcomes: string[] = [];
  for (const phase of phases(script.steps)) {
    if (Array.isArray(phase)) {
      const reply = once(worker, "message");
      worker.postMessage({ key: prefix, metrics, steps: phase });
      outcomes.push(...((await reply)[0] as string[]));
    } else {
      await runMainStep(phase, hub.registry);
    }
  }
  const names = metrics.map((m) => String(m.config.name));
  return { outcomes, json: await canonical(hub.registry, prefix, script.timed === true), text: await text(hub.registry, names, script.timed === true) };
}

async function inPromClient(script: Script, prefix: string): Promise<Observed> {
  const registry = new promClient.Registry();
  registry.setContentType((script.openMetrics === true ? OPENMETRICS : contentType) as never);
  const metrics = prefixed(script, prefix, false);
  const made = new Map();
  const outcomes: string[] = [];
  for (const phase of phases(script.steps)) {
    if (Array.isArray(phase)) outcomes.push(...((await runSteps(promClient, made, prefix, metrics, phase, [registry])) as string[]));
    else await runMainStep(phase, registry);
  }
  const names = metrics.map((m) => String(m.config.name));
  return { outcomes, json: await canonical(registry, prefix, script.timed === true), text: await text(registry, names, script.timed === true) };
}

/** Outcomes compared by kind: "ok", or "throw" whatever the error (ours carry codes, prom-client's do not). */
const kinds = (outcomes: string[]) => outcomes.map((o) => (o === "ok" ? "ok" : "throw"));

describe.each([
  ["Prometheus text", PROMETHEUS],
  ["OpenMetrics", OPENMETRICS],
])("prom-client's unit tests, replayed in a worker and compared with prom-client (%s registries)", (_name, type) => {
  beforeAll(() => start(type));
  afterAll(() => stop());

  SCRIPTS.forEach((script, index) => {
    const prefix = `s${index}_`;
    const known = KNOWN_DIFFERENCES[script.name];
    it(`${script.name}${known === undefined ? "" : ` (known difference: ${known})`}`, async () => {
      const ours = await inWorker(script, prefix);
      const theirs = await inPromClient(script, prefix);
      const same = JSON.stringify(kinds(ours.outcomes)) === JSON.stringify(kinds(theirs.outcomes)) && ours.json === theirs.json && ours.text === theirs.text;
      // These are identical with OpenMetrics registries, exemplars in registry.metrics() included.
      if (known !== undefined && DIFFERS_IN_SOME_FORMATS.has(script.name) && type === OPENMETRICS) {
        expect(ours.text).toBe(theirs.text);
        expect(JSON.parse(ours.json)).toEqual(JSON.parse(theirs.json));
        expect(same).toBe(true);
        return;
      }
      if (known !== undefined && DIFFERS_IN_SOME_FORMATS.has(script.name) && same) return;
      if (known !== undefined) {
        expect(same, "listed in KNOWN_DIFFERENCES but now identical: remove it from the list and the README table").toBe(false);
        return;
      }
      expect(kinds(ours.outcomes)).toEqual(kinds(theirs.outcomes));
      expect(JSON.parse(ours.json)).toEqual(JSON.parse(theirs.json));
      expect(ours.text).toBe(theirs.text);
    });
  });
});

describe("the compatibility table", () => {
  it("covers every known difference with a script, and the README's table lists each one", () => {
    const names = new Set(SCRIPTS.map((s) => s.name));
    for (const name of Object.keys(KNOWN_DIFFERENCES)) expect(names.has(name), name).toBe(true);
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    for (const row of new Set(Object.values(KNOWN_DIFFERENCES))) expect(readme, row).toContain(`| ${row} |`);
    // The README states how many scripts are identical.
    const identical = SCRIPTS.length - Object.keys(KNOWN_DIFFERENCES).length;
    expect(readme).toContain(`${SCRIPTS.length} scripts run this way and ${identical} are identical`);
  });
});
