/**
 * The `/http_sd` route of the metrics server: a TargetDirectory as Prometheus HTTP service discovery
 * expects it (status 200, `application/json`, a list of `{ targets, labels }`).
 * @module
 */
import type { ScrapeResponse } from "./scrape.js";
import type { TargetDirectory } from "../discovery/http-sd.js";

/** Render the directory's groups. */
export function httpSdResponse(directory: TargetDirectory): ScrapeResponse {
  const body = Buffer.from(`${JSON.stringify(directory.groups())}\n`, "utf8");
  return {
    status: 200,
    headers: { "Content-Type": "application/json; charset=utf-8", "Content-Length": String(body.length), "Cache-Control": "no-store" },
    body,
  };
}
