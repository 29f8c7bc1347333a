// A benchmark agent: runs in a worker thread (or a node:cluster worker process) and executes the
// commands the main side sends it, recording with one or more contenders' libraries.
import cluster from "node:cluster";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { createRecorder } from "./recorders.js";
import { compileLoop } from "./loop.js";
import { busyTask, liveHeap, valueAt } from "./workload.js";

const inCluster = isMainThread && cluster.isWorker;
const data = inCluster ? JSON.parse(process.env.BENCH_AGENT) : workerData;
// Heap before any metric library is loaded or any metric exists: the baseline of the memory figure.
const baselineHeap = liveHeap();
const recorders = {};
for (const contender of data.contenders) recorders[contender] = await createRecorder(contender, { port: data.port });
const main = recorders[data.contenders[0]];

const send = inCluster ? (message) => process.send(message) : (message) => parentPort.postMessage(message);
const onMessage = inCluster ? (listener) => process.on("message", listener) : (listener) => parentPort.on("message", listener);

const commands = {
  /** Record `n` histogram observations as fast as possible, then make sure they are all handed over. */
  async produce({ n }) {
    const child = main.histogram(0);
    const start = performance.now();
    for (let i = 0; i < n; i++) child.observe(valueAt(i));
    await main.flush();
    return { produced: n, seconds: (performance.now() - start) / 1000 };
  },

  /** Run CPU-bound tasks of `taskMs` back to back for `seconds`, yielding to the event loop between tasks. */
  async busy({ seconds, taskMs, everyMs }) {
    const child = main.histogram(0);
    const end = performance.now() + seconds * 1000;
    let tasks = 0;
    let observations = 0;
    while (performance.now() < end) {
      observations += busyTask(taskMs, child, everyMs);
      tasks++;
      // Between tasks the event loop turns, as in a piscina worker: that is when a worker can answer.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await main.flush();
    return { tasks, observations };
  },

  /** Make series 0..count-1 of the histogram exist, each with `perSeries` observations. */
  async series({ count, perSeries }) {
    for (let s = 0; s < count; s++) {
      const child = main.histogram(s);
      for (let k = 0; k < perSeries; k++) child.observe(valueAt(s + k * 7));
    }
    await main.flush();
    return { count };
  },

  /** Live heap after a full collection, and the baseline from before any metric library was loaded. */
  heap() {
    return { baseline: baselineHeap, now: liveHeap(), rss: process.memoryUsage().rss };
  },

  /** Worker-side ns per call of each case, alternating contenders round by round, after a warm-up. */
  async cost({ ops, rounds }) {
    const cases = [];
    for (const [contender, recorder] of Object.entries(recorders)) {
      // Each contender gets loops compiled from their own source text, so no call site's type feedback
      // is shared between libraries (a shared one would slow every library down alike).
      const inc = compileLoop("m.inc()");
      const observe = compileLoop("m.observe((i & 1023) / 1000)");
      const timed = compileLoop("m()");
      const histogram = recorder.histogram(1);
      const counter = recorder.counter(1);
      cases.push(
        { contender, shape: "counter.inc, stored child, 2 labels", ops, run: (n) => inc(counter, n) },
        { contender, shape: "histogram.observe, stored child, 2 labels", ops, run: (n) => observe(histogram, n) },
        { contender, shape: "time() around a no-op", ops: ops >> 2, run: (n) => timed(recorder.timeNoop, n) },
      );
    }
    // Same shape side by side: every contender's counter.inc, then every contender's observe, and so on.
    const shapes = [...new Set(cases.map((c) => c.shape))];
    cases.sort((a, b) => shapes.indexOf(a.shape) - shapes.indexOf(b.shape));
    const results = cases.map(() => []);
    for (let round = -1; round < rounds; round++) {
      for (let c = 0; c < cases.length; c++) {
        const { ops: n, run, contender } = cases[c];
        const start = process.hrtime.bigint();
        run(n);
        const ns = Number(process.hrtime.bigint() - start) / n;
        if (round >= 0) results[c].push(ns);
        // Let whoever receives the records catch up before the next case, so no case pays for another.
        await recorders[contender].flush();
      }
    }
    return cases.map(({ contender, shape }, c) => ({ contender, shape, values: results[c] }));
  },

  async close() {
    for (const recorder of Object.values(recorders)) await recorder.close();
    return {};
  },
};

onMessage(async (message) => {
  if (message?.benchId === undefined) return; // e.g. prom-client's own cluster requests
  try {
    const result = await commands[message.cmd](message.args ?? {});
    send({ benchId: message.benchId, result });
  } catch (error) {
    send({ benchId: message.benchId, error: String(error?.stack ?? error) });
  }
});
send({ benchReady: true });
