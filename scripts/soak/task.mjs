// The soak and churn workload's piscina task: a mix of counter, histogram, gauge and summary calls, some
// invalid on purpose (rejected at the call), a label per task (unbounded cardinality: folds past
// maxSeries), a removed label set recorded on again (dropped as removed_series), and, when asked, a crash.
//
// Accounting (see workload.mjs for the argument): every observation call goes through `call()`, which
// stores in this task's three words of `slots`: [0] calls started (stored BEFORE the call), [1] calls that
// returned, [2] calls that threw at the call site (rejected). A kill can fall between the store before a
// call and the store after it: that call is "in flight", and this task's words show it (started > ok +
// rejected). [3] holds the threadId running the task, so the driver can terminate exactly that thread.
import { threadId } from "node:worker_threads";
import { Counter, Gauge, Histogram, Summary } from "../../dist/worker/index.js";

const ops = new Counter({ name: "soak_ops_total", help: "Operations done.", labelNames: ["kind"] });
const seconds = new Histogram({ name: "soak_op_seconds", help: "Operation time.", labelNames: ["kind"], buckets: [0.001, 0.01, 0.1, 1] });
const running = new Gauge({ name: "soak_tasks_running", help: "Tasks running now.", aggregate: "sum" });
const level = new Gauge({ name: "soak_task_level", help: "A per-task level, removed when the task ends.", labelNames: ["task"] });
const payload = new Summary({ name: "soak_payload_bytes", help: "Payload sizes.", percentiles: [0.5, 0.99], maxAgeSeconds: 60, ageBuckets: 2 });
const perTask = new Counter({ name: "soak_task_calls_total", help: "Tasks, by task id (unbounded on purpose).", labelNames: ["task"] });
const byShard = new Counter({ name: "soak_shard_tasks_total", help: "Tasks, by shard.", labelNames: ["shard"] });
const kinds = ["read", "write", "scan"].map((kind) => ({ ops: ops.labels(kind), seconds: seconds.labels(kind) }));

function crash(kind) {
  switch (kind) {
    case "throw":
      // An uncaught error kills the thread (a task's own rejection would not).
      setImmediate(() => {
        throw new Error("soak: the task crashes its worker");
      });
      return new Promise(() => {});
    case "exit":
      process.exit(7);
      break;
    case "oom": {
      const hoard = [];
      for (;;) hoard.push(new Array(8192).fill(hoard.length));
    }
  }
  return undefined;
}

export default async function task({ slots, slot, id, calls, crashKind, crashAt, noop }) {
  if (noop) return undefined; // the driver's kick for a stalled pool (see workload.mjs)
  const words = new Int32Array(slots);
  const base = slot * 4;
  // Why Atomics.store: the driver reads which thread runs this task, to terminate it.
  Atomics.store(words, base + 3, threadId);
  let started = 0;
  let ok = 0;
  let rejected = 0;
  const call = (fn) => {
    // Why a store before the call: after a kill, started > ok + rejected marks the one call in flight.
    Atomics.store(words, base, ++started);
    try {
      fn();
    } catch (error) {
      if (typeof error?.code !== "string" || !error.code.startsWith("ERR_PROM_THREADS_")) throw error;
      Atomics.store(words, base + 2, ++rejected);
      return;
    }
    Atomics.store(words, base + 1, ++ok);
  };

  const mine = level.labels(String(id));
  call(() => running.inc());
  call(() => perTask.inc({ task: String(id) }));
  call(() => byShard.inc({ shard: String(id % 50) }));
  call(() => mine.set(id));
  let x = id >>> 0;
  for (let i = 0; i < calls; i++) {
    if (crashKind !== undefined && i === crashAt) await crash(crashKind);
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const k = kinds[x % 3];
    call(() => k.ops.inc());
    call(() => k.seconds.observe((x % 1000) / 1000));
    if (i % 7 === 0) call(() => payload.observe(x % 4096));
    if (i % 50 === 49) call(() => k.ops.inc(-1)); // rejected: a counter never goes down
    if (i % 97 === 96) call(() => k.seconds.observe(Number.NaN)); // rejected
    if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
  }
  call(() => running.dec());
  level.remove(String(id));
  call(() => mine.set(-1)); // on a removed label set: dropped as removed_series
  return { started, ok, rejected };
}
