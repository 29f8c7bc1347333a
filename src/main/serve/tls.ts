/**
 * TLS options: passed to `https.createServer` as given, except that TLS below 1.2 is never allowed.
 * @module
 */
import type { TlsOptions } from "node:tls";
import { invalid } from "../validate-options.js";

const kAllowedVersions = ["TLSv1.2", "TLSv1.3"] as const;

/**
 * Validate `options.tls` and force `minVersion` to at least TLS 1.2 (Node's own default can be lowered by
 * `--tls-min-v1.0`, so it is set explicitly). Throws a ConfigurationError naming the option.
 */
export function resolveTls(value: unknown): TlsOptions {
  if (value === null || typeof value !== "object" || Array.isArray(value)) invalid("tls", "an object of tls.createServer options (key and cert, or pfx)", value);
  const tls = value as TlsOptions;
  const hasCertificate = (tls.key !== undefined && tls.cert !== undefined) || tls.pfx !== undefined || typeof tls.SNICallback === "function";
  if (!hasCertificate) invalid("tls", "given key and cert, or pfx, or an SNICallback");
  for (const key of ["minVersion", "maxVersion"] as const) {
    const version = tls[key];
    if (version !== undefined && !(kAllowedVersions as readonly string[]).includes(version)) {
      invalid(`tls.${key}`, '"TLSv1.2" or "TLSv1.3" (TLS below 1.2 is refused)', version);
    }
  }
  // Why refuse it: secureProtocol picks a fixed method (e.g. "TLSv1_1_method") and cannot be combined
  // with the minVersion this function enforces.
  if (tls.secureProtocol !== undefined) invalid("tls.secureProtocol", "left out; use minVersion and maxVersion (TLS 1.2 or later)", tls.secureProtocol);
  const minVersion = tls.minVersion ?? "TLSv1.2";
  if (tls.maxVersion === "TLSv1.2" && minVersion === "TLSv1.3") invalid("tls.maxVersion", "at least options.tls.minVersion", tls.maxVersion);
  return { ...tls, minVersion };
}
