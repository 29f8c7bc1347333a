// One writer object for a thread's life and one hidden class per metric kind: a call site that records
// sees one shape (issue 19). Checked with V8's own %HaveSameMap in a child process run with
// --allow-natives-syntax.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/processes.js";

const run = promisify(execFile);

describe("the recording call site's shapes", () => {
  it("keeps one writer object through not connected, attached and slotless, and one hidden class per metric kind whatever its options", { timeout: 60_000 }, async () => {
    const { stdout } = await run(process.execPath, ["--allow-natives-syntax", "test/fixtures/writer-shape.mjs"], { cwd: ROOT, timeout: 50_000 });
    const result = JSON.parse(stdout.trim().split("\n").at(-1) as string);
    expect(result.threw).toBe("ERR_PROM_THREADS_NOT_CONNECTED");
    expect(result.sameWriter).toBe(true);
    expect(result.sameWriterMap).toBe(true);
    expect(result.slotless).toEqual({ same: true, sameMap: true, slot: -1 });
    expect(result.noSlot).toBeGreaterThanOrEqual(1);
    expect(result.maps).toEqual({ histogramChild: true, histogram: true, counter: true, summary: true });
    expect(result.early).toBe(true);
    expect(result.exemplarCounter).toBe(true);
    expect(result.nativeCount).toBe(true);
  });
});
