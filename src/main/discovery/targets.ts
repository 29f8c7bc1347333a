/**
 * Validation shared by the service discovery APIs: targets and target labels.
 * @module
 */
import { isClassicLabelName, isReservedName } from "../../shared/model/names.js";
import { invalid } from "../validate-options.js";

/** `host:port`, with an IPv6 host in brackets. */
const kTarget = /^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9._-]+):\d{1,5}$/;

/** Validate a `host:port` target. Throws a ConfigurationError naming `options.<key>`. */
export function validateTarget(key: string, target: unknown): string {
  if (typeof target !== "string" || !kTarget.test(target) || Number(target.slice(target.lastIndexOf(":") + 1)) > 65535) {
    invalid(key, 'a target "host:port"', target);
  }
  return target;
}

/** Validate target labels: Prometheus label names, string values. Returns a copy. */
export function validateLabels(key: string, labels: unknown): Record<string, string> {
  if (labels === null || typeof labels !== "object" || Array.isArray(labels)) invalid(key, "an object of label names to strings");
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(labels as Record<string, unknown>)) {
    if (!isClassicLabelName(name) || (isReservedName(name) && !name.startsWith("__meta_"))) invalid(`${key}.${name}`, 'a label name (names starting with "__" are reserved, except "__meta_")');
    if (typeof value !== "string") invalid(`${key}.${name}`, "a string", value);
    out[name] = value;
  }
  return out;
}

/** The target Prometheus should scrape for a server listening on `host` and `port`. */
export function targetOf(host: string, port: number, fallbackHost: string): string {
  const reachable = host === "0.0.0.0" || host === "::" || host === "" ? fallbackHost : host;
  return reachable.includes(":") && !reachable.startsWith("[") ? `[${reachable}]:${port}` : `${reachable}:${port}`;
}
