import { describe, expect, it } from "vitest";
import * as protocol from "../../src/shared/transport/protocol.js";

describe("the record protocol", () => {
  it("gives every operation its own code, observations below the declaration range, all in the op byte", () => {
    const ops = Object.entries(protocol).filter(([name]) => name.startsWith("OP_")) as Array<[string, number]>;
    expect(ops.length).toBeGreaterThanOrEqual(9);
    expect(new Set(ops.map(([, code]) => code)).size).toBe(ops.length);
    for (const [name, code] of ops) {
      expect(Number.isInteger(code) && code > 0 && code < 256, name).toBe(true);
      expect(protocol.isObservationOp(code), name).toBe(code < protocol.kOpDeclareMetric);
    }
  });
});
