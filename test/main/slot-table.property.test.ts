/**
 * Random words written into the slot table and the ring headers while honest workers record: no
 * exception escapes the hub, every scrape works and passes promtool, and the honest workers are counted
 * exactly. A real thread writes the words, at offsets from the layout module. The honest workers' own ring
 * headers are left alone (a store there rewrites their positions, which no reader can undo); their
 * slot-table entries, a victim worker's entry and header, and the free slots' are fair game.
 */
import fc from "fast-check";
import type { Worker } from "node:worker_threads";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { MetricsHub, type PromThreadsError } from "../../src/main/index.js";
import { ErrorCodes } from "../../src/shared/api/errors.js";
import { Layout, kDroppedFull, kOverflowRead, kOverflowWrite, kReadIndex, kSlotHighWaterWord, kSlotState, kSlotThreadId, kWriteIndex } from "../../src/shared/transport/layout.js";
import { promtoolCheck, skipWithout } from "../helpers/exposition-checkers.js";
import { samples } from "../helpers/exposition.js";
import { exited, nextMessage, startWorker } from "../helpers/workers.js";

const noPromtool = skipWithout(["promtool"], "checking scrapes after random stores with promtool");

const kSlots = 6;
const kRecordsPerStep = 4000;
const kSteps = 3;

function request(worker: Worker, message: Record<string, unknown>): Promise<unknown> {
  const reply = nextMessage(worker);
  worker.postMessage(message);
  return reply;
}

/** Words a stray store may hit, given the slots the honest workers own. */
function targets(layout: Layout, honestSlots: number[]): number[] {
  const words = [kSlotHighWaterWord];
  for (let slot = 0; slot < layout.slotCount; slot++) {
    words.push(layout.slotWord(slot) + kSlotState, layout.slotWord(slot) + kSlotThreadId);
    if (honestSlots.includes(slot)) continue;
    const header = layout.ringHeaderByte(slot) / 4;
    for (const field of [kWriteIndex, kDroppedFull, kOverflowWrite, kReadIndex, kOverflowRead]) words.push(header + field);
  }
  return words;
}

const word = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 7, 255, 1023, 1024, 2048, kSlots, kSlots + 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff),
  fc.integer({ min: 0, max: 0xffff_ffff }),
);
const stores = fc.array(fc.tuple(fc.nat(), word), { minLength: 1, maxLength: 12 });

async function runOnce(batches: Array<Array<[number, number]>>): Promise<void> {
  const registry = new Registry();
  // A small ring, so each step is a burst of several rings; a short wait, so a victim whose positions
  // were scrambled gives up on room quickly.
  const hub = new MetricsHub({ registry, maxWorkers: kSlots, ringBytes: 16384, overflowWaitMs: 20 });
  const errors: PromThreadsError[] = [];
  hub.on("error", (error) => errors.push(error));
  const workers: Worker[] = [];
  try {
    const start = async (label: string) => {
      const worker = startWorker("honest-recorder.mjs", { workerData: { ...hub.workerData, label } });
      workers.push(worker);
      const ready = await nextMessage<{ slot: number }>(worker);
      return { worker, slot: ready.slot };
    };
    const honest = [await start("a"), await start("b")];
    const victim = await start("victim");
    const stray = startWorker("slot-stores.mjs", { workerData: { handle: hub.handle } });
    workers.push(stray);
    await nextMessage(stray);
    const layout = new Layout(kSlots, 1024, 1);
    const words = targets(
      layout,
      honest.map((worker) => worker.slot),
    );
    // The victim records all along, its replies not awaited: its positions may be scrambled.
    victim.worker.postMessage({ count: 1_000_000, step: 512 });
    for (const batch of batches) {
      const recording = honest.map((worker) => request(worker.worker, { count: kRecordsPerStep, step: 512 }));
      await request(stray, { action: "stores", stores: batch.map(([index, value]) => [words[index % words.length], value]) });
      await Promise.all(recording);
      const text = await registry.metrics();
      if (!noPromtool) expect((await promtoolCheck(text)).error).toBeUndefined();
    }
    for (const worker of honest) {
      worker.worker.postMessage({ action: "end" });
      await exited(worker.worker);
    }
    const all = samples(await registry.metrics());
    for (const label of ["a", "b"]) expect(all.get(`honest_total{w="${label}"}`), label).toBe(kRecordsPerStep * kSteps);
    const codes = new Set<string>([ErrorCodes.SLOT_QUARANTINED, ErrorCodes.MALFORMED_RECORD, ErrorCodes.WORKER_UNFOLLOWED]);
    expect(errors.filter((error) => !codes.has(error.code))).toEqual([]);
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
    await hub.close();
  }
}

describe("random words in the slot table and the ring headers", () => {
  it("never throw out of the hub, and honest workers are counted exactly", { timeout: 240_000 }, async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      uncaught.push(error);
    };
    process.on("uncaughtException", onUncaught);
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(stores, { minLength: kSteps, maxLength: kSteps }), async (batches) => {
          await runOnce(batches);
          expect(uncaught).toEqual([]);
        }),
        { numRuns: 12, endOnFailure: true },
      );
    } finally {
      process.off("uncaughtException", onUncaught);
    }
  });
});
