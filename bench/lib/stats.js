// Small statistics helpers for the benchmarks: medians and spread over rounds.
import os from "node:os";

/** Median of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Summary of rounds: median, min, max, and spread as (max - min) / median. */
export function summarize(values) {
  const m = median(values);
  const min = Math.min(...values);
  const max = Math.max(...values);
  return { median: m, min, max, spread: m === 0 ? 0 : (max - min) / m, rounds: values.length };
}

/** Machine information to store with every result. */
export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
}

/** Format a number with a unit, three significant digits. */
export function fmt(value, unit = "") {
  const abs = Math.abs(value);
  const text = abs >= 1e9 ? `${(value / 1e9).toPrecision(3)}G` : abs >= 1e6 ? `${(value / 1e6).toPrecision(3)}M` : abs >= 1e3 ? `${(value / 1e3).toPrecision(3)}k` : value.toPrecision(3);
  return unit ? `${text} ${unit}` : text;
}

/** Parse `--quick`, `--rounds N` and similar flags. */
export function flags(argv = process.argv.slice(2)) {
  const out = { quick: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--quick") out.quick = true;
    else if (arg.startsWith("--")) {
      const key = arg.slice(2);
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith("--")) {
        out[key] = Number.isNaN(Number(next)) ? next : Number(next);
        i++;
      } else out[key] = true;
    }
  }
  return out;
}
