import { describe, expect, it } from "vitest";
import * as protocol from "../../src/shared/transport/protocol.js";

describe("the record protocol", () => {
  it("gives every operation its own code, observations below the declaration range, all in the op byte", () => {
    // Operation codes are the kOp* constants (OP_EXEMPLAR keeps its old name until its module is renamed).
    const ops = Object.entries(protocol).filter(([name]) => /^(kOp|OP_)[A-Z]/.test(name)) as Array<[string, number]>;
    // The operations that carry an observation (counted in the drained/dropped totals), not a declaration.
    const observationOps = new Set([protocol.kOpAdd, protocol.kOpSet, protocol.kOpObserve]);
    const isObservationOp = (op: number): boolean => observationOps.has(op);
    expect(ops.length).toBeGreaterThanOrEqual(9);
    expect(new Set(ops.map(([, code]) => code)).size).toBe(ops.length);
    for (const [name, code] of ops) {
      expect(Number.isInteger(code) && code > 0 && code < 256, name).toBe(true);
      expect(isObservationOp(code), name).toBe(code < protocol.kOpDeclareMetric);
    }
  });
});
