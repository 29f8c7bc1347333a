/** Small helpers to read prom-client's text exposition in assertions. */
import type { Registry } from "prom-client";

/** Parse text-format samples into a map from `name{labels}` (labels as rendered) to value. */
export function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** Scrape `registry` and return one sample's value, or undefined when absent. */
export async function sample(registry: Registry, key: string): Promise<number | undefined> {
  return samples(await registry.metrics()).get(key);
}

/** Sum of every sample whose key starts with `prefix` followed by `{` or end. */
export function sumOf(all: Map<string, number>, name: string): number {
  let total = 0;
  for (const [key, value] of all) if (key === name || key.startsWith(`${name}{`)) total += value;
  return total;
}
