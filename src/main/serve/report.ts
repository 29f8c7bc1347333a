/**
 * Where serving reports a problem it handled (a failed collect): the `onError` option, the hub's `error`
 * event, or else a process warning, once per distinct message so a broken metric does not flood logs.
 * @module
 */
import type { PromThreadsError } from "../../shared/api/errors.js";
import type { MetricsHub } from "../hub.js";

/** Report a handled serving error. Never throws. */
export type Reporter = (error: PromThreadsError) => void;

/** Create the reporter for a hub (optional) and an `onError` callback (optional). */
export function createReporter(hub: MetricsHub | undefined, onError: ((error: PromThreadsError) => void) | undefined): Reporter {
  const warned = new Set<string>();
  return (error) => {
    let handled = false;
    if (onError !== undefined) {
      handled = true;
      try {
        onError(error);
      } catch {
        // A throwing onError must not take the server down; the error was delivered.
      }
    }
    if (hub !== undefined && hub.listenerCount("error") > 0) {
      handled = true;
      try {
        hub.emit("error", error);
      } catch {
        // Same as above: a listener that throws does not stop the scrape's 500.
      }
    }
    if (handled || warned.has(error.message)) return;
    warned.add(error.message);
    process.emitWarning(error.message, { code: error.code });
  };
}
