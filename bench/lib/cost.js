// Worker-side cost per call: every thread contender's cases alternate round by round in one worker thread,
// so they all meet the same machine conditions. The cluster contender records with prom-client in a
// worker process; it is measured in one, right after.
import cluster from "node:cluster";
import { MessageChannel, Worker } from "node:worker_threads";
import { applyPostedObservations } from "./recorders.js";

const agentFile = new URL("./agent.js", import.meta.url);

function once(target, event, filter) {
  return new Promise((resolve, reject) => {
    const listener = (message) => {
      if (!filter(message)) return;
      target.off(event, listener);
      resolve(message);
    };
    target.on(event, listener);
    target.once("error", reject);
  });
}

async function costIn(member, send, ops, rounds) {
  await once(member, "message", (m) => m?.benchReady);
  const reply = once(member, "message", (m) => m?.benchId === 1);
  send({ benchId: 1, cmd: "cost", args: { ops, rounds } });
  const message = await reply;
  if (message.error) throw new Error(message.error);
  return message.result;
}

/** Measure every case of `settings.contenders` in one thread; `settings.cluster` adds a cluster worker. */
export async function measureCost({ contenders, ops, rounds, cluster: withCluster }) {
  const extra = {};
  const transferList = [];
  let hub;
  if (contenders.includes("postMessage")) {
    const client = (await import("prom-client")).default;
    const { port1, port2 } = new MessageChannel();
    applyPostedObservations(client, new client.Registry(), port1, { applied: 0 });
    extra.port = port2;
    transferList.push(port2);
  }
  if (contenders.includes("prom-threads")) {
    const client = (await import("prom-client")).default;
    const { MetricsHub } = await import("../../dist/main/index.js");
    hub = new MetricsHub({ registry: new client.Registry() });
    Object.assign(extra, hub.workerData);
  }
  if (contenders.includes("worker-registry")) {
    const client = (await import("@prometheus-io/client")).default;
    new client.WorkerRegistry();
  }
  const worker = new Worker(agentFile, { workerData: { contenders, ...extra }, transferList });
  hub?.attach(worker);
  const results = await costIn(worker, (m) => worker.postMessage(m), ops, rounds);
  await worker.terminate();
  await hub?.close();
  if (withCluster) {
    cluster.setupPrimary({ exec: agentFile.pathname });
    const member = cluster.fork({ BENCH_AGENT: JSON.stringify({ contenders: ["cluster"] }) });
    results.push(...(await costIn(member, (m) => member.send(m), ops, rounds)));
    member.process.kill();
  }
  return results;
}
