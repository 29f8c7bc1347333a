/**
 * Independent judges of an exposition: Prometheus's `promtool check metrics` and the strict parsers of
 * Debian's python3-prometheus-client (text format and OpenMetrics), each run in a subprocess.
 */
import { spawn, spawnSync } from "node:child_process";

/** An exposition format. */
export type Format = "text" | "openmetrics";

/** `/usr/bin/python3`: Debian's python, which has the distribution's prometheus_client. */
export const PYTHON = "/usr/bin/python3";

function works(command: string, args: string[]): boolean {
  try {
    return spawnSync(command, args, { stdio: "ignore", timeout: 10_000 }).status === 0;
  } catch {
    return false;
  }
}

/** Which external tools this machine has. */
export const tools = {
  promtool: works("promtool", ["--version"]),
  prometheus: works("prometheus", ["--version"]),
  python: works(PYTHON, ["-c", "import prometheus_client.openmetrics.parser, prometheus_client.parser"]),
  openssl: works("openssl", ["version"]),
};

/** The warning tests print when they skip for want of tools. */
export function missingTools(needed: (keyof typeof tools)[], purpose: string): string | undefined {
  const missing = needed.filter((tool) => !tools[tool]);
  if (missing.length === 0) return undefined;
  const packages = new Set(
    missing.map((tool) => (tool === "python" ? "python3-prometheus-client" : tool === "promtool" ? "prometheus" : tool)),
  );
  return `skipping ${purpose}: ${missing.join(", ")} not found; install with \`apt-get install ${[...packages].join(" ")}\``;
}

/** Warn (once per purpose) and return true when tools are missing: use with `describe.skipIf`. */
export function skipWithout(needed: (keyof typeof tools)[], purpose: string): boolean {
  const message = missingTools(needed, purpose);
  if (message !== undefined) console.warn(message);
  return message !== undefined;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], input: string, timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input, "utf8");
  });
}

/** What promtool said: `error` for a format error (the exposition is invalid), `lint` for style problems. */
export interface PromtoolResult {
  error: string | undefined;
  lint: string[];
}

/**
 * Run `promtool check metrics` on an exposition. promtool exits 1 for a parse error and 3 for lint
 * problems only (e.g. "no help text" for OpenMetrics `_total` samples, which its text parser reads as a
 * family of their own); only the first is a format error.
 */
export async function promtoolCheck(exposition: string, promtool = "promtool"): Promise<PromtoolResult> {
  const result = await run(promtool, ["check", "metrics"], exposition);
  const output = `${result.stdout}${result.stderr}`.trim();
  if (result.code === 0) return { error: undefined, lint: [] };
  if (result.code === 3 && !/error while linting|parsing error/i.test(output)) {
    return { error: undefined, lint: output.split("\n").filter((l) => l !== "") };
  }
  return { error: `promtool exit ${result.code}: ${output}`, lint: [] };
}

/** A sample as the python parser read it; `value` in Go float notation (`+Inf`, `NaN`, `1.5`). */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: string;
  exemplar?: { labels: Record<string, string>; value: string };
}

/** A metric family as the python parser read it. */
export interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: ParsedSample[];
}

const PARSE_SCRIPT = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families as parse_text
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.utils import floatToGoString
parse = parse_openmetrics if sys.argv[1] == "openmetrics" else parse_text
data = sys.stdin.buffer.read().decode("utf-8")
try:
    families = []
    for f in parse(data):
        samples = []
        for s in f.samples:
            sample = {"name": s.name, "labels": s.labels, "value": floatToGoString(s.value)}
            if s.exemplar is not None:
                sample["exemplar"] = {"labels": s.exemplar.labels, "value": floatToGoString(s.exemplar.value)}
            samples.append(sample)
        families.append({"name": f.name, "type": f.type, "help": f.documentation, "samples": samples})
    print(json.dumps({"families": families}))
except Exception as e:
    print(json.dumps({"error": type(e).__name__ + ": " + str(e)}))
`;

/** Parse an exposition with python's prometheus_client; resolves to the families or a parse error. */
export async function pythonParse(exposition: string, format: Format): Promise<{ families?: ParsedFamily[]; error?: string }> {
  const result = await run(PYTHON, ["-c", PARSE_SCRIPT, format], exposition);
  if (result.code !== 0) return { error: `python exit ${result.code}: ${result.stderr.trim()}` };
  return JSON.parse(result.stdout) as { families?: ParsedFamily[]; error?: string };
}

/**
 * Rewrite the two OpenMetrics constructs the text format's grammar lacks, so promtool can judge the rest:
 * a HELP line's `\"` (OpenMetrics must escape a double quote there, the text format must not) becomes `"`,
 * and exemplars (` # {labels} value [timestamp]` after a sample) are dropped. Everything else is passed
 * unchanged; `# EOF` is a comment to promtool.
 */
export function openMetricsForPromtool(exposition: string): string {
  return exposition
    .split("\n")
    .map((line) => {
      if (line.startsWith("# HELP ")) return line.replace(/\\(.)/g, (pair, char: string) => (char === '"' ? '"' : pair));
      if (line.startsWith("#")) return line;
      return line.slice(0, exemplarStart(line));
    })
    .join("\n");
}

/** Where a sample line's exemplar begins (after the labels, whose values may hold anything), or its length. */
function exemplarStart(line: string): number {
  let i = line.search(/[{ ]/);
  if (i < 0) return line.length;
  if (line[i] === "{") {
    let quoted = false;
    for (i++; i < line.length; i++) {
      const char = line[i];
      if (quoted && char === "\\") i++;
      else if (char === '"') quoted = !quoted;
      else if (!quoted && char === "}") {
        i++;
        break;
      }
    }
  }
  const exemplar = line.indexOf(" # ", i);
  return exemplar < 0 ? line.length : exemplar;
}

/**
 * Check an exposition with both judges and return python's reading of it. Throws with the judges' words
 * when either finds a format error. promtool knows only the text format's grammar, so it judges
 * OpenMetrics through {@link openMetricsForPromtool}; its lint (style) findings are not errors here.
 */
export async function assertValidExposition(exposition: string, format: Format): Promise<ParsedFamily[]> {
  const problems: string[] = [];
  {
    const promtool = await promtoolCheck(format === "openmetrics" ? openMetricsForPromtool(exposition) : exposition);
    if (promtool.error !== undefined) problems.push(promtool.error);
  }
  const parsed = await pythonParse(exposition, format);
  if (parsed.error !== undefined) problems.push(`python prometheus_client (${format}): ${parsed.error}`);
  if (problems.length > 0) throw new Error(`invalid ${format} exposition:\n${problems.join("\n")}\n--- exposition ---\n${exposition}`);
  return parsed.families ?? [];
}
