/**
 * Independent judges of the text exposition: Prometheus's own `promtool check metrics` and the Python
 * client's parser (`prometheus_client.parser.text_string_to_metric_families`), as Debian packages them.
 * When one is missing, tests that need it skip with a message naming the package to install.
 */
import { execFile, execFileSync, spawn } from "node:child_process";

/** The Debian packages that provide the judges. */
export const JUDGE_PACKAGES = "prometheus (promtool) and python3-prometheus-client";

const PYTHON = "/usr/bin/python3";

function works(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore", timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** Whether `promtool` is on the PATH. */
export const hasPromtool = works("promtool", ["--version"]);
/** Whether Debian's python3 can import prometheus_client. */
export const hasPythonParser = works(PYTHON, ["-c", "import prometheus_client.parser"]);

/** What a judge said about one render. */
export interface Verdict {
  ok: boolean;
  output: string;
}

/**
 * Run `promtool check metrics` on `text`. Exit 0: accepted. Exit 3 (lint problems only) and 1 (parse
 * errors) are both failures here: the tests generate lint-clean names, so any remark is a finding.
 */
export function promtoolCheck(text: string): Promise<Verdict> {
  return new Promise((resolve, reject) => {
    const child = spawn("promtool", ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ ok: code === 0, output: `exit ${code}${output.trim() === "" ? "" : `: ${output.trim()}`}` }));
    child.stdin.end(text);
  });
}

/** One sample as the Python parser read it. Values are strings (repr), so that +Inf and NaN survive JSON. */
export interface PySample {
  name: string;
  labels: Record<string, string>;
  value: string;
}

/** One metric family as the Python parser read it. */
export interface PyFamily {
  name: string;
  type: string;
  documentation: string;
  samples: PySample[];
}

/** The Python parser's reading of one render: its families, or the error it raised. */
export type PyReading = { families: PyFamily[] } | { error: string };

const PARSE_SCRIPT = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for text in json.load(sys.stdin):
    try:
        families = []
        for f in text_string_to_metric_families(text):
            families.append({"name": f.name, "type": f.type, "documentation": f.documentation,
                             "samples": [{"name": s.name, "labels": s.labels, "value": repr(float(s.value))} for s in f.samples]})
        out.append({"families": families})
    except Exception as e:
        out.append({"error": type(e).__name__ + ": " + str(e)})
json.dump(out, sys.stdout)
`;

/** Parse every render with the Python client's strict parser, in one Python process. */
export function pythonParse(texts: readonly string[]): Promise<PyReading[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, ["-c", PARSE_SCRIPT], { maxBuffer: 256 * 2 ** 20, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python parser failed: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as PyReading[]);
    });
    child.stdin?.end(JSON.stringify(texts));
  });
}

/** Python's repr of a float, or an `le` label value, back to a number (infinities and NaN included). */
export function pyNumber(value: string): number {
  switch (value.toLowerCase()) {
    case "inf":
    case "+inf":
      return Infinity;
    case "-inf":
      return -Infinity;
    case "nan":
      return Number.NaN;
    default:
      return Number(value);
  }
}
