/**
 * A hostile owner stores an overflow write index no writer could (>= 2 x capacity) and exits. Its slot
 * must be free for the next worker: the hub used to take the unequal overflow indices of the FREE slot for
 * a live owner's records (#ownerBehindStrayState), put CLAIMED back for the dead thread, and lose the slot.
 */
import { Registry } from "prom-client";
import { afterEach, expect, it } from "vitest";
import { MetricsHub } from "../../src/main/index.js";
import { samples } from "../helpers/exposition.js";
import { exited, nextMessage, sleep, startWorker } from "../helpers/workers.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

it("a slot whose dead owner left a forged overflow write index is free for the next worker", async () => {
  const registry = new Registry();
  const hub = new MetricsHub({ registry, maxWorkers: 1 });
  cleanup.push(() => hub.close());
  hub.on("error", () => {});
  const a = startWorker("forge-overflow-exit.mjs", { workerData: { ...hub.workerData, forge: true } });
  hub.attach(a);
  await nextMessage(a);
  await a.terminate();
  await exited(a);
  await sleep(50);
  await registry.metrics();
  await sleep(50);
  await registry.metrics();
  const b = startWorker("forge-overflow-exit.mjs", { workerData: { ...hub.workerData, forge: false } });
  cleanup.push(() => b.terminate());
  hub.attach(b);
  const reply = (await nextMessage(b)) as { slot: number };
  await sleep(50);
  const all = samples(await registry.metrics());
  expect(reply.slot).toBe(0);
  expect(all.get("forged_total")).toBe(2);
  expect(hub.stats().recordsDropped.no_slot).toBe(0);
});
