/**
 * The Prometheus client library the main thread builds on: prom-client 15, or `@prometheus-io/client`
 * (the same code base, maintained under the Prometheus organization, Node 22+). Both are optional peer
 * dependencies; prom-client is used when both are installed. Their registries share one interface
 * (`registerMetric`, `getMetricsAsJSON`, `metrics`), so a `Registry` of either can be handed to a
 * MetricsHub.
 * @module
 */
import { createRequire } from "node:module";
import type * as PromClient from "prom-client";
import { ConfigurationError, ErrorCodes } from "../shared/api/errors.js";

/** The packages tried, in order. */
const kClientPackages = ["prom-client", "@prometheus-io/client"] as const;

function load(): typeof PromClient {
  const require = createRequire(import.meta.url);
  for (const name of kClientPackages) {
    try {
      return require(name) as typeof PromClient;
    } catch (error) {
      // Only "not installed" moves on: an installed library that fails to load is the user's error to see.
      const missing = (error as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND" && String((error as Error).message).includes(`'${name}'`);
      if (!missing) throw error;
    }
  }
  throw new ConfigurationError(
    ErrorCodes.MISSING_PEER_DEPENDENCY,
    "prom-threads needs a Prometheus client library in the main thread, and neither of its optional peer dependencies is installed: npm install prom-client (or, on Node 22 or later, npm install @prometheus-io/client)",
  );
}

/** The loaded client library's exports (loaded once, when prom-threads is imported). */
export const client: typeof PromClient = load();
