// The worker side of the stall benchmark. `fill`: one observation into each of `series` label sets of a
// 12-bucket histogram, then idle. `flood`: observe as fast as it can into `series` label sets until told
// to stop, then post how many observe() calls returned.
import { parentPort, workerData } from "node:worker_threads";
import { Histogram, flush } from "../../dist/worker/index.js";

const { series, mode, buckets } = workerData.job;
const histogram = new Histogram({ name: "stall_seconds", help: "Stall benchmark histogram.", labelNames: ["id"], buckets, maxSeries: series });
const children = Array.from({ length: series }, (_, i) => histogram.labels({ id: `s${i}` }));
let stop = false;
parentPort.on("message", (message) => {
  if (message === "stop") stop = true;
});
if (mode === "fill") {
  for (let i = 0; i < series; i++) children[i].observe((i % 100) / 10);
  await flush();
  parentPort.postMessage({ calls: series });
} else {
  parentPort.postMessage("started");
  let calls = 0;
  let i = 0;
  while (!stop) {
    for (let n = 0; n < 4096; n++) {
      children[i].observe(n / 1000);
      if (++i === series) i = 0;
    }
    calls += 4096;
    // Let the stop message in.
    await new Promise((resolve) => setImmediate(resolve));
  }
  parentPort.postMessage({ calls });
}
