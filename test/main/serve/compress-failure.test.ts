/**
 * A scrape whose compression fails answers 500 and reports the error as a failed collect does; the next
 * scrape is served. zlib cannot be made to fail on real input (it fails when memory runs out), so this one
 * test makes its streams fail.
 */
import { Readable } from "node:stream";
import { Gauge, Registry } from "prom-client";
import { describe, expect, it, vi } from "vitest";
import { ErrorCodes, OperationError } from "../../../src/shared/api/errors.js";
import { scrape } from "../../../src/main/serve/scrape.js";

const failing = vi.hoisted(() => ({ large: false, inline: false }));

vi.mock(import("node:zlib"), async (importOriginal) => {
  const zlib = await importOriginal();
  return {
    ...zlib,
    createGzip: ((options) => {
      if (!failing.large) return zlib.createGzip(options);
      // A stream that fails as zlib's does when it cannot allocate its state.
      const stream = new Readable({ read() {} }) as unknown as ReturnType<typeof zlib.createGzip>;
      stream.end = (() => {
        setImmediate(() => stream.emit("error", Object.assign(new Error("zlib: out of memory"), { code: "Z_MEM_ERROR" })));
        return stream;
      }) as typeof stream.end;
      return stream;
    }) as typeof zlib.createGzip,
    gzipSync: ((buffer, options) => {
      if (failing.inline) throw Object.assign(new Error("zlib: out of memory"), { code: "Z_MEM_ERROR" });
      return zlib.gzipSync(buffer, options);
    }) as typeof zlib.gzipSync,
  };
});

/** A registry whose text is `series` lines of about 60 bytes. */
function registryOf(series: number): Registry {
  const registry = new Registry();
  const gauge = new Gauge({ name: "compressed_bytes", help: "A body to compress.", labelNames: ["path"], registers: [registry] });
  for (let i = 0; i < series; i++) gauge.set({ path: `/api/v1/resource/${i.toString(36).padStart(8, "0")}` }, i);
  return registry;
}

describe("a scrape whose compression fails", () => {
  for (const [kind, series] of [
    ["large", 20_000],
    ["inline", 10],
  ] as const) {
    it(`answers 500, reports COLLECT_FAILED, and the next scrape is served (${kind} body)`, async () => {
      const registry = registryOf(series);
      const reported: unknown[] = [];
      const source = { registry, hub: undefined, report: (error: unknown) => reported.push(error) };
      const request = { accept: undefined, acceptEncoding: "gzip" };
      failing[kind] = true;
      let failed: Awaited<ReturnType<typeof scrape>>;
      try {
        failed = await scrape(source, request);
      } finally {
        failing[kind] = false;
      }
      expect(failed.status).toBe(500);
      expect(failed.body.toString()).toBe("500 Internal Server Error: compressing metrics failed\n");
      expect(reported).toHaveLength(1);
      const error = reported[0] as OperationError;
      expect(error).toBeInstanceOf(OperationError);
      expect(error.code).toBe(ErrorCodes.COLLECT_FAILED);
      expect(error.message).toMatch(/compressing a scrape's body failed: zlib: out of memory/);
      expect((error.cause as Error).message).toBe("zlib: out of memory");

      const next = await scrape(source, request);
      expect(next.status).toBe(200);
      expect(next.headers["Content-Encoding"]).toBe("gzip");
      const { gunzipSync } = await import("node:zlib");
      expect(gunzipSync(next.body).toString()).toBe(await registry.metrics());
      expect(reported).toHaveLength(1);
    });
  }
});
