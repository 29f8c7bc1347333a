// How each contender records the workload inside a worker (thread or process). Every recorder offers the
// same shape: stored children for a histogram and a counter, a timed no-op, flush() and close().
import { HELP, HISTOGRAM, COUNTER, LABELS, TIMED, seriesLabels } from "./workload.js";

const noop = () => undefined;

/** prom-client's own metrics, in this thread's default registry (what AggregatorRegistry reads too). */
async function promClientLike(client) {
  const registers = [client.register];
  const histogram = new client.Histogram({ name: HISTOGRAM, help: HELP, labelNames: LABELS, registers });
  const counter = new client.Counter({ name: COUNTER, help: HELP, labelNames: LABELS, registers });
  const timed = new client.Histogram({ name: TIMED, help: HELP, registers }).labels();
  return {
    histogram: (i) => histogram.labels(...seriesLabels(i)),
    counter: (i) => counter.labels(...seriesLabels(i)),
    // The library's idiom for timing: a timer started before the call, ended after it.
    timeNoop: () => {
      const end = timed.startTimer();
      noop();
      end();
    },
    flush: async () => {},
    close: async () => {},
  };
}

/** Build the recorder of `contender`. `context` holds the observation port of the postMessage contender. */
export async function createRecorder(contender, context = {}) {
  switch (contender) {
    case "prom-client":
      return promClientLike((await import("prom-client")).default);
    case "cluster": {
      const client = (await import("prom-client")).default;
      // Each cluster worker constructs the AggregatorRegistry too: that installs its IPC answerer.
      new client.AggregatorRegistry();
      return promClientLike(client);
    }
    case "worker-registry": {
      const client = (await import("@prometheus-io/client")).default;
      // In a worker thread the constructor announces this thread to the primary's WorkerRegistry.
      const registry = new client.WorkerRegistry();
      const recorder = await promClientLike(client);
      // shutdown() hands this thread's counts to the primary, as its docs ask before a worker exits.
      recorder.close = () => registry.shutdown();
      return recorder;
    }
    case "postMessage": {
      const { port } = context;
      let timedStart = 0;
      return {
        histogram: (i) => ({ observe: (value) => port.postMessage([1, i, value]) }),
        counter: (i) => ({ inc: (value = 1) => port.postMessage([0, i, value]) }),
        timeNoop: () => {
          timedStart = performance.now();
          noop();
          port.postMessage([2, 0, (performance.now() - timedStart) / 1000]);
        },
        flush: () => sync(port),
        close: async () => {},
      };
    }
    case "prom-threads": {
      const worker = await import("../../dist/worker/index.js");
      const histogram = new worker.Histogram({ name: HISTOGRAM, help: HELP, labelNames: LABELS });
      const counter = new worker.Counter({ name: COUNTER, help: HELP, labelNames: LABELS });
      const timed = worker.time(new worker.Histogram({ name: TIMED, help: HELP }).labels(), noop);
      return {
        histogram: (i) => histogram.labels(...seriesLabels(i)),
        counter: (i) => counter.labels(...seriesLabels(i)),
        timeNoop: timed,
        // Every record is in shared memory when its call returns: nothing to hand over.
        flush: async () => {},
        close: async () => {},
      };
    }
    default:
      throw new Error(`unknown contender ${contender}`);
  }
}

let syncs = 0;
/** Resolve once the main thread has applied every message this thread posted before the call. */
export function sync(port) {
  const id = ++syncs;
  return new Promise((resolve) => {
    const onMessage = (message) => {
      if (message?.synced !== id) return;
      port.off("message", onMessage);
      resolve();
    };
    port.on("message", onMessage);
    port.postMessage({ sync: id });
  });
}

/** The labelled child of series `series`, made once and kept in `cache`. */
function childOf(cache, metric, series) {
  let child = cache[series];
  if (child === undefined) {
    child = metric.labels(...seriesLabels(series));
    cache[series] = child;
  }
  return child;
}

/**
 * The main-thread side of the postMessage contender: apply each posted observation to a prom-client
 * metric in `registry`, and answer sync requests once everything before them is applied.
 */
export function applyPostedObservations(client, registry, port, tally) {
  const histogram = registry.getSingleMetric(HISTOGRAM) ?? new client.Histogram({ name: HISTOGRAM, help: HELP, labelNames: LABELS, registers: [registry] });
  const counter = registry.getSingleMetric(COUNTER) ?? new client.Counter({ name: COUNTER, help: HELP, labelNames: LABELS, registers: [registry] });
  const timed = (registry.getSingleMetric(TIMED) ?? new client.Histogram({ name: TIMED, help: HELP, registers: [registry] })).labels();
  const histograms = [];
  const counters = [];
  port.on("message", (message) => {
    if (!Array.isArray(message)) {
      if (message?.sync !== undefined) port.postMessage({ synced: message.sync });
      return;
    }
    const [kind, series, value] = message;
    if (kind === 1) childOf(histograms, histogram, series).observe(value);
    else if (kind === 0) childOf(counters, counter, series).inc(value);
    else timed.observe(value);
    tally.applied++;
  });
  port.unref?.();
}
