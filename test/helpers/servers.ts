/** Metrics servers for tests: started on a free port, closed (with anything else registered) after each test. */
import { afterEach } from "vitest";
import { startHttpServer, type MetricsServer } from "../../src/main/index.js";

/**
 * Register an afterEach that runs the returned `cleanups` (last first), and return `serve()`, which starts
 * a server on a free port that is closed after the test.
 */
export function serverScope(): { serve: (options: Parameters<typeof startHttpServer>[0]) => Promise<MetricsServer>; cleanups: (() => unknown)[] } {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()?.();
  });
  const serve = async (options: Parameters<typeof startHttpServer>[0]): Promise<MetricsServer> => {
    const server = await startHttpServer({ port: 0, ...options });
    cleanups.push(() => server.close());
    return server;
  };
  return { serve, cleanups };
}
