/**
 * Writing a prepared response to a `node:http` ServerResponse, and the method check every route shares.
 * @module
 */
import { type IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { endStep, startStep, stepTiming } from "../hub/step-timing.js";
import type { BodyLease } from "./body-lease.js";
import { plain, type ScrapeResponse } from "./scrape.js";

/** The methods every route answers. */
export const kAllowedMethods = "GET, HEAD";

/** Whether a request's method is one the routes answer (GET or HEAD). */
export function isReadMethod(method: string | undefined): boolean {
  return method === "GET" || method === "HEAD";
}

/** The `405 Method Not Allowed` response, with its `Allow` header. */
export function methodNotAllowed(): ScrapeResponse {
  return plain(405, "405 Method Not Allowed\n", { Allow: kAllowedMethods });
}

/** What a response may cost a connection that reads slowly (see `writeTimeout` and `maxBufferedBytes`). */
export interface WriteLimits {
  readonly writeTimeout: number;
  readonly maxBufferedBytes: number;
}

/**
 * Write `response`; a HEAD request gets the same headers and no body. With `limits`, the connection is
 * destroyed when the response is not handed to the operating system within `writeTimeout`, or when the
 * client asks again while more than `maxBufferedBytes` of earlier answers wait unread.
 */
export function send(req: IncomingMessage, res: ServerResponse, response: ScrapeResponse, limits?: WriteLimits): void {
  if (res.headersSent || res.destroyed) return;
  if (limits !== undefined) {
    const socket = req.socket;
    // writableLength: bytes accepted by the socket and not yet by the kernel, i.e. what the client left unread.
    if (socket.writableLength > limits.maxBufferedBytes) {
      socket.destroy();
      return;
    }
    const timer = setTimeout(() => socket.destroy(), limits.writeTimeout);
    timer.unref();
    // "finish": the last byte was handed to the operating system; "close": the connection ended first.
    const done = (): void => clearTimeout(timer);
    res.once("finish", done);
    res.once("close", done);
  }
  const timed = stepTiming.enabled ? startStep() : undefined;
  res.writeHead(response.status, response.headers);
  const body = req.method === "HEAD" ? undefined : response.body;
  if (body !== undefined && response.lease !== undefined) holdWhileWriting(res, response.lease);
  if (body === undefined || body.length <= kWriteStepBytes) {
    res.end(body);
    if (timed !== undefined) endStep("write", timed);
    return;
  }
  writeInSteps(res, body, 0, timed);
}

/**
 * Hold `lease` until `res` is done: "finish" (the last byte was handed to the operating system), "close"
 * (the connection ended first) or the close of its socket (a pipelined response still queued behind
 * another when the connection drops emits neither), whichever comes first. A response already ended holds
 * nothing; an HTTP/2 response (fastify with `http2: true`) pins the lease, since its "finish" can come
 * before the session has written the bytes.
 */
export function holdWhileWriting(res: ServerResponse | Http2ServerResponse, lease: BodyLease): void {
  if (!(res instanceof ServerResponse)) {
    lease.pin();
    return;
  }
  if (res.destroyed || res.writableFinished) return;
  lease.hold();
  const socket = res.socket;
  let held = true;
  const done = (): void => {
    if (!held) return;
    held = false;
    res.off("finish", done);
    res.off("close", done);
    socket?.off("close", done);
    lease.drop();
  };
  res.once("finish", done);
  res.once("close", done);
  socket?.once("close", done);
}

/**
 * Bytes of a body handed to the socket per step. On loopback the kernel takes a write of several
 * megabytes at once, and copies and processes all of it inside the call: a 4.7 MB body held the main
 * thread for 4.5 ms in one write. A quarter of a megabyte per turn of the event loop keeps each step short.
 */
const kWriteStepBytes = 256 * 1024;

/** Write `body` from `at` on, one step of {@link kWriteStepBytes} per turn (or per `drain` when the socket is full). */
function writeInSteps(res: ServerResponse, body: Buffer, at: number, timed: ReturnType<typeof startStep> | undefined): void {
  const end = Math.min(body.length, at + kWriteStepBytes);
  if (end === body.length) {
    res.end(body.subarray(at));
    if (timed !== undefined) endStep("write", timed);
    return;
  }
  const flushed = res.write(body.subarray(at, end));
  if (timed !== undefined) endStep("write", timed);
  const next = (): void => {
    // The client went away: nothing more to write (the socket was destroyed, the response closed).
    if (res.destroyed || res.writableEnded) return;
    writeInSteps(res, body, end, stepTiming.enabled ? startStep() : undefined);
  };
  // The next step runs in a turn of its own. On loopback a write completes at once and "drain" comes in the
  // same turn (as a next tick): written from "drain", a 4.8 MB body went out in one turn of about 2 ms.
  if (flushed) setImmediate(next);
  else res.once("drain", () => setImmediate(next));
}

/**
 * The `name[]` query parameters of a request target (`/metrics?name[]=a&name[]=b`), or undefined when
 * there are none: the families a scraper asks for.
 */
export function requestedNames(target: string | undefined): string[] | undefined {
  const query = target?.indexOf("?") ?? -1;
  if (target === undefined || query < 0) return undefined;
  const end = target.indexOf("#", query);
  const names = new URLSearchParams(target.slice(query + 1, end < 0 ? undefined : end)).getAll("name[]");
  return names.length === 0 ? undefined : names;
}

/**
 * The path of a request target, without its query: origin form (`/metrics?x`) as it is, and absolute form
 * (`http://host:9464/metrics`), which RFC 9112 says a server must accept, reduced to its path.
 */
export function requestPath(target: string | undefined): string {
  let url = target ?? "/";
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(url);
  if (absolute !== null) url = url.slice(absolute[0].length);
  const end = url.search(/[?#]/);
  const path = end < 0 ? url : url.slice(0, end);
  return path === "" ? "/" : path;
}
