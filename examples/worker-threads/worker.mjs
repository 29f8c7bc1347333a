// A plain worker thread: records metrics, then ends. It finds the hub in its workerData.
import { workerData } from "node:worker_threads";
import { Counter, Histogram } from "prom-threads/worker";

const items = new Counter({ name: "example_items_total", help: "Items processed.", labelNames: ["worker"] });
const sizes = new Histogram({ name: "example_item_size", help: "Item sizes.", buckets: [10, 100, 1000] });

const mine = items.labels(String(workerData.index));
for (let i = 0; i < workerData.items; i++) {
  mine.inc();
  sizes.observe((i * 37) % 2000);
}
// Nothing to flush: every record is in shared memory, where the hub reads it, when its call returns.
