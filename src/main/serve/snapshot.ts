/**
 * The shape of `registry.getMetricsAsJSON()` that the renderers read. Typed loosely on purpose: any
 * metric object a prom-client Registry holds (prom-client's own, the hub's, a user's) produces it.
 * @module
 */

/** Labels of one sample, as prom-client gives them (values may be numbers, e.g. `le`). */
export type SampleLabels = Readonly<Record<string, string | number | undefined>>;

/** An exemplar attached to a sample (prom-client's `Exemplar`). */
export interface ExemplarSnapshot {
  readonly labelSet?: SampleLabels;
  readonly value?: number | null;
  /** Seconds since the epoch. */
  readonly timestamp?: number;
}

/** One sample of a metric family. */
export interface SampleSnapshot {
  readonly value: number;
  readonly labels?: SampleLabels;
  /** The sample's own name when it differs from the family's (`x_bucket`, `x_sum`, `x_count`). */
  readonly metricName?: string;
  readonly exemplar?: ExemplarSnapshot | null;
}

/** One metric family. */
export interface FamilySnapshot {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly values?: readonly SampleSnapshot[];
}

/** Render a label set `{a="x",b="y"}` (or the empty string) with `escape` applied to values. */
export function renderLabels(labels: SampleLabels | undefined, escape: (value: string) => string): string {
  if (labels === undefined) return "";
  let out = "";
  for (const name in labels) {
    const value = labels[name];
    if (value === undefined) continue;
    out += `${out === "" ? "" : ","}${name}="${escape(String(value))}"`;
  }
  return out === "" ? "" : `{${out}}`;
}
