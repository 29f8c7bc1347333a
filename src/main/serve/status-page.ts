/**
 * The server's `/` page and its `/status` JSON: a link to the metrics and the hub's state, refreshed live
 * by a tiny inline script (allowed by a Content-Security-Policy hash, nothing else runs).
 * @module
 */
import { createHash } from "node:crypto";
import type { HubStats, MetricsHub } from "../hub.js";
import { plain, type ScrapeResponse } from "./scrape.js";

/** The `/status` document. */
export interface StatusDocument {
  /** The metrics endpoint's path. */
  metricsPath: string;
  /** The hub's state, or null when the server has no hub. */
  hub: (HubStats & { closed: boolean }) | null;
}

/** Build the status document for a hub (or none). */
export function statusDocument(hub: MetricsHub | undefined, metricsPath: string): StatusDocument {
  return { metricsPath, hub: hub === undefined ? null : { ...hub.stats(), closed: hub.closed } };
}

const SCRIPT = `
const show = (s) => {
  const set = (id, v) => { document.getElementById(id).textContent = v; };
  if (!s.hub) return;
  set("workers", s.hub.workersConnected + " of " + s.hub.maxWorkers);
  set("fill", (s.hub.ringFill * 100).toFixed(1) + " %");
  set("drained", String(s.hub.recordsDrained));
  const dropped = Object.entries(s.hub.recordsDropped);
  set("dropped", String(dropped.reduce((n, e) => n + e[1], 0)));
  set("reasons", dropped.filter((e) => e[1] > 0).map((e) => e[0] + ": " + e[1]).join(", ") || "none");
  set("metrics", String(s.hub.metrics));
  set("state", s.hub.closed ? "closed" : "running");
  set("updated", new Date().toLocaleTimeString());
};
const poll = () => fetch("status", { cache: "no-store" }).then((r) => r.json()).then(show).catch(() => {});
setInterval(poll, 2000);
`;
const SCRIPT_HASH = createHash("sha256").update(SCRIPT, "utf8").digest("base64");
const CSP = `default-src 'none'; script-src 'sha256-${SCRIPT_HASH}'; connect-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Render the HTML page with the state as it is now (the script then refreshes it every 2 s). */
export function statusPage(document: StatusDocument): ScrapeResponse {
  const link = escapeHtml(`.${document.metricsPath}`);
  const hub = document.hub;
  let state: string;
  if (hub === null) {
    state = "<p>No MetricsHub is attached to this server: it serves the registry's metrics only.</p>";
  } else {
    const dropped = Object.entries(hub.recordsDropped);
    const total = dropped.reduce((n, [, count]) => n + count, 0);
    const reasons = dropped.filter(([, count]) => count > 0).map(([reason, count]) => `${reason}: ${count}`).join(", ") || "none";
    const row = (label: string, id: string, value: string) => `<tr><th>${label}</th><td id="${id}">${escapeHtml(value)}</td></tr>`;
    state = `<table>
${row("Hub", "state", hub.closed ? "closed" : "running")}
${row("Connected workers", "workers", `${hub.workersConnected} of ${hub.maxWorkers}`)}
${row("Fullest ring", "fill", `${(hub.ringFill * 100).toFixed(1)} %`)}
${row("Records drained", "drained", String(hub.recordsDrained))}
${row("Records dropped", "dropped", String(total))}
${row("Dropped by reason", "reasons", reasons)}
${row("Metrics declared by workers", "metrics", String(hub.metrics))}
${row("Updated", "updated", new Date().toLocaleTimeString("en"))}
</table>`;
  }
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>prom-threads</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}th{text-align:left;padding-right:1.5rem;font-weight:500}td{font-variant-numeric:tabular-nums}</style>
</head><body>
<h1>prom-threads</h1>
<p><a href="${link}">Metrics</a> · <a href="status">Status (JSON)</a></p>
${state}
${hub === null ? "" : `<script>${SCRIPT}</script>`}
</body></html>
`;
  const response = plain(200, html);
  return {
    status: 200,
    headers: { ...response.headers, "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff" },
    body: response.body,
  };
}

/** Render `/status` as JSON. */
export function statusJson(document: StatusDocument): ScrapeResponse {
  const response = plain(200, `${JSON.stringify(document)}\n`);
  return { status: 200, headers: { ...response.headers, "Content-Type": "application/json; charset=utf-8" }, body: response.body };
}
