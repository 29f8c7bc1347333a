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
export const CLIENT_PACKAGES = ["prom-client", "@prometheus-io/client"] as const;

function load(): { client: typeof PromClient; name: (typeof CLIENT_PACKAGES)[number] } {
  const require = createRequire(import.meta.url);
  for (const name of CLIENT_PACKAGES) {
    try {
      return { client: require(name) as typeof PromClient, name };
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

const loaded = load();

/** The loaded client library's exports. */
export const client: typeof PromClient = loaded.client;
/** Which package {@link client} is. */
export const clientPackage: (typeof CLIENT_PACKAGES)[number] = loaded.name;
