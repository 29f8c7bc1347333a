/** The Grafana dashboard of monitoring/grafana, read for the structure and Prometheus tests. */
import { readFileSync } from "node:fs";

export interface DashboardTarget {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: { list: { name: string; type: string; query?: unknown; datasource?: { uid?: string } }[] };
}

/** The dashboard as shipped. */
export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(new URL("../../monitoring/grafana/prom-threads-dashboard.json", import.meta.url), "utf8")) as Dashboard;
}

/** Every panel, rows' nested panels included. */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Grafana's built-in variables the queries may use. */
export const BUILTIN_VARIABLES = new Set(["__rate_interval", "__interval", "__range", "__interval_ms", "__range_s"]);

/** The variables (`$name`, `${name}`, `[[name]]`) a text uses. */
export function variablesIn(text: string): string[] {
  return [...text.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g)].map((m) => (m[1] ?? m[2] ?? m[3]) as string);
}
