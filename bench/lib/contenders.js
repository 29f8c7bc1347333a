// The main-thread side of each contender: start its workers, run the workload, scrape, count and close.
// Every adapter offers the same calls, so each figure is measured the same way for every contender.
import cluster from "node:cluster";
import { MessageChannel, Worker } from "node:worker_threads";
import { applyPostedObservations } from "./recorders.js";
import { busyTask, countIn, sleep, valueAt } from "./workload.js";

const agentFile = new URL("./agent.js", import.meta.url);

/** Contenders in table order, with what a reader needs to know about each. */
export const CONTENDERS = {
  "prom-client": { label: "prom-client, same thread", short: "prom-client (1 thread)", runtime: "node" },
  postMessage: { label: "postMessage per observation → prom-client in main", short: "postMessage", runtime: "node" },
  cluster: { label: "prom-client AggregatorRegistry over node:cluster", short: "AggregatorRegistry (cluster)", runtime: "node" },
  "worker-registry": { label: "@prometheus-io/client 0.16 WorkerRegistry (Node 22)", short: "WorkerRegistry (Node 22)", runtime: "node22" },
  "prom-threads": { label: "prom-threads", short: "prom-threads", runtime: "node" },
};

/** A set of agents (worker threads or cluster processes) that answer numbered commands. */
class Agents {
  #members = [];
  #next = 0;
  #pending = new Map();

  static async threads(count, contenders, perAgent = () => ({})) {
    const agents = new Agents();
    await Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const extra = perAgent(index);
        const worker = new Worker(agentFile, { workerData: { contenders, ...extra.workerData }, transferList: extra.transferList ?? [] });
        worker.on("error", (error) => agents.#failAll(error));
        extra.onWorker?.(worker);
        await agents.#add(worker, (listener) => worker.on("message", listener));
      }),
    );
    return agents;
  }

  static async processes(count, contenders) {
    const agents = new Agents();
    cluster.setupPrimary({ exec: agentFile.pathname, silent: false });
    await Promise.all(
      Array.from({ length: count }, async () => {
        const worker = cluster.fork({ BENCH_AGENT: JSON.stringify({ contenders }) });
        worker.on("error", (error) => agents.#failAll(error));
        await agents.#add(worker, (listener) => worker.on("message", listener));
      }),
    );
    return agents;
  }

  get members() {
    return this.#members;
  }

  /** End member `index` abruptly (terminate() or SIGKILL), as a crash would, without its close step. */
  async kill(index) {
    const member = this.#members[index];
    this.#members.splice(index, 1);
    if (member.terminate) await member.terminate();
    else
      await new Promise((resolve) => {
        member.once("exit", resolve);
        member.process.kill("SIGKILL");
      });
  }

  #add(member, listen) {
    return new Promise((resolve) => {
      listen((message) => {
        if (message?.benchReady) {
          this.#members.push(member);
          resolve();
          return;
        }
        const waiter = message?.benchId === undefined ? undefined : this.#pending.get(message.benchId);
        if (waiter === undefined) return;
        this.#pending.delete(message.benchId);
        if (message.error !== undefined) waiter.reject(new Error(message.error));
        else waiter.resolve(message.result);
      });
    });
  }

  #failAll(error) {
    for (const waiter of this.#pending.values()) waiter.reject(error);
    this.#pending.clear();
  }

  /** Send a command to one member and resolve with its result. */
  call(member, cmd, args) {
    const benchId = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#pending.set(benchId, { resolve, reject });
      member.postMessage ? member.postMessage({ benchId, cmd, args }) : member.send({ benchId, cmd, args });
    });
  }

  /** Send a command to every member; resolves with their results in member order. */
  all(cmd, args) {
    return Promise.all(this.#members.map((member) => this.call(member, cmd, args)));
  }

  async close() {
    await this.all("close").catch(() => undefined);
    await Promise.all(
      this.#members.map((member) =>
        member.terminate
          ? member.terminate()
          : new Promise((resolve) => {
              member.once("exit", resolve);
              member.kill();
            }),
      ),
    );
  }
}

/**
 * Open `name` with `workers` workers. The returned adapter's calls:
 * produce(n): every worker records n observations; resolves when a scrape shows them all.
 * scrape(): the exposition text a /metrics handler of this contender would serve.
 * busy(args): every worker runs CPU-bound tasks (the single-thread contender runs them itself).
 * series(count, perSeries): every worker makes `count` histogram series exist.
 * heap(): per-worker and main-thread memory figures.
 */
export async function openContender(name, { workers, selfMetrics = true }) {
  switch (name) {
    case "prom-client":
      return openSameThread(workers);
    case "postMessage":
      return openPostMessage(workers);
    case "cluster":
      return openCluster(workers);
    case "worker-registry":
      return openWorkerRegistry(workers);
    case "prom-threads":
      return openPromThreads(workers, selfMetrics);
    default:
      throw new Error(`unknown contender ${name}`);
  }
}

/** Shared by the adapters whose workers are agents. */
function agentAdapter({ agents, scrape, workers, close, extraStats = () => ({}) }) {
  return {
    workers,
    agents,
    scrape,
    async produce(n) {
      const before = countIn(await scrape());
      const start = performance.now();
      await agents.all("produce", { n });
      const text = await scrape();
      const seconds = (performance.now() - start) / 1000;
      const counted = countIn(text) - before;
      return { seconds, counted, expected: n * workers, ...extraStats() };
    },
    busy: (args) => agents.all("busy", args),
    series: (count, perSeries) => agents.all("series", { count, perSeries }),
    heap: () => agents.all("heap"),
    close,
  };
}

async function openSameThread(workers) {
  const client = (await import("prom-client")).default;
  const { createRecorder } = await import("./recorders.js");
  // The single-thread contender records into prom-client's default registry of this process.
  client.register.clear();
  const recorder = await createRecorder("prom-client");
  const scrape = () => client.register.metrics();
  return {
    workers: 0,
    scrape,
    async produce(n) {
      const before = countIn(await scrape());
      const child = recorder.histogram(0);
      const total = n * workers;
      const start = performance.now();
      for (let i = 0; i < total; i++) child.observe(valueAt(i));
      const text = await scrape();
      const seconds = (performance.now() - start) / 1000;
      return { seconds, counted: countIn(text) - before, expected: total };
    },
    async busy({ seconds, taskMs, everyMs }) {
      // One thread runs the tasks of every worker: a scrape waits until the running task ends.
      const child = recorder.histogram(0);
      const end = performance.now() + seconds * 1000;
      while (performance.now() < end) {
        busyTask(taskMs, child, everyMs);
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    async series(count, perSeries) {
      for (let s = 0; s < count; s++) {
        const child = recorder.histogram(s);
        for (let k = 0; k < perSeries * Math.max(1, workers); k++) child.observe(valueAt(s + k * 7));
      }
    },
    heap: () => [],
    close: async () => client.register.clear(),
  };
}

async function openPostMessage(workers) {
  const client = (await import("prom-client")).default;
  const registry = new client.Registry();
  const tally = { applied: 0 };
  const agents = await Agents.threads(workers, ["postMessage"], () => {
    const { port1, port2 } = new MessageChannel();
    applyPostedObservations(client, registry, port1, tally);
    return { workerData: { port: port2 }, transferList: [port2] };
  });
  return agentAdapter({ agents, workers, scrape: () => registry.metrics(), close: () => agents.close() });
}

async function openCluster(workers) {
  const client = (await import("prom-client")).default;
  const aggregator = new client.AggregatorRegistry();
  const agents = await Agents.processes(workers, ["cluster"]);
  return agentAdapter({ agents, workers, scrape: () => aggregator.clusterMetrics(), close: () => agents.close() });
}

async function openWorkerRegistry(workers) {
  const client = (await import("@prometheus-io/client")).default;
  const aggregator = new client.WorkerRegistry();
  const known = client.WorkerRegistry.workerCount();
  const agents = await Agents.threads(workers, ["worker-registry"]);
  // Each worker announces itself on a BroadcastChannel; wait until the primary has heard every one.
  while (client.WorkerRegistry.workerCount() < known + workers) await sleep(1);
  return agentAdapter({ agents, workers, scrape: () => aggregator.workerMetrics(), close: () => agents.close() });
}

async function openPromThreads(workers, selfMetrics) {
  const client = (await import("prom-client")).default;
  const { MetricsHub } = await import("../../dist/main/index.js");
  const registry = new client.Registry();
  const hub = new MetricsHub({ registry, selfMetrics });
  const agents = await Agents.threads(workers, ["prom-threads"], () => ({
    workerData: hub.workerData,
    onWorker: (worker) => hub.attach(worker),
  }));
  const dropped = () => Object.values(hub.stats().recordsDropped).reduce((a, b) => a + b, 0);
  let droppedBefore = dropped();
  return {
    ...agentAdapter({
      agents,
      workers,
      scrape: () => registry.metrics(),
      close: async () => {
        await agents.close();
        await hub.close();
      },
      extraStats: () => {
        const now = dropped();
        const delta = now - droppedBefore;
        droppedBefore = now;
        return { reportedDropped: delta };
      },
    }),
    hub,
  };
}
