/**
 * Pushing to a Prometheus Pushgateway, for batch jobs that end before Prometheus would scrape them. Built
 * on prom-client's `Pushgateway`; the hub (or a cluster aggregator) is drained first.
 * @module
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Registry } from "prom-client";
import { client } from "./client.js";
import { kProtobufContentType, renderProtobuf } from "./serve/protobuf/render.js";
import type { FamilySnapshot } from "./serve/snapshot.js";
import { ConfigurationError, ErrorCodes, OperationError } from "../shared/api/errors.js";
import { isClassicLabelName, isReservedName } from "../shared/model/names.js";
import { ClusterAggregator } from "./cluster/aggregator.js";
import { MetricsHub } from "./hub.js";
import { integerOption, invalid, optionsObject } from "./validate-options.js";

/** What {@link pushToGateway} does with the group. */
export type GatewayMethod = "push" | "pushAdd" | "delete";

/** Options of {@link pushToGateway}. */
export interface PushToGatewayOptions {
  /** The Pushgateway's base URL, e.g. `http://pushgateway:9091`. */
  url: string;
  /** The `job` label of the group. Must not contain `/`. */
  job: string;
  /**
   * More grouping labels of the group, e.g. `{ instance: "batch-7" }`. Values containing `/` (or empty)
   * are sent base64-encoded, as the Pushgateway requires.
   * @default {}
   */
  groupings?: Record<string, string>;
  /**
   * `"push"` (HTTP PUT) replaces every metric of the group; `"pushAdd"` (POST) replaces only the metrics
   * of the same names; `"delete"` (DELETE) removes the group.
   * @default "push"
   */
  method?: GatewayMethod;
  /**
   * Milliseconds the connection may stay idle before the push fails.
   * @default 10000
   */
  timeoutMs?: number;
  /** Extra request headers (e.g. `Authorization`). */
  headers?: Record<string, string>;
  /**
   * The body's format. `"text"` is prom-client's push: the registry's `metrics()`, without exemplars or
   * native buckets. `"protobuf"` pushes the delimited protobuf format the hub's server answers with,
   * exemplars and native histograms included (the Pushgateway keeps them and serves them to Prometheus
   * over protobuf).
   * @default "text"
   */
  format?: GatewayFormat;
}

/** The body format of {@link pushToGateway}. */
export type GatewayFormat = "text" | "protobuf";

/** What the Pushgateway answered. */
export interface GatewayResult {
  /** The HTTP status (2xx). */
  status: number;
}

const kGatewayMethods: readonly GatewayMethod[] = ["push", "pushAdd", "delete"];

/**
 * Push the metrics of a MetricsHub, a ClusterAggregator or a prom-client Registry to a Pushgateway (or
 * delete its group), draining the hub first so every record that reached the workers' rings is included.
 * Rejects with a ConfigurationError for invalid options and with `ERR_PROM_THREADS_GATEWAY_FAILED` when
 * the gateway answers with an error or cannot be reached.
 *
 * At the end of a batch job, push once the worker threads' work has resolved, before the workers
 * exit: gauges of threads that have exited are gone.
 *
 * @example
 * import { MetricsHub, pushToGateway } from "prom-threads";
 * const hub = new MetricsHub();
 * // ... run the batch in worker threads ...
 * await pushToGateway(hub, { url: "http://127.0.0.1:9091", job: "nightly", groupings: { shard: "3" } });
 */
export async function pushToGateway(source: MetricsHub | ClusterAggregator | Registry, options: PushToGatewayOptions): Promise<GatewayResult> {
  const { registry, url, job, groupings, method, requestOptions, format } = resolve(source, options);
  if (source instanceof MetricsHub) source.drainSync();
  try {
    if (format === "protobuf") return { status: await pushProtobuf(registry, url, job, groupings, method, requestOptions) };
    const gateway = new client.Pushgateway(url, requestOptions, registry);
    const { resp } = (await gateway[method]({ jobName: job, groupings })) as { resp: { statusCode?: number } };
    return { status: resp.statusCode ?? 0 };
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new OperationError(ErrorCodes.GATEWAY_FAILED, `prom-threads: ${method} of job "${job}" to the Pushgateway at ${url} failed: ${detail}`, { cause });
  }
}

/** Push (or delete) the group in the protobuf format; resolves with the status, rejects on errors. */
async function pushProtobuf(
  registry: Registry,
  url: string,
  job: string,
  groupings: Record<string, string>,
  method: GatewayMethod,
  options: { timeout: number; headers: Record<string, string> },
): Promise<number> {
  const body = method === "delete" ? undefined : renderProtobuf((await registry.getMetricsAsJSON()) as unknown as FamilySnapshot[]);
  const target = new URL(url);
  const path = `${target.pathname.replace(/\/$/, "")}/metrics/job/${encodeURIComponent(job)}${Object.entries(groupings)
    .map(([name, value]) => `/${encodeURIComponent(name)}/${encodeURIComponent(value)}`)
    .join("")}`;
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        path,
        method: kHttpMethods[method],
        timeout: options.timeout,
        headers: { ...options.headers, ...(body === undefined ? {} : { "Content-Type": kProtobufContentType, "Content-Length": body.byteLength }) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          if (text.length < 1024) text += chunk;
        });
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(status);
          else reject(new Error(`the gateway answered with status ${status}: ${text.trim()}`));
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${options.timeout} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

const kHttpMethods: Record<GatewayMethod, string> = { push: "PUT", pushAdd: "POST", delete: "DELETE" };
const kGatewayFormats: readonly GatewayFormat[] = ["text", "protobuf"];

function resolve(source: unknown, options: unknown) {
  let registry: Registry;
  if (source instanceof MetricsHub || source instanceof ClusterAggregator) registry = source.registry;
  else if (source !== null && typeof source === "object" && typeof (source as Registry).metrics === "function") registry = source as Registry;
  else throw new ConfigurationError(ErrorCodes.INVALID_OPTION, "pushToGateway() takes a MetricsHub, a ClusterAggregator or a prom-client Registry");
  const raw = optionsObject(options, true);
  let url: URL | undefined;
  try {
    url = new URL(String(raw.url));
  } catch {
    url = undefined;
  }
  if (typeof raw.url !== "string" || url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) invalid("url", "an http: or https: URL", raw.url);
  if (typeof raw.job !== "string" || raw.job === "" || raw.job.includes("/")) invalid("job", 'a non-empty string without "/"', raw.job);
  const method = raw.method ?? "push";
  if (!kGatewayMethods.includes(method as GatewayMethod)) invalid("method", '"push", "pushAdd" or "delete"', method);
  const groupings: Record<string, string> = {};
  if (raw.groupings !== undefined) {
    if (raw.groupings === null || typeof raw.groupings !== "object") invalid("groupings", "an object of label names to strings");
    for (const [name, value] of Object.entries(raw.groupings as Record<string, unknown>)) {
      if (!isClassicLabelName(name) || isReservedName(name) || name === "job") invalid(`groupings.${name}`, "a label name other than job");
      if (typeof value !== "string") invalid(`groupings.${name}`, "a string", value);
      // The Pushgateway reads a grouping value as one path segment: others go base64url-encoded.
      if (value === "" || value.includes("/")) groupings[`${name}@base64`] = value === "" ? "=" : Buffer.from(value, "utf8").toString("base64url");
      else groupings[name] = value;
    }
  }
  const headers = raw.headers ?? {};
  if (headers === null || typeof headers !== "object" || Object.values(headers).some((v) => typeof v !== "string")) invalid("headers", "an object of strings");
  const timeout = integerOption(raw, "timeoutMs", 10_000, 1, 600_000);
  const format = raw.format ?? "text";
  if (!kGatewayFormats.includes(format as GatewayFormat)) invalid("format", '"text" or "protobuf"', format);
  return {
    registry,
    url: raw.url as string,
    job: raw.job as string,
    groupings,
    method: method as GatewayMethod,
    format: format as GatewayFormat,
    requestOptions: { timeout, headers: { ...(headers as Record<string, string>) } },
  };
}
