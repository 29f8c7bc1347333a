/** A small HTTP(S) client for tests: exact request headers, raw response bytes, always bounded in time. */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { connect, type Socket } from "node:net";
import { gunzipSync } from "node:zlib";

/** A complete response. */
export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body as text, gunzipped when `Content-Encoding: gzip`. */
  text: string;
}

/** Options of {@link get}. */
export interface GetOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Extra TLS options (e.g. `ca`, `rejectUnauthorized`). */
  tls?: RequestOptions;
  timeoutMs?: number;
  /** The client's own address, e.g. `127.0.0.2` to be another peer on loopback. */
  localAddress?: string;
}

/** Send one request (no connection reuse) and resolve with the whole response. */
export function get(url: string, options: GetOptions = {}): Promise<Reply> {
  const target = new URL(url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      { method: options.method ?? "GET", headers: options.headers ?? {}, agent: false, ...options.tls, timeout: options.timeoutMs ?? 10_000, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          const text = (res.headers["content-encoding"] === "gzip" && body.length > 0 ? gunzipSync(body) : body).toString("utf8");
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** Open a raw TCP connection; resolves once connected. */
export function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Resolve with everything a socket received once it closes, or reject after `timeoutMs`. */
export function untilClosed(socket: Socket, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (received += chunk));
    socket.on("error", () => {
      // A reset is a close too; the test looks at what arrived before it.
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`socket still open after ${timeoutMs} ms; received ${JSON.stringify(received)}`));
    }, timeoutMs);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

/** Wait `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The Accept header Prometheus 2.42 sends. */
export const PROMETHEUS_ACCEPT =
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/** A TCP port that was free a moment ago on 127.0.0.1 (for programs that need a port number up front). */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
