/**
 * The worker-process side of cluster aggregation: read this process's registries (which drains its
 * MetricsHub) and push what changed to the cluster primary, on a timer, when the primary asks, and when
 * the application asks and wants an acknowledgement.
 * @module
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { Registry } from "prom-client";
import { client } from "../client.js";
import { ConfigurationError, ErrorCodes, OperationError, type PromThreadsError } from "../../shared/api/errors.js";
import { MetricsHub } from "../hub.js";
import { integerOption, invalid, optionsObject } from "../validate-options.js";
import { diffSnapshots, isOurs, message, readRegistry, snapshotOf, kProtocolVersion, type PushMessage, type Snapshot } from "./protocol.js";
import { Reporter } from "../reporter.js";

/** Options of {@link ClusterPublisher}. */
export interface ClusterPublisherOptions {
  /**
   * The MetricsHub of this process. Its registry is published (unless `registries` is given), and it is
   * drained before every push.
   */
  hub?: MetricsHub;
  /**
   * The registries whose metrics this process publishes; the first one wins when two hold a metric of
   * the same name.
   * @default `[hub.registry]` with a hub, else prom-client's default `register`
   */
  registries?: Registry[];
  /**
   * Milliseconds between pushes. At a SIGKILL, what the process recorded since the start of the last push
   * that reached the channel is lost: at most about one interval while the event loop runs freely.
   * @default 1000
   */
  intervalMs?: number;
  /**
   * Milliseconds {@link ClusterPublisher.push} waits for the primary's acknowledgement.
   * @default 5000
   */
  ackTimeoutMs?: number;
}

/** Events of a {@link ClusterPublisher}. */
export interface ClusterPublisherEvents {
  /** A push that failed in the background (a registry's collect threw, the channel failed). */
  error: [PromThreadsError];
}

/** The part of `process` a publisher uses; tests may pass a fake one. */
interface Channel {
  send?: (message: unknown, sendHandle?: undefined, options?: object, callback?: (error: Error | null) => void) => boolean;
  connected?: boolean;
  on(event: "message", listener: (message: unknown) => void): unknown;
  off(event: "message", listener: (message: unknown) => void): unknown;
}

const kActive = Symbol.for("prom-threads.cluster-publisher");

interface PendingAck {
  seq: number;
  resolve: () => void;
  reject: (error: PromThreadsError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Push this cluster worker process's metrics to the cluster primary, where a {@link ClusterAggregator}
 * adds them up and serves them on one port.
 *
 * Each push carries the series that changed since the previous one, with cumulative values; the primary
 * turns them into increments, so nothing it received is ever lost when this process dies. Pushes happen
 * every `intervalMs`, when the primary collects for a scrape, and on {@link push}. One publisher per
 * process.
 *
 * @example
 * import cluster from "node:cluster";
 * import { MetricsHub, ClusterPublisher } from "prom-threads";
 * if (cluster.isWorker) {
 *   const hub = new MetricsHub();
 *   const publisher = new ClusterPublisher({ hub, intervalMs: 1000 });
 *   // ... on shutdown: await publisher.close();
 * }
 */
export class ClusterPublisher extends EventEmitter<ClusterPublisherEvents> {
  readonly #hub: MetricsHub | undefined;
  readonly #registries: Registry[];
  readonly #channel: Channel;
  readonly #ackTimeoutMs: number;
  readonly #session = randomUUID();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #onMessage = (raw: unknown): void => this.#receive(raw);
  readonly #acks: PendingAck[] = [];
  readonly #reporter = new Reporter(this);
  #baseline: Snapshot = new Map();
  #seq = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #timerBusy = false;
  #closed = false;

  /** Start publishing. Throws a ConfigurationError for invalid options or when this process has no IPC channel. */
  constructor(options?: ClusterPublisherOptions) {
    super();
    const raw = optionsObject(options);
    if (raw.hub !== undefined && !(raw.hub instanceof MetricsHub)) invalid("hub", "a MetricsHub");
    this.#hub = raw.hub as MetricsHub | undefined;
    const registries = raw.registries ?? [this.#hub?.registry ?? client.register];
    if (!Array.isArray(registries) || registries.length === 0 || registries.some((r) => r === null || typeof r?.getMetricsAsJSON !== "function")) {
      invalid("registries", "a non-empty array of prom-client Registries");
    }
    this.#registries = registries as Registry[];
    const intervalMs = integerOption(raw, "intervalMs", 1000, 1, 3_600_000);
    this.#ackTimeoutMs = integerOption(raw, "ackTimeoutMs", 5000, 1, 600_000);
    const channel = ((raw as { channel?: Channel }).channel ?? process) as Channel;
    if (typeof channel.send !== "function") {
      throw new ConfigurationError(
        ErrorCodes.CLUSTER_ROLE,
        "prom-threads: a ClusterPublisher needs an IPC channel to the cluster primary; create it in a cluster worker (cluster.isWorker), not in the primary or a standalone process",
      );
    }
    const holder = globalThis as { [kActive]?: ClusterPublisher };
    if (holder[kActive] !== undefined && !holder[kActive].closed) {
      throw new ConfigurationError(ErrorCodes.INVALID_OPTION, "prom-threads: this process already has an open ClusterPublisher; pass every registry to one publisher (options.registries)");
    }
    holder[kActive] = this;
    this.#channel = channel;
    channel.on("message", this.#onMessage);
    this.#timer = setInterval(() => {
      if (this.#timerBusy) return;
      this.#timerBusy = true;
      void this.#enqueue({ quiet: true }).finally(() => (this.#timerBusy = false));
    }, intervalMs);
    this.#timer.unref();
    // The first push tells the primary about this process at once, with every series.
    void this.#enqueue({ quiet: false });
  }

  /**
   * Push now and resolve once the primary has applied the push: everything this process recorded before
   * the call (in worker threads too: a record is in shared memory when its call returns) is then safe in the primary, whatever
   * happens to this process. Rejects with `ERR_PROM_THREADS_CLUSTER_PUSH_FAILED` when the primary does
   * not acknowledge within `ackTimeoutMs`, or `ERR_PROM_THREADS_HUB_CLOSED` after {@link close}.
   *
   * @example
   * await runBatch();
   * await publisher.push(); // the batch's counts now survive even a SIGKILL of this process
   */
  async push(): Promise<void> {
    if (this.#closed) throw new ConfigurationError(ErrorCodes.HUB_CLOSED, "prom-threads: this ClusterPublisher is closed");
    const seq = await this.#enqueue({ ack: true });
    await this.#waitForAck(seq);
  }

  /** Whether {@link close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Push one last time (waiting for the acknowledgement up to `ackTimeoutMs`), then stop. Resolves in any
   * case; a failed last push is reported on the `error` event. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      if (this.#channel.connected !== false) await this.push();
    } catch (error) {
      this.#report(error as PromThreadsError);
    }
    this.#closed = true;
    clearInterval(this.#timer);
    this.#channel.off("message", this.#onMessage);
    for (const pending of this.#acks.splice(0)) {
      clearTimeout(pending.timer);
      pending.reject(new OperationError(ErrorCodes.CLUSTER_PUSH_FAILED, "prom-threads: the ClusterPublisher closed before the primary acknowledged a push"));
    }
  }

  /** Run one push after the ones before it; resolves with its sequence number (0 if nothing was sent). */
  #enqueue(options: { reply?: number; ack?: boolean; quiet?: boolean }): Promise<number> {
    const run = this.#queue.then(() => this.#pushOnce(options));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #pushOnce({ reply, ack, quiet }: { reply?: number; ack?: boolean; quiet?: boolean }): Promise<number> {
    if (this.#closed || this.#channel.connected === false) {
      if (ack) throw new OperationError(ErrorCodes.CLUSTER_PUSH_FAILED, "prom-threads: this process is no longer connected to the cluster primary");
      return 0;
    }
    let next: Snapshot;
    try {
      this.#hub?.drainSync();
      next = snapshotOf(await Promise.all(this.#registries.map(readRegistry)));
    } catch (cause) {
      const error = new OperationError(ErrorCodes.CLUSTER_PUSH_FAILED, `prom-threads: reading the metrics to push failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
      if (ack) throw error;
      this.#report(error);
      return 0;
    }
    const full = this.#baseline.size === 0;
    const families = diffSnapshots(this.#baseline, next);
    if (families.length === 0 && quiet) return 0;
    const seq = ++this.#seq;
    const push = message<PushMessage>({ kind: "push", session: this.#session, seq, full, families });
    if (reply !== undefined) push.reply = reply;
    if (ack) push.ack = true;
    // The baseline moves on now; if the send fails, the next push sends every series again.
    this.#baseline = next;
    await new Promise<void>((resolve, reject) => {
      const done = (error: Error | null): void => {
        if (error === null) {
          resolve();
          return;
        }
        this.#baseline = new Map();
        reject(new OperationError(ErrorCodes.CLUSTER_PUSH_FAILED, `prom-threads: sending a push to the cluster primary failed: ${error.message}`, { cause: error }));
      };
      try {
        // The callback runs once the message is written to the channel: from then on the primary gets it
        // even if this process dies.
        this.#channel.send?.(push, undefined, {}, done);
      } catch (error) {
        done(error as Error);
      }
    }).catch((error: PromThreadsError) => {
      if (ack) throw error;
      this.#report(error);
    });
    return seq;
  }

  #waitForAck(seq: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const pending: PendingAck = {
        seq,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#acks.splice(this.#acks.indexOf(pending), 1);
          reject(new OperationError(ErrorCodes.CLUSTER_PUSH_FAILED, `prom-threads: the cluster primary did not acknowledge push ${seq} within ${this.#ackTimeoutMs} ms; is a ClusterAggregator running in the primary?`));
        }, this.#ackTimeoutMs),
      };
      this.#acks.push(pending);
    });
  }

  #receive(raw: unknown): void {
    if (!isOurs(raw) || raw.v !== kProtocolVersion) return;
    const body = raw as unknown as Record<string, unknown>;
    switch (body.kind) {
      case "ack": {
        if (body.session !== this.#session || typeof body.seq !== "number") return;
        for (let i = this.#acks.length - 1; i >= 0; i--) {
          const pending = this.#acks[i] as PendingAck;
          if (pending.seq > body.seq) continue;
          clearTimeout(pending.timer);
          this.#acks.splice(i, 1);
          pending.resolve();
        }
        return;
      }
      case "collect":
        if (typeof body.id === "number") void this.#enqueue({ reply: body.id });
        return;
      case "resync":
        if (body.session !== this.#session) return;
        this.#baseline = new Map();
        void this.#enqueue({});
        return;
      default:
        return;
    }
  }

  /** Emit `error` when someone listens, otherwise warn once per distinct message; bounded (see reporter.ts). */
  #report(error: PromThreadsError): void {
    this.#reporter.report(error, error.message);
  }
}
