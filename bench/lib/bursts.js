// What the cost workers share: pausing the thread, asking the main thread to settle, and timing a burst.
import { parentPort } from "node:worker_threads";
import { floorWaits } from "./floor-ring.js";

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Pause the thread (not spin) while the main thread drains: 2 ms is two ticks of the hub. */
export function pause(ms) {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Ask the main thread to drain everything (hub and floor readers) and wait for its answer. */
export function askToSettle() {
  return new Promise((resolve) => {
    parentPort.once("message", resolve);
    parentPort.postMessage({ settle: true });
  });
}

/**
 * ns per call of `run(from, to)` over `bursts` bursts of `burst` calls, 2 ms apart; only the bursts are
 * timed, less the time a floor writer of this thread waited for its reader (bench/lib/floor-ring.js).
 */
export function timeShortBursts(run, burst, bursts) {
  let ns = 0;
  for (let b = 0; b < bursts; b++) {
    const waitedBefore = floorWaits().ns;
    const start = process.hrtime.bigint();
    run(b * burst, (b + 1) * burst);
    ns += Number(process.hrtime.bigint() - start) - (floorWaits().ns - waitedBefore);
    pause(2);
  }
  return ns / (bursts * burst);
}

/**
 * ns per call of `run(0, n)` in one burst, less the time a floor writer of this thread waited for its
 * reader, then `settle()` so no case pays for the one before.
 */
export async function timeBurst(run, n, settle) {
  const waitedBefore = floorWaits().ns;
  const start = process.hrtime.bigint();
  run(0, n);
  const ns = (Number(process.hrtime.bigint() - start) - (floorWaits().ns - waitedBefore)) / n;
  await settle();
  return ns;
}
