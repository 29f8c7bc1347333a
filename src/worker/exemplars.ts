/**
 * Worker-side exemplars: the `inc({ value, labels, exemplarLabels })` and
 * `observe({ value, labels, exemplarLabels })` calls of metrics built with `enableExemplars: true`.
 * The metric installs them in its constructor, as prom-client does, so metrics without exemplars keep
 * their plain calls. An observation with an exemplar travels as one OP_EXEMPLAR block.
 * @module
 */
import { encodeExemplar, validateExemplarLabels } from "../shared/exemplar.js";
import { OP_EXEMPLAR, packWord0 } from "../shared/protocol.js";
import type { LabelValues } from "../shared/types.js";
import { parseExemplarCall } from "./exemplar.js";
import { seriesIdOf } from "./metric.js";
import { runtime } from "./runtime.js";

/**
 * Most exemplars one thread sends per second. Each one is a block on the ring that, like a declaration,
 * is never dropped; the budget keeps a flood of them from crowding out observations. Past it, until the
 * second is over, observations are recorded without their exemplar (the hub keeps only the latest per
 * bucket, and Prometheus takes at most one per series per scrape, so little is lost).
 */
export const MAX_EXEMPLARS_PER_SECOND = 1000;

// The budget of this thread: exemplars sent in the second that began at `windowStart`.
let windowStart = 0;
let sentInWindow = 0;

/** The argument of `inc()` and `observe()` on a metric with `enableExemplars: true` (prom-client's shape). */
export interface ExemplarCall<T extends string = string> {
  /** The increment (default 1) or the observed value. */
  value?: number;
  /** Labels of the series. */
  labels?: LabelValues<T>;
  /** Labels of the exemplar, such as `{ trace_id }`: at most 128 characters in all. */
  exemplarLabels?: Record<string, string | number>;
}

/** What an exemplar call needs from its metric. */
export interface ExemplarTarget<Child> {
  readonly name: string;
  /** The call's name, for errors: `inc` or `observe`. */
  readonly call: "inc" | "observe";
  /** Resolve labels to the bound child. */
  child(labels: object | undefined): Child;
  /** The plain call on a child (`inc` or `observe`), for calls without exemplar labels. */
  plain(child: Child, value: unknown): void;
  /** Validate `value` (throws as the plain call does) and return it with its record's op and aux. */
  record(value: unknown): { op: number; aux: number; value: number };
}

/** Build the exemplar form of `inc()`/`observe()` for a metric. */
export function exemplarCall<Child>(target: ExemplarTarget<Child>): (call?: ExemplarCall | number) => void {
  return (arg) => {
    if (arg === undefined || arg === null || typeof arg === "number") {
      target.plain(target.child(undefined), arg);
      return;
    }
    // Anything but { value, labels, exemplarLabels } throws, where prom-client would silently record it.
    const call = parseExemplarCall(target.name, target.call, arg);
    const child = target.child(call.labels);
    const labels = call.exemplarLabels as Record<string, string | number> | undefined;
    if (labels === undefined || Object.keys(labels).length === 0) {
      target.plain(child, call.value);
      return;
    }
    const exemplar = validateExemplarLabels(target.name, labels);
    const now = Date.now();
    if (now - windowStart >= 1000 || now < windowStart) {
      windowStart = now;
      sentInWindow = 0;
    }
    if (sentInWindow >= MAX_EXEMPLARS_PER_SECOND) {
      target.plain(child, call.value);
      return;
    }
    const { op, aux, value } = target.record(call.value);
    const id = seriesIdOf(child as object);
    if (id === undefined) return;
    sentInWindow++;
    runtime.declare(packWord0(OP_EXEMPLAR, id), encodeExemplar(op, aux, value, now, exemplar));
  };
}
