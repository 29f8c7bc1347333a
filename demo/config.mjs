// Command-line flags and environment variables of the demo service.
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";

const defaults = { host: "127.0.0.1", port: 3000, metricsPort: 9464, threads: availableParallelism() };

export const HELP = `Usage: npm start -- [options]      (or: node demo/server.mjs [options])

Runs the prom-threads demo service: an HTTP API whose requests run CPU-bound jobs in a piscina
pool of worker threads, and the metrics of the jobs, the pool and its threads for Prometheus.

Options (a flag wins over its environment variable):
  --host <address>      address both servers listen on     HOST          default ${defaults.host}
  --port <n>            API port (0: any free port)        PORT          default ${defaults.port}
  --metrics-port <n>    metrics port (0: any free port)    METRICS_PORT  default ${defaults.metricsPort}
  --threads <n>         worker threads in the pool         THREADS       default ${defaults.threads} (this machine's CPUs)
  -h, --help            print this help and exit

API (GET):
  /jobs/hash?kib=64&rounds=20   SHA-256 chain over kib KiB, rounds times
  /jobs/json?items=2000         JSON round trip, group and sort of items records
  /jobs/pixels?size=256         render, grey, blur and histogram a size x size RGBA image
  /healthz                      200 "ok" while the service runs

Metrics: http://<host>:<metrics-port>/metrics (status page at /). Stop with Ctrl-C or SIGTERM.
`;

/** A configuration problem: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

function integer(name, text, min, max) {
  const value = Number(text);
  if (text === "" || !Number.isInteger(value) || value < min || value > max) throw new UsageError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return value;
}

/**
 * Read the configuration from `argv` (without node and the script) and `env`.
 * @returns {{ help: true } | { help: false, host: string, port: number, metricsPort: number, threads: number }}
 */
export function parseConfig(argv, env) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "metrics-port": { type: "string" },
        threads: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(error.message);
  }
  if (parsed.help) return { help: true };
  const pick = (flag, variable) => parsed[flag] ?? env[variable];
  const host = pick("host", "HOST") ?? defaults.host;
  if (host === "") throw new UsageError("--host (HOST) must not be empty");
  const port = pick("port", "PORT");
  const metricsPort = pick("metrics-port", "METRICS_PORT");
  const threads = pick("threads", "THREADS");
  const config = {
    help: false,
    host,
    port: port === undefined ? defaults.port : integer("--port (PORT)", port, 0, 65535),
    metricsPort: metricsPort === undefined ? defaults.metricsPort : integer("--metrics-port (METRICS_PORT)", metricsPort, 0, 65535),
    threads: threads === undefined ? defaults.threads : integer("--threads (THREADS)", threads, 1, 256),
  };
  if (config.port !== 0 && config.port === config.metricsPort) throw new UsageError(`--port and --metrics-port must differ, both are ${config.port}`);
  return config;
}
