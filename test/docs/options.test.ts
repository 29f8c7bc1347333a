/**
 * Options tables against the code. Every `| Option | Default | Meaning |` table in README.md and docs/ is
 * matched to the exported options interface it documents: a name in the table that the interface does not
 * declare fails, and so does a declared option that the table does not list (a deprecated alias may
 * instead be named in the row of the option that replaced it). For the hub and the server, the names are
 * also checked against what their resolve functions actually read.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { resolveHubOptions, type MetricsHubOptions } from "../../src/main/options.js";
import { resolveServerOptions, type StartHttpServerOptions } from "../../src/main/serve/options.js";
import { docFiles, readDoc, repoRoot, tables, type Table } from "../helpers/markdown.js";

interface Declared {
  name: string;
  deprecated: boolean;
}

const sources = new Map<string, string>();
for (const file of readdirSync(join(repoRoot, "src"), { recursive: true }) as string[]) {
  if (file.endsWith(".ts")) sources.set(file, readFileSync(join(repoRoot, "src", file), "utf8"));
}

/** The properties an exported interface declares, its `extends` included, read from the source text. */
function declaredOptions(name: string): Declared[] {
  for (const source of sources.values()) {
    const head = new RegExp(`^export interface ${name}(?:<[^>]*>)?(?:\\s+extends\\s+([^{]+))?\\s*\\{`, "m").exec(source);
    if (!head) continue;
    const declared: Declared[] = [];
    for (const parent of (head[1] ?? "").split(",").map((s) => s.trim().replace(/<.*$/, "")).filter(Boolean)) declared.push(...declaredOptions(parent));
    let depth = 1;
    let doc = "";
    let i = head.index + head[0].length;
    for (; i < source.length && depth > 0; i++) {
      const rest = source.slice(i);
      if (rest.startsWith("/**")) {
        const end = rest.indexOf("*/");
        doc = rest.slice(0, end + 2);
        i += end + 1;
        continue;
      }
      const ch = source[i];
      if (ch === "{") depth++;
      else if (ch === "}") depth--;
      else if (depth === 1 && /\s/.test(ch!) === false) {
        const property = /^(?:readonly\s+)?(\w+)\??\s*:/.exec(rest);
        if (property) {
          declared.push({ name: property[1]!, deprecated: doc.includes("@deprecated") });
          doc = "";
        }
        // Skip to the end of this member, minding nested braces and parentheses.
        let nest = 0;
        for (; i < source.length; i++) {
          const c = source[i];
          if (c === "{" || c === "(" || c === "<" || c === "[") nest++;
          else if (c === "}" || c === ")" || c === ">" || c === "]") {
            if (nest === 0) break;
            nest--;
          } else if (c === ";" && nest === 0) break;
        }
        if (source[i] === "}") i--;
      }
    }
    return declared;
  }
  throw new Error(`no exported interface ${name} in src/`);
}

/** Which interface each options table documents, by file and the heading it sits under. */
const documented: { file: string; heading: string; interface: string; complete: boolean }[] = [
  { file: "README.md", heading: "Main side: `prom-threads`", interface: "MetricsHubOptions", complete: true },
  { file: "docs/serving.md", heading: "`startHttpServer(options)`", interface: "StartHttpServerOptions", complete: true },
  { file: "docs/scaling.md", heading: "`new ClusterPublisher(options)` (in each worker process)", interface: "ClusterPublisherOptions", complete: true },
  { file: "docs/scaling.md", heading: "`new ClusterAggregator(options)` (in the primary)", interface: "ClusterAggregatorOptions", complete: true },
  { file: "docs/scaling.md", heading: "Batch jobs: the Pushgateway", interface: "PushToGatewayOptions", complete: true },
  { file: "docs/pool-metrics.md", heading: "Pool metrics", interface: "PoolAttachOptions", complete: true },
  { file: "docs/opentelemetry.md", heading: "The producer: worker metrics into any OpenTelemetry pipeline", interface: "HubMetricProducerOptions", complete: true },
  // The native-histogram options of a histogram's configuration; the rest of it is prom-client's.
  { file: "docs/native-histograms.md", heading: "Turning it on", interface: "HistogramConfiguration", complete: false },
];

function optionTables(): { file: string; table: Table }[] {
  return docFiles().flatMap((file) =>
    tables(readDoc(file))
      .filter((table) => table.header[0] === "Option")
      .map((table) => ({ file, table })),
  );
}

const optionName = (cell: string): string => /^`(\w+)`$/.exec(cell)?.[1] ?? `not one option name: ${cell}`;

describe("options tables", () => {
  it("knows which interface each options table documents", () => {
    const found = optionTables().map(({ file, table }) => `${file} / ${table.heading}`);
    expect(found.sort()).toEqual(documented.map((d) => `${d.file} / ${d.heading}`).sort());
  });

  for (const doc of documented) {
    it(`${doc.file} lists ${doc.complete ? "exactly" : "only"} the options of ${doc.interface}`, () => {
      const match = optionTables().find(({ file, table }) => file === doc.file && table.heading === doc.heading);
      expect(match, `${doc.file} has an options table under "${doc.heading}"`).toBeDefined();
      const rows = match!.table.rows;
      const listed = rows.map((row) => optionName(row[0]!));
      const declared = declaredOptions(doc.interface);
      expect(declared.length).toBeGreaterThan(0);
      const names = new Set(declared.map((d) => d.name));
      expect(listed.filter((name) => !names.has(name)), "in the table, not accepted by the code").toEqual([]);
      if (!doc.complete) return;
      const text = rows.map((row) => row.join(" ")).join("\n");
      const unlisted = declared.filter((d) => !listed.includes(d.name) && !(d.deprecated && text.includes(`\`${d.name}\``))).map((d) => d.name);
      expect(unlisted, "accepted by the code, in no table").toEqual([]);
    });
  }

  /** The top-level option names a resolve function reads. */
  function readBy(resolve: (options: never) => unknown, defaults: Record<string, unknown> = {}): string[] {
    const read = new Set<string>();
    const options = new Proxy(defaults, {
      get(target, key) {
        if (typeof key === "string") read.add(key);
        return target[key as string];
      },
    });
    resolve(options as never);
    return [...read].sort();
  }

  it("MetricsHubOptions are the names the hub reads", () => {
    const read = readBy((options: MetricsHubOptions) => resolveHubOptions(options), { registry: new Registry() });
    expect(read).toEqual(declaredOptions("MetricsHubOptions").map((d) => d.name).sort());
  });

  it("StartHttpServerOptions are the names the server reads", () => {
    const read = readBy((options: StartHttpServerOptions) => resolveServerOptions(options), { registry: new Registry() });
    expect(read).toEqual(declaredOptions("StartHttpServerOptions").map((d) => d.name).sort());
  });
});
