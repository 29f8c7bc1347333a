/**
 * Jobs for test/fixtures/otel-task.mjs and the totals they must add up to, computed from the jobs alone.
 */

/** One task's work. */
export interface OtelJob {
  kind: string;
  incs: number;
  values: number[];
  poolSize: number;
}

/** Deterministic jobs: `count` tasks over two kinds, with values that are multiples of 2^-11 (exact sums). */
export function otelJobs(count: number, bigBurst = 100_000): OtelJob[] {
  const jobs: OtelJob[] = [];
  for (let t = 0; t < count; t++) {
    const values: number[] = [];
    for (let i = 0; i < 40; i++) {
      const k = (t * 40 + i) * 37 % 4001;
      // Zero, negatives and positives from 2^-11 up to about 4.
      if (k % 50 === 0) values.push(0);
      else if (k % 7 === 0) values.push(-(2 * k + 1) / 2048);
      else values.push((2 * k + 1) / 2048);
    }
    jobs.push({ kind: t % 2 === 0 ? "even" : "odd", incs: t === 0 ? bigBurst : 1 + (t % 5), values, poolSize: 42 });
  }
  return jobs;
}

/** Totals per kind. */
export interface Truth {
  incs: Map<string, number>;
  values: Map<string, number[]>;
  all: number[];
  tasks: number;
}

export function truthOf(jobs: readonly OtelJob[]): Truth {
  const incs = new Map<string, number>();
  const values = new Map<string, number[]>();
  for (const job of jobs) {
    incs.set(job.kind, (incs.get(job.kind) ?? 0) + job.incs);
    values.set(job.kind, [...(values.get(job.kind) ?? []), ...job.values]);
  }
  return { incs, values, all: jobs.flatMap((j) => j.values), tasks: jobs.length };
}

/** Per-bucket counts of `values` for upper-inclusive `bounds`, `+Inf` last. */
export function bucketCounts(values: readonly number[], bounds: readonly number[]): number[] {
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (const v of values) {
    const i = bounds.findIndex((b) => v <= b);
    counts[i < 0 ? bounds.length : i]!++;
  }
  return counts;
}

export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/**
 * OpenTelemetry's exponential buckets of `values` at `scale`, computed from the definition (bucket i holds
 * (2^(i/2^scale), 2^((i+1)/2^scale)]), with the zero count: the ground truth of an ExponentialHistogram.
 */
export function exponentialBuckets(values: readonly number[], scale: number): { zeroCount: number; positive: Map<number, number>; negative: Map<number, number> } {
  const positive = new Map<number, number>();
  const negative = new Map<number, number>();
  let zeroCount = 0;
  for (const v of values) {
    if (v === 0) {
      zeroCount++;
      continue;
    }
    const x = Math.log2(Math.abs(v)) * 2 ** scale;
    // Values are chosen off the boundaries; a value this close to one would make the test unsound.
    if (Math.abs(x - Math.round(x)) < 1e-9 && !Number.isInteger(Math.log2(Math.abs(v)))) throw new Error(`value ${v} too close to a bucket boundary`);
    const index = Math.ceil(x) - 1;
    const side = v > 0 ? positive : negative;
    side.set(index, (side.get(index) ?? 0) + 1);
  }
  return { zeroCount, positive, negative };
}

/** Dense counts (offset, bucketCounts) back to a sparse map, zeros left out. */
export function sparse(side: { offset: number; bucketCounts: readonly number[] }): Map<number, number> {
  const out = new Map<number, number>();
  side.bucketCounts.forEach((c, i) => {
    if (c !== 0) out.set(side.offset + i, c);
  });
  return out;
}
