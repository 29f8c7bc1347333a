/**
 * Small helpers that validate options and throw ConfigurationErrors naming them.
 * @module
 */
import { ConfigurationError, ErrorCodes } from "../shared/api/errors.js";

/** Throw a ConfigurationError naming `options.<key>`. */
export function invalid(key: string, requirement: string, value?: unknown): never {
  const got = arguments.length > 2 ? `, got ${describe(value)}` : "";
  throw new ConfigurationError(ErrorCodes.INVALID_OPTION, `options.${key} must be ${requirement}${got}`);
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}

/** Read an optional integer option within a range. */
export function integerOption(raw: Record<string, unknown>, key: string, fallback: number, min: number, max: number, prefix = ""): number {
  const value = raw[key];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    invalid(`${prefix}${key}`, `an integer from ${min} to ${max}`, value);
  }
  return value;
}
