/**
 * The cluster primary's side: receive every worker process's pushes over node:cluster's IPC channel and
 * keep the cluster-wide metrics in one registry, served from one port.
 * @module
 */
import type { Cluster, Worker as ClusterWorker } from "node:cluster";
import { EventEmitter } from "node:events";
import type { Registry } from "prom-client";
import { client } from "../client.js";
import { ConfigurationError, ErrorCodes, type PromThreadsError, ProtocolError } from "../../shared/api/errors.js";
import { integerOption, invalid, optionsObject } from "../validate-options.js";
import { nodeCluster } from "./node-cluster.js";
import { kDefaultMaxSeries } from "../../shared/model/limits.js";
import { isClassicLabelName, isReservedName } from "../../shared/model/names.js";
import { familyProblem, labelsProblem, parseExtra, type SeriesExtra } from "./validate-push.js";
import { type ClusterFamily, CounterFamily, GaugeFamily, HistogramFamily, SummaryFamily, type ProcessId } from "./families.js";
import {
  diffSnapshots,
  isOurs,
  message,
  readRegistry,
  snapshotOf,
  kProtocolVersion,
  kPushVersion,
  type AckMessage,
  type CollectMessage,
  type ResyncMessage,
  type WireFamily,
  type WireSeries,
  type Snapshot,
} from "./protocol.js";
import { Reporter } from "../reporter.js";
import { beforeServing, hookRegistry } from "../registry-hook.js";

/** Options of {@link ClusterAggregator}. */
export interface ClusterAggregatorOptions {
  /**
   * The registry that receives the cluster-wide metrics. Serve it: `startHttpServer({ registry })`.
   * @default a new prom-client Registry
   */
  registry?: Registry;
  /**
   * Registries of the primary process itself (e.g. its own MetricsHub's, or prom-client's `register`
   * with `collectDefaultMetrics()`), read at every scrape and added in as the process `"primary"`.
   * @default []
   */
  localRegistries?: Registry[];
  /**
   * Milliseconds a scrape waits for fresh pushes from the worker processes after asking them. A scrape
   * never waits longer: a busy process is shown with what it pushed last. `0` does not ask.
   * @default 100
   */
  scrapeWaitMs?: number;
  /**
   * The label that tells processes apart in summaries (their quantiles cannot be merged).
   * @default "cluster_worker"
   */
  processLabel?: string;
  /**
   * Label sets one metric may have in the aggregate; further ones fold into its overflow series (every
   * label `"__overflow__"`), as in a MetricsHub. Summaries cannot be folded: their label sets past it are
   * refused. Each process may fold at most as many label sets per metric again.
   * @default 2000
   */
  maxSeries?: number;
  /**
   * Metric families the aggregator holds; further families pushed are refused.
   * @default 10000
   */
  maxFamilies?: number;
  /** The node:cluster module (for tests). @default `import("node:cluster")` */
  cluster?: Cluster;
}

/** One process as the aggregator knows it. */
export interface ClusterProcessStats {
  /** The cluster worker's id (`worker.id`), or `"primary"`. */
  id: string;
  /** The process id, when known. */
  pid: number | undefined;
  /** Whether the process is alive and connected; its gauge values count only then. */
  live: boolean;
  /** Pushes applied from it. */
  pushes: number;
  /** When its last push was applied (ms since the epoch), or 0. */
  lastPushAt: number;
}

/** A snapshot of the aggregator's state. */
export interface ClusterStats {
  /** Processes that pushed and are not forgotten yet (a dead process is forgotten once its channel is drained). */
  processes: ClusterProcessStats[];
  /** Metric families in the registry. */
  families: number;
  /** Pushes applied. */
  pushesApplied: number;
  /** Pushes ignored because a newer one of the same process was already applied (repeated or reordered). */
  pushesIgnored: number;
  /** Messages, families or series dropped as malformed (a wrong shape or value). */
  malformedMessages: number;
  /** Families refused: an invalid name, help, type or layout, or past `maxFamilies`. */
  rejectedFamilies: number;
  /** Series refused: invalid label names or values, or past a bound (`maxSeries` for summaries, overflow room). */
  rejectedSeries: number;
  /** Label sets folded into overflow series because their metric held `maxSeries`. */
  foldedSeries: number;
}

/** Events of a {@link ClusterAggregator}. */
export interface ClusterAggregatorEvents {
  /** A problem the aggregator handled: a malformed message, a conflicting declaration. */
  error: [PromThreadsError];
}

interface ProcessState {
  id: ProcessId;
  pid: number | undefined;
  worker: ClusterWorker | undefined;
  session: string | undefined;
  seq: number;
  synced: boolean;
  resyncAsked: boolean;
  alive: boolean;
  connected: boolean;
  replied: number;
  pushes: number;
  lastPushAt: number;
}

interface CollectWaiter {
  id: number;
  pending: Set<ProcessId>;
  done: () => void;
}

const kPrimary: ProcessId = "primary";

/**
 * Aggregate the metrics of every node:cluster worker process into one registry in the primary.
 *
 * Worker processes push with a {@link ClusterPublisher}. Counters and histograms are summed over every
 * process that ever pushed: they never go down when a process dies or is replaced. Gauges combine the
 * live processes' values with the metric's aggregator (a dead process's value disappears). Summaries are
 * shown per process with a `cluster_worker` label, because quantiles cannot be merged. A scrape asks every
 * process for a fresh push and waits at most `scrapeWaitMs` for the answers.
 *
 * @example
 * import cluster from "node:cluster";
 * import { ClusterAggregator, startHttpServer } from "prom-threads";
 * if (cluster.isPrimary) {
 *   const aggregator = new ClusterAggregator();
 *   await startHttpServer({ registry: aggregator.registry, port: 9464 });
 *   for (let i = 0; i < 4; i++) cluster.fork();
 * }
 */
export class ClusterAggregator extends EventEmitter<ClusterAggregatorEvents> {
  /** The registry holding the cluster-wide metrics. */
  readonly registry: Registry;
  readonly #cluster: Cluster;
  readonly #local: Registry[];
  /** What the primary's own registries held at the last collect: each collect applies what changed since. */
  #lastLocal: Snapshot | undefined;
  readonly #scrapeWaitMs: number;
  readonly #processLabel: string;
  readonly #families = new Map<string, ClusterFamily | null>();
  readonly #processes = new Map<ProcessId, ProcessState>();
  readonly #waiters = new Set<CollectWaiter>();
  // Every push's problems are summed into at most one report per kind already: no rate on events.
  readonly #reporter = new Reporter(this, { eventsPerWindow: Infinity });
  readonly #gaugeClock = { seq: 0 };
  readonly #unhookRegistry: () => void;
  #refreshing: Promise<void> | undefined;
  #collectId = 0;
  #applied = 0;
  #ignored = 0;
  #malformed = 0;
  #rejectedFamilies = 0;
  #rejectedSeries = 0;
  #folded = 0;
  readonly #maxSeries: number;
  readonly #maxFamilies: number;
  #familyCount = 0;
  /** Families whose overflow was reported (once each). */
  readonly #overflowReported = new Set<string>();
  #closed = false;

  readonly #onMessage = (worker: ClusterWorker, raw: unknown): void => this.#receive(worker, raw);
  readonly #onExit = (worker: ClusterWorker): void => this.#gone(String(worker.id), "exit");
  readonly #onDisconnect = (worker: ClusterWorker): void => this.#gone(String(worker.id), "disconnect");

  /** Start listening to the cluster's worker processes. Throws a ConfigurationError outside the primary. */
  constructor(options?: ClusterAggregatorOptions) {
    super();
    const raw = optionsObject(options);
    const cluster = (raw.cluster ?? nodeCluster()) as Cluster;
    if (cluster === null || typeof cluster !== "object" || typeof cluster.on !== "function") invalid("cluster", "the node:cluster module");
    if (!cluster.isPrimary) {
      throw new ConfigurationError(ErrorCodes.CLUSTER_ROLE, "prom-threads: a ClusterAggregator runs in the cluster primary (cluster.isPrimary); in worker processes, use a ClusterPublisher");
    }
    const registry = raw.registry ?? new client.Registry();
    if (registry === null || typeof registry !== "object" || typeof (registry as Registry).registerMetric !== "function") invalid("registry", "a prom-client Registry");
    const local = raw.localRegistries ?? [];
    if (!Array.isArray(local) || local.some((r) => r === null || typeof r?.getMetricsAsJSON !== "function")) invalid("localRegistries", "an array of prom-client Registries");
    if ((local as unknown[]).includes(registry)) invalid("localRegistries", "registries other than options.registry (the aggregator would read itself)");
    const processLabel = raw.processLabel ?? "cluster_worker";
    if (typeof processLabel !== "string" || !isClassicLabelName(processLabel) || isReservedName(processLabel) || processLabel === "quantile") {
      invalid("processLabel", "a label name", processLabel);
    }
    this.registry = registry as Registry;
    this.#local = local as Registry[];
    this.#scrapeWaitMs = integerOption(raw, "scrapeWaitMs", 100, 0, 60_000);
    this.#maxSeries = integerOption(raw, "maxSeries", kDefaultMaxSeries, 1, 10_000_000);
    this.#maxFamilies = integerOption(raw, "maxFamilies", 10_000, 1, 10_000_000);
    this.#processLabel = processLabel;
    this.#cluster = cluster;
    this.#unhookRegistry = hookScrapes(this.registry, () => this.collect());
    cluster.on("message", this.#onMessage);
    cluster.on("exit", this.#onExit);
    cluster.on("disconnect", this.#onDisconnect);
    // Workers that pushed before this aggregator existed are asked for every series.
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker?.isConnected()) this.#send(worker, message<CollectMessage>({ kind: "collect", id: 0 }));
    }
  }

  /**
   * Ask every live process for a fresh push and resolve when all have answered or `scrapeWaitMs` passed,
   * whichever is first, then read the local registries. The registry's `metrics()` and
   * `getMetricsAsJSON()` call this before they list the metrics; calls made while one is in progress
   * share it.
   */
  collect(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        await this.#collectFromProcesses();
        await this.#collectLocal();
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  /** Return the aggregator's state now. */
  stats(): ClusterStats {
    const processes: ClusterProcessStats[] = [];
    for (const p of this.#processes.values()) {
      processes.push({ id: p.id, pid: p.pid, live: p.alive && p.connected, pushes: p.pushes, lastPushAt: p.lastPushAt });
    }
    let families = 0;
    for (const family of this.#families.values()) if (family !== null) families++;
    return {
      processes,
      families,
      pushesApplied: this.#applied,
      pushesIgnored: this.#ignored,
      malformedMessages: this.#malformed,
      rejectedFamilies: this.#rejectedFamilies,
      rejectedSeries: this.#rejectedSeries,
      foldedSeries: this.#folded,
    };
  }

  /** Stop listening and remove the aggregated metrics from the registry. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cluster.off("message", this.#onMessage);
    this.#cluster.off("exit", this.#onExit);
    this.#cluster.off("disconnect", this.#onDisconnect);
    this.#unhookRegistry();
    for (const waiter of this.#waiters) waiter.done();
    for (const [name, family] of this.#families) {
      if (family !== null && (this.registry.getSingleMetric(name) as unknown) === family) this.registry.removeSingleMetric(name);
    }
    this.#families.clear();
  }

  async #collectFromProcesses(): Promise<void> {
    if (this.#scrapeWaitMs === 0 || this.#closed) return;
    const asked = new Set<ProcessId>();
    const id = ++this.#collectId;
    for (const p of this.#processes.values()) {
      if (p.worker === undefined || !p.alive || !p.connected || p.session === undefined) continue;
      if (this.#send(p.worker, message<CollectMessage>({ kind: "collect", id }))) asked.add(p.id);
    }
    if (asked.size === 0) return;
    await new Promise<void>((resolve) => {
      const waiter: CollectWaiter = {
        id,
        pending: asked,
        done: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.done, this.#scrapeWaitMs);
      this.#waiters.add(waiter);
    });
  }

  async #collectLocal(): Promise<void> {
    if (this.#local.length === 0 || this.#closed) return;
    const snapshot = snapshotOf(await Promise.all(this.#local.map(readRegistry)));
    // Closed while the registries were read: close() emptied the registry, and nothing goes back into it.
    if (this.#closed) return;
    const state = this.#state(kPrimary, undefined);
    state.pid = process.pid;
    // What changed since the last collect, as a process pushes it: a gauge the primary set once is not
    // "the most recently changed value" (aggregator `first`) at every collect after.
    const previous = this.#lastLocal;
    this.#applyFamilies(state, diffSnapshots(previous ?? new Map(), snapshot), previous === undefined, true);
    this.#lastLocal = snapshot;
    state.pushes++;
    state.lastPushAt = Date.now();
  }

  #state(id: ProcessId, worker: ClusterWorker | undefined): ProcessState {
    let state = this.#processes.get(id);
    if (state === undefined) {
      state = {
        id,
        pid: worker?.process.pid,
        worker,
        session: undefined,
        seq: 0,
        synced: false,
        resyncAsked: false,
        // A message can arrive after its process's exit event (the channel is read to its end).
        alive: worker === undefined || !worker.isDead(),
        connected: worker === undefined || worker.isConnected(),
        replied: 0,
        pushes: 0,
        lastPushAt: 0,
      };
      this.#processes.set(id, state);
    }
    return state;
  }

  #receive(worker: ClusterWorker, raw: unknown): void {
    if (this.#closed || !isOurs(raw)) return;
    // Pushes of version 1 (numbers only) and 2 are read; every other message is still version 1.
    const push2 = raw.kind === "push" && raw.v === kPushVersion;
    if (raw.v !== kProtocolVersion && !push2) {
      this.#malformedMessage(`a message of protocol version ${String(raw.v)} (this primary speaks ${kProtocolVersion}, and ${kPushVersion} for pushes); are the primary and the workers running the same prom-threads?`);
      return;
    }
    if (raw.kind !== "push") return;
    const push = raw as unknown as Record<string, unknown>;
    const { session, seq, full, families } = push;
    if (typeof session !== "string" || !Number.isSafeInteger(seq) || (seq as number) < 1 || typeof full !== "boolean" || !Array.isArray(families)) {
      this.#malformedMessage("a push without a valid session, seq, full flag or families");
      return;
    }
    const state = this.#state(String(worker.id), worker);
    if (state.session !== session) {
      // A new publisher in this process: a new sequence, the same cumulative totals.
      state.session = session;
      state.seq = 0;
      state.synced = false;
      state.resyncAsked = false;
    }
    if ((seq as number) <= state.seq) {
      this.#ignored++;
    } else {
      state.seq = seq as number;
      if (full) state.synced = true;
      else if (!state.synced && !state.resyncAsked) {
        // This aggregator missed earlier pushes (it started later): ask for every series.
        state.resyncAsked = true;
        this.#send(worker, message<ResyncMessage>({ kind: "resync", session }));
      }
      this.#applyFamilies(state, families as WireFamily[], full, push2);
      state.pushes++;
      state.lastPushAt = Date.now();
      this.#applied++;
    }
    if (typeof push.reply === "number") this.#replied(state, push.reply);
    if (push.ack === true) this.#send(worker, message<AckMessage>({ kind: "ack", session, seq: seq as number }));
    if (!state.alive && !state.connected) this.#forget(state.id);
  }

  /** Apply a push's families; `extras`: its series may end with an extra object (push version 2). */
  #applyFamilies(state: ProcessState, families: WireFamily[], full: boolean, extras: boolean): void {
    const live = state.alive && state.connected;
    const problems = new PushProblems();
    // A full push lists every series: live values it does not list are gone.
    if (full) for (const family of this.#families.values()) family?.drop(state.id);
    for (const wire of families) {
      if (wire === null || typeof wire !== "object" || typeof wire.n !== "string" || !Array.isArray(wire.s)) {
        this.#malformed++;
        problems.malformed.add("a metric family without a name or series");
        continue;
      }
      const family = this.#resolve(wire, state.id, problems);
      if (family === null) continue;
      for (const row of wire.s) {
        const invalid = labelsProblem(wire.n, family.type, row);
        if (invalid !== undefined) {
          this.#rejectedSeries++;
          problems.rejected.add(invalid);
          continue;
        }
        const split = extras ? splitExtra(family, row) : { row };
        if (split.problem !== undefined) {
          // The series' numbers still count: only its exemplars, created time and native buckets go.
          this.#malformed++;
          problems.malformed.add(split.problem);
        }
        const result = family.apply(state.id, split.row, live, split.extra);
        if (result === "malformed") {
          this.#malformed++;
          problems.malformed.add(`a malformed series of metric "${wire.n}" (wrong length, or a value that metric cannot have)`);
        } else if (result === "rejected") {
          this.#rejectedSeries++;
          problems.rejected.add(`a series of metric "${wire.n}" past its limit of ${this.#maxSeries} label sets, with no room left to fold it`);
        } else if (result === "folded") {
          this.#folded++;
          this.#overflowed(wire.n);
        } else if (result === "conflict") {
          this.#conflict(wire.n, `process ${state.id} pushed summary "${wire.n}" with a label named "${this.#processLabel}", which the aggregator adds itself; choose another options.processLabel`);
        }
      }
    }
    if (problems.malformed.count > 0) {
      this.#report(new ProtocolError(ErrorCodes.MALFORMED_CLUSTER_MESSAGE, `prom-threads: the cluster primary dropped ${problems.malformed.describe()} from process ${state.id}`), `malformed:${state.id}`);
    }
    if (problems.rejected.count > 0) {
      this.#report(new ProtocolError(ErrorCodes.CLUSTER_REJECTED, `prom-threads: the cluster primary refused ${problems.rejected.describe()} from process ${state.id}`), `rejected:${state.id}`);
    }
  }

  #overflowed(name: string): void {
    if (this.#overflowReported.has(name)) return;
    this.#overflowReported.add(name);
    this.#report(
      new ConfigurationError(ErrorCodes.SERIES_LIMIT, `prom-threads: metric "${name}" reached ${this.#maxSeries} label sets in the cluster aggregate; further label sets fold into its overflow series`),
      `overflow:${name}`,
    );
  }

  #resolve(wire: WireFamily, process: ProcessId, problems: PushProblems): ClusterFamily | null {
    if (wire.a === "omit") return null;
    const existing = this.#families.get(wire.n);
    if (existing === null) return null;
    if (existing !== undefined) {
      const difference = existing.difference(wire);
      if (difference === undefined) return existing;
      this.#conflict(wire.n, `process ${process} pushed metric "${wire.n}" with ${difference} of the first declaration; the first wins and this process's series are dropped`);
      return null;
    }
    const problem = familyProblem(wire) ?? (this.#familyCount >= this.#maxFamilies ? `metric "${wire.n}" past the limit of ${this.#maxFamilies} families (options.maxFamilies)` : undefined);
    if (problem !== undefined) {
      this.#rejectedFamilies++;
      problems.rejected.add(problem);
      return null;
    }
    let family: ClusterFamily;
    switch (wire.t) {
      case "counter":
        family = new CounterFamily(wire, this.#maxSeries);
        break;
      case "gauge":
        family = new GaugeFamily(wire, this.#gaugeClock, this.#maxSeries);
        break;
      case "histogram":
        family = new HistogramFamily(wire, this.#maxSeries);
        break;
      default:
        family = new SummaryFamily(wire, this.#processLabel, this.#maxSeries);
        break;
    }
    try {
      family.register(this.registry);
    } catch (error) {
      this.#families.set(wire.n, null);
      this.#conflict(wire.n, `metric "${wire.n}" pushed by process ${process} is already registered in the aggregator's registry by other code (${(error as Error).message}); it is dropped`);
      return null;
    }
    this.#families.set(wire.n, family);
    this.#familyCount++;
    return family;
  }

  #replied(state: ProcessState, id: number): void {
    if (id > state.replied) state.replied = id;
    for (const waiter of this.#waiters) {
      if (waiter.id > state.replied) continue;
      waiter.pending.delete(state.id);
      if (waiter.pending.size === 0) waiter.done();
    }
  }

  /** A process exited or its channel closed: its live values go now; it is forgotten once both happened. */
  #gone(id: ProcessId, why: "exit" | "disconnect"): void {
    const state = this.#processes.get(id);
    if (state === undefined) return;
    if (why === "exit") state.alive = false;
    else state.connected = false;
    for (const family of this.#families.values()) family?.drop(id);
    for (const waiter of this.#waiters) {
      waiter.pending.delete(id);
      if (waiter.pending.size === 0) waiter.done();
    }
    // No message can follow both events: fold its totals into the retired part and free its state.
    if (!state.alive && !state.connected) this.#forget(id);
  }

  #forget(id: ProcessId): void {
    for (const family of this.#families.values()) family?.forget(id);
    this.#processes.delete(id);
  }

  #send(worker: ClusterWorker, body: AckMessage | CollectMessage | ResyncMessage): boolean {
    if (!worker.isConnected()) return false;
    try {
      // The callback swallows a channel that closed meanwhile; the exit and disconnect events follow.
      worker.send(body, () => {});
      return true;
    } catch {
      return false;
    }
  }

  #malformedMessage(detail: string): void {
    this.#malformed++;
    this.#report(new ProtocolError(ErrorCodes.MALFORMED_CLUSTER_MESSAGE, `prom-threads: the cluster primary received ${detail}; it was dropped`), detail);
  }

  #conflict(metric: string, detail: string): void {
    this.#report(new ProtocolError(ErrorCodes.DECLARATION_CONFLICT, `prom-threads: ${detail}`), `conflict:${metric}:${detail}`);
  }

  /** Emit `error` when someone listens, otherwise warn; bounded per code either way (see reporter.ts). */
  #report(error: PromThreadsError, key: string): void {
    this.#reporter.report(error, key);
  }
}

/**
 * Take the extra object off the end of a counter's or histogram's series and validate it: the row without
 * it, and the decoded extra or why it is refused (the row is applied either way).
 */
function splitExtra(family: ClusterFamily, row: WireSeries): { row: WireSeries; extra?: SeriesExtra; problem?: string } {
  const tail = row[row.length - 1];
  if (row.length < 2 || tail === null || typeof tail !== "object" || Array.isArray(tail)) return { row };
  const bare = row.slice(0, -1) as WireSeries;
  const shape = family.extraShape(bare);
  if (shape === undefined) return { row: bare, problem: `a series of metric "${family.name}" with an extra, which a ${family.type} cannot have` };
  const extra = parseExtra(tail, shape);
  return typeof extra === "string" ? { row: bare, problem: extra } : { row: bare, extra };
}

/** The problems of one push, reported as one error per kind with a count and the first example. */
class PushProblems {
  readonly malformed = new ProblemTally("malformed item");
  readonly rejected = new ProblemTally("item");
}

class ProblemTally {
  readonly #noun: string;
  count = 0;
  first = "";

  constructor(noun: string) {
    this.#noun = noun;
  }

  add(detail: string): void {
    if (this.count++ === 0) this.first = detail;
  }

  describe(): string {
    return this.count === 1 ? this.first : `${this.count} ${this.#noun}s, the first: ${this.first}`;
  }
}

/**
 * Make every scrape of the registry collect first, so a family that a process reports for the first time
 * in answer to this very scrape is listed in it: its scrape methods, and the scrapes the package's servers
 * serve from it (which read its metrics one by one). Returns a function that restores them (only where
 * nobody wrapped them after us).
 */
function hookScrapes(registry: Registry, collect: () => Promise<void>): () => void {
  const unhookMethods = hookRegistry(
    registry,
    ["metrics", "getMetricsAsJSON"],
    (original) =>
      async function (this: unknown, ...args: unknown[]) {
        await collect();
        return original.apply(this, args);
      },
  );
  const unhookServing = beforeServing(registry, collect);
  return () => {
    unhookMethods();
    unhookServing();
  };
}
