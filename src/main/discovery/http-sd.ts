/**
 * Prometheus HTTP service discovery (`http_sd_configs`): a directory of targets that the cluster primary
 * (or any process) serves as JSON, fed by cluster worker processes announcing the port they serve on.
 * @module
 */
import type { Cluster, Worker as ClusterWorker } from "node:cluster";
import { EventEmitter } from "node:events";
import { hostname } from "node:os";
import { ConfigurationError, ErrorCodes, ProtocolError, type PromThreadsError } from "../../shared/api/errors.js";
import { nodeCluster } from "../cluster/node-cluster.js";
import { isOurs, message, kProtocolVersion, type AnnounceMessage, type DiscoverMessage, type WithdrawMessage } from "../cluster/protocol.js";
import { invalid, optionsObject } from "../validate-options.js";
import { targetOf, validateLabels, validateTarget } from "./targets.js";
import { Reporter } from "../reporter.js";

/** One element of an http_sd (and file_sd) document. */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** Options of {@link TargetDirectory}. */
export interface TargetDirectoryOptions {
  /**
   * Labels added to every target (a target's own labels win).
   * @default {}
   */
  labels?: Record<string, string>;
}

/** Events of a {@link TargetDirectory}. */
export interface TargetDirectoryEvents {
  /** A malformed announcement from a worker process (dropped). */
  error: [PromThreadsError];
}

interface Entry {
  labels: Record<string, string>;
  /** The cluster worker that announced it, if any. */
  owner: string | undefined;
}

/**
 * Keep the list of targets Prometheus should scrape, for HTTP service discovery. Serve it with
 * `startHttpServer({ httpSd: directory })` (route `/http_sd`) or {@link TargetDirectory.groups} in your
 * own route, and point Prometheus at it with `http_sd_configs: [{ url: "http://primary:9464/http_sd" }]`.
 *
 * @example
 * import cluster from "node:cluster";
 * import { TargetDirectory, startHttpServer } from "prom-threads";
 * const directory = new TargetDirectory({ labels: { service: "api" } });
 * directory.acceptClusterWorkers(); // workers call announceToPrimary(server)
 * await startHttpServer({ port: 9464, httpSd: directory });
 */
export class TargetDirectory extends EventEmitter<TargetDirectoryEvents> {
  readonly #common: Record<string, string>;
  readonly #targets = new Map<string, Entry>();
  readonly #reporter = new Reporter(this);

  /** Create an empty directory. Throws a ConfigurationError for invalid labels. */
  constructor(options?: TargetDirectoryOptions) {
    super();
    this.#common = validateLabels("labels", optionsObject(options).labels ?? {});
  }

  /**
   * List `target` (`host:port`) with `labels`; listing it again replaces its labels. Returns a function
   * that removes it.
   */
  add(target: string, labels: Record<string, string> = {}): () => void {
    const entry: Entry = { labels: validateLabels("labels", labels), owner: undefined };
    this.#targets.set(validateTarget("target", target), entry);
    return () => {
      if (this.#targets.get(target) === entry) this.#targets.delete(target);
    };
  }

  /** Remove `target`. */
  remove(target: string): void {
    this.#targets.delete(target);
  }

  /** The http_sd document: one group per target, with the common labels under its own. */
  groups(): TargetGroup[] {
    return [...this.#targets].map(([target, entry]) => ({ targets: [target], labels: { ...this.#common, ...entry.labels } }));
  }

  /**
   * List the targets that node:cluster worker processes announce with {@link announceToPrimary}, and
   * remove a process's targets when it exits or disconnects. Workers that announced before this call are
   * asked to announce again. Returns a function that stops listening. Throws outside the cluster primary.
   */
  acceptClusterWorkers(cluster: Cluster = nodeCluster()): () => void {
    if (!cluster.isPrimary) {
      throw new ConfigurationError(ErrorCodes.CLUSTER_ROLE, "prom-threads: TargetDirectory.acceptClusterWorkers() runs in the cluster primary; workers call announceToPrimary()");
    }
    const onMessage = (worker: ClusterWorker, raw: unknown): void => this.#receive(String(worker.id), raw);
    const onGone = (worker: ClusterWorker): void => this.#removeOwner(String(worker.id));
    cluster.on("message", onMessage);
    cluster.on("exit", onGone);
    cluster.on("disconnect", onGone);
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker?.isConnected()) {
        try {
          worker.send(message<DiscoverMessage>({ kind: "discover" }), () => {});
        } catch {
          // Closed meanwhile: its exit event follows.
        }
      }
    }
    return () => {
      cluster.off("message", onMessage);
      cluster.off("exit", onGone);
      cluster.off("disconnect", onGone);
    };
  }

  #receive(owner: string, raw: unknown): void {
    if (!isOurs(raw) || raw.v !== kProtocolVersion || (raw.kind !== "announce" && raw.kind !== "withdraw")) return;
    const body = raw as unknown as Partial<AnnounceMessage>;
    let target: string;
    let labels: Record<string, string> = {};
    try {
      target = validateTarget("target", body.target);
      if (raw.kind === "announce") labels = validateLabels("labels", body.labels ?? {});
    } catch (error) {
      this.#report(new ProtocolError(ErrorCodes.MALFORMED_CLUSTER_MESSAGE, `prom-threads: cluster worker ${owner} announced an invalid target: ${(error as Error).message}`));
      return;
    }
    if (raw.kind === "withdraw") {
      if (this.#targets.get(target)?.owner === owner) this.#targets.delete(target);
      return;
    }
    this.#targets.set(target, { labels, owner });
  }

  #removeOwner(owner: string): void {
    for (const [target, entry] of this.#targets) if (entry.owner === owner) this.#targets.delete(target);
  }

  /** Emit `error` when someone listens, otherwise warn once per distinct message; bounded (see reporter.ts). */
  #report(error: PromThreadsError): void {
    this.#reporter.report(error, error.message);
  }
}

/**
 * What {@link announceToPrimary} reads of a running metrics server: its `url` (a `MetricsServer` from
 * `startHttpServer()` has one).
 */
export interface AnnouncedServer {
  /** The server's base URL, such as `http://127.0.0.1:9464`. */
  readonly url: string;
}

/** Options of {@link announceToPrimary}. */
export interface AnnounceOptions {
  /**
   * Labels of this target.
   * @default {}
   */
  labels?: Record<string, string>;
}

/**
 * Tell the cluster primary's {@link TargetDirectory} that this worker process serves metrics at `server`
 * (a `MetricsServer`, or a `host:port` string). The primary lists it until the process exits or the
 * returned function is called. Throws a ConfigurationError in a process without an IPC channel.
 *
 * @example
 * const server = await startHttpServer({ hub, port: 0 }); // each worker its own port
 * const withdraw = announceToPrimary(server, { labels: { service: "api" } });
 */
export function announceToPrimary(server: AnnouncedServer | string, options?: AnnounceOptions): () => void {
  if (typeof process.send !== "function") {
    throw new ConfigurationError(ErrorCodes.CLUSTER_ROLE, "prom-threads: announceToPrimary() needs an IPC channel to the cluster primary; call it in a cluster worker");
  }
  let target: string;
  if (typeof server === "string") target = validateTarget("target", server);
  else if (server !== null && typeof server === "object" && typeof server.url === "string") {
    const url = new URL(server.url);
    target = targetOf(url.hostname, Number(url.port), hostname());
  } else invalid("server", "a MetricsServer or a host:port string");
  const labels = validateLabels("labels", options?.labels ?? {});
  const send = (body: AnnounceMessage | WithdrawMessage): void => {
    if (process.connected === false) return;
    try {
      process.send?.(body, undefined, {}, () => {});
    } catch {
      // The channel closed: the primary removes this process's targets on its exit anyway.
    }
  };
  const announce = (): void => send(message<AnnounceMessage>({ kind: "announce", target, labels }));
  const onMessage = (raw: unknown): void => {
    if (isOurs(raw) && raw.v === kProtocolVersion && raw.kind === "discover") announce();
  };
  process.on("message", onMessage);
  announce();
  let withdrawn = false;
  return () => {
    if (withdrawn) return;
    withdrawn = true;
    process.off("message", onMessage);
    send(message<WithdrawMessage>({ kind: "withdraw", target }));
  };
}
