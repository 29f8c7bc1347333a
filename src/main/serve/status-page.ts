/**
 * The server's `/` page and its `/status` JSON: the hub's state with charts, rendered in the server for
 * the first paint and then redrawn live by one inline script (allowed by a Content-Security-Policy
 * hash; nothing else runs, nothing is fetched from elsewhere).
 * @module
 */
import { createHash } from "node:crypto";
import { renderStatus, kStatusWindowMs } from "./status-render.js";
import { plain, type ScrapeResponse } from "./scrape.js";
import type { StatusDocument } from "./status-snapshot.js";

export { statusDocument, type StatusDocument } from "./status-snapshot.js";

/** Milliseconds between two polls of the status document by the page. */
export const kStatusPollMs = 2000;

// The renderer's own source runs in the browser: see renderStatus. The first document comes from the
// page itself, so the first poll already draws rates.
const kScript = `
const renderStatus = ${renderStatus.toString()};
const live = document.getElementById("live");
const url = document.body.dataset.status;
const history = [JSON.parse(document.getElementById("initial").textContent)];
document.documentElement.classList.add("js");
const poll = () => fetch(url, { cache: "no-store", headers: { Accept: "application/json" } })
  .then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
  .then((doc) => {
    history.push(doc);
    while (history.length > 2 && history[0].time < doc.time - ${kStatusWindowMs} - ${kStatusPollMs}) history.shift();
    live.innerHTML = renderStatus(doc, history);
    document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
    document.body.classList.remove("offline");
  })
  .catch(() => document.body.classList.add("offline"))
  .finally(() => setTimeout(poll, ${kStatusPollMs}));
setTimeout(poll, ${kStatusPollMs});
`;
const kScriptHash = createHash("sha256").update(kScript, "utf8").digest("base64");
const kCsp = `default-src 'none'; script-src 'sha256-${kScriptHash}'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

const kStyle = `
:root{color-scheme:light dark;--bg:#f7f8fa;--card:#fff;--fg:#1c2430;--muted:#5d6b7e;--line:#d9dee6;--s0:#2f6fde;--s1:#d9480f;--s2:#2b8a3e;--s3:#9c36b5;--s4:#c99700;--s5:#0c8599;--hot:#e03131}
@media (prefers-color-scheme:dark){:root{--bg:#11151b;--card:#1a2029;--fg:#e3e8ef;--muted:#97a3b4;--line:#2d3643;--s0:#6ea2ff;--s1:#ff8a4c;--s2:#5fce79;--s3:#d17be8;--s4:#f2cc4a;--s5:#3cc9de;--hot:#ff6b6b}}
*{box-sizing:border-box}body{font:15px/1.45 system-ui,sans-serif;margin:0;padding:1.25rem;background:var(--bg);color:var(--fg);max-width:75rem;margin-inline:auto}
a{color:var(--s0)}h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}header p{margin:0 0 1rem;color:var(--muted)}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.6rem;margin:.5rem 0}
.tile,.chart,table{background:var(--card);border:1px solid var(--line);border-radius:.5rem}
.tile{padding:.55rem .75rem;display:flex;flex-direction:column}.label,.note,small,.axis,.scope,.wait{color:var(--muted);font-size:.8rem}
.value{font-size:1.35rem;font-weight:600;font-variant-numeric:tabular-nums}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:.6rem;margin:.6rem 0}
.chart{margin:0;padding:.6rem .75rem}figcaption{font-weight:500;margin-bottom:.3rem}
.plot{position:relative}.plot svg{display:block;width:100%;height:8rem;border-left:1px solid var(--line)}.plot svg.bars{height:5rem}
.ymax{position:absolute;top:-.2rem;left:.3rem;font-size:.72rem;color:var(--muted)}
.axis{display:flex;justify-content:space-between}
polyline{fill:none;stroke-width:2;vector-effect:non-scaling-stroke;stroke-linejoin:round}
line.grid{stroke:var(--line);stroke-width:1;vector-effect:non-scaling-stroke;stroke-dasharray:4 3}
.s0{stroke:var(--s0);color:var(--s0)}.s1{stroke:var(--s1);color:var(--s1)}.s2{stroke:var(--s2);color:var(--s2)}.s3{stroke:var(--s3);color:var(--s3)}.s4{stroke:var(--s4);color:var(--s4)}.s5{stroke:var(--s5);color:var(--s5)}
.legend{display:flex;flex-wrap:wrap;gap:.2rem .9rem;font-size:.8rem}.key::before{content:"";display:inline-block;width:.8rem;height:.2rem;background:currentColor;vertical-align:middle;margin-right:.3rem}.key b{color:var(--fg);font-weight:500}
rect.used{fill:var(--s0)}rect.hot{fill:var(--hot)}rect.free{fill:var(--line)}
table{border-collapse:separate;border-spacing:0;width:100%;margin:.4rem 0;font-variant-numeric:tabular-nums}th,td{text-align:left;padding:.35rem .7rem;border-bottom:1px solid var(--line)}tr:last-child>*{border-bottom:0}th{font-weight:500}
.bar{display:inline-block;width:6rem;height:.55rem;background:var(--line);border-radius:.3rem;margin-right:.5rem;overflow:hidden;vertical-align:middle}.bar>span{display:block;height:100%;background:var(--s2)}.bar.hot>span{background:var(--hot)}
.js .wait{display:none}.offline header p::after{content:" · status unreachable, retrying";color:var(--hot)}
@media (max-width:40rem){body{padding:.7rem;font-size:14px}.plot svg{height:6rem}.tiles{grid-template-columns:repeat(2,1fr)}.charts{grid-template-columns:1fr}.value{font-size:1.15rem}th,td{padding:.3rem .4rem}.bar{width:3rem}}
`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Where the page's links point. */
export interface StatusPageLinks {
  /** The status document, relative to the page: what the script polls. */
  statusUrl: string;
  /** The metrics link. */
  metricsUrl: string;
}

/**
 * Render the HTML page with the state as it is now; with JavaScript it then polls the status document
 * every 2 s and redraws. The links default to the server's routes, relative so that a reverse proxy's
 * path prefix is kept.
 */
export function statusPage(document: StatusDocument, links?: StatusPageLinks): ScrapeResponse {
  const statusUrl = links?.statusUrl ?? "status";
  const link = escapeHtml(links?.metricsUrl ?? `.${document.metricsPath}`);
  // A JSON data block: not executed, so the kCsp does not need to allow it. `<` is escaped so no value can
  // close the element.
  const initial = JSON.stringify(document).replace(/</g, "\\u003c");
  const live = document.hub === null ? "" : `<script type="application/json" id="initial">${initial}</script>\n<script>${kScript}</script>`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>prom-threads status</title>
${document.hub === null ? "" : `<noscript><meta http-equiv="refresh" content="10"></noscript>`}
<style>${kStyle}</style>
</head><body data-status="${escapeHtml(statusUrl)}">
<header><h1>prom-threads</h1><p><a href="${link}">Metrics</a> · <a href="${escapeHtml(statusUrl)}">Status (JSON)</a> · live, every ${kStatusPollMs / 1000} s</p></header>
<main id="live">
${renderStatus(document, [document])}
</main>
${live}
</body></html>
`;
  const response = plain(200, html);
  return {
    status: 200,
    headers: { ...response.headers, "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": kCsp, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store" },
    body: response.body,
  };
}

/** Render `/status` as JSON. */
export function statusJson(document: StatusDocument): ScrapeResponse {
  const response = plain(200, `${JSON.stringify(document)}\n`);
  return { status: 200, headers: { ...response.headers, "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" }, body: response.body };
}
