/**
 * The option validator of the main-thread APIs (hub, server, cluster, Pushgateway, discovery, pool
 * attach): each check throws a ConfigurationError (`ERR_PROM_THREADS_INVALID_OPTION`) whose message has the
 * form `options.<key> must be <requirement>, got <value>`.
 * @module
 */
import { ConfigurationError, ErrorCodes } from "../shared/api/errors.js";

/** Throw a ConfigurationError naming `options.<key>`; the value is shown when one is passed. */
export function invalid(key: string, requirement: string, ...value: [] | [unknown]): never {
  // A rest parameter tells "no value passed" from "undefined passed": both are worth saying differently.
  const got = value.length > 0 ? `, got ${describe(value[0])}` : "";
  throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `options.${key} must be ${requirement}${got}`);
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}

/**
 * Return the options argument as a record of its keys. `undefined` gives `{}` unless `required`; anything
 * else that is not an object throws `options must be an object`.
 */
export function optionsObject(options: unknown, required = false): Record<string, unknown> {
  if (options === undefined && !required) return {};
  if (options === null || typeof options !== "object") throw new ConfigurationError(ErrorCodes.INVALID_OPTION, "options must be an object");
  return options as Record<string, unknown>;
}

/** Read an optional integer option from `min` to `max`; `fallback` when it is not given. */
export function integerOption(raw: Record<string, unknown>, key: string, fallback: number, min: number, max: number): number {
  const value = raw[key];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    invalid(key, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

/** Read an optional boolean option; `fallback` when it is not given. */
export function booleanOption(raw: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = raw[key] ?? fallback;
  if (typeof value !== "boolean") invalid(key, "a boolean");
  return value;
}
