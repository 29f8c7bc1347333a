// A Prometheus-like scraper in a thread of its own, so its parsing never runs on the measured main
// thread: GET the URL with Prometheus's Accept and Accept-Encoding headers every `intervalMs` (or back to
// back with 0), read the whole body, post each scrape's duration in milliseconds and its byte count.
import { request } from "node:http";
import { parentPort, workerData } from "node:worker_threads";

const { url, intervalMs } = workerData;
const ACCEPT = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
let stopped = false;
parentPort.on("message", (message) => {
  if (message === "stop") stopped = true;
});

function once() {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = request(url, { headers: { Accept: ACCEPT, "Accept-Encoding": "gzip" } }, (res) => {
      let bytes = 0;
      res.on("data", (chunk) => (bytes += chunk.length));
      res.on("end", () => resolve({ ms: performance.now() - start, bytes, status: res.statusCode }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

while (!stopped) {
  const started = performance.now();
  const scrape = await once();
  parentPort.postMessage(scrape);
  const wait = intervalMs - (performance.now() - started);
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
parentPort.postMessage("stopped");
