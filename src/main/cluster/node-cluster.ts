/**
 * node:cluster, loaded on first use rather than imported: some application servers (Phusion Passenger)
 * break when it is merely imported, and most users of `prom-threads` never touch it (prom-client loads it
 * lazily for the same reason).
 * @module
 */
import type { Cluster } from "node:cluster";
import { createRequire } from "node:module";

let cached: Cluster | undefined;

/** Return the node:cluster module. */
export function nodeCluster(): Cluster {
  cached ??= createRequire(import.meta.url)("node:cluster") as Cluster;
  return cached;
}
