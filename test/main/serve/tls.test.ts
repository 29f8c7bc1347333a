import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, createServer as createTlsServer, type ConnectionOptions } from "node:tls";
import { Gauge, Registry } from "prom-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startHttpServer, type MetricsServer } from "../../../src/main/index.js";
import { skipWithout } from "../../helpers/exposition-checkers.js";
import { get, rawConnect, untilClosed } from "../../helpers/http.js";

/** A throwaway CA and a server certificate for 127.0.0.1, made with openssl for this run only. */
interface TestPki {
  ca: Buffer;
  key: Buffer;
  cert: Buffer;
}

let dir = "";
let pki: TestPki;

function makePki(): TestPki {
  dir = mkdtempSync(join(tmpdir(), "prom-threads-tls-"));
  const run = (args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: "ignore", timeout: 30_000 });
  run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=prom-threads test CA"]);
  run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]);
  const ext = join(dir, "ext.cnf");
  execFileSync("sh", ["-c", `printf 'subjectAltName=IP:127.0.0.1\\n' > ${JSON.stringify(ext)}`]);
  run(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "ext.cnf"]);
  return { ca: readFileSync(join(dir, "ca.pem")), key: readFileSync(join(dir, "server.key")), cert: readFileSync(join(dir, "server.pem")) };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function serve(options: Parameters<typeof startHttpServer>[0]): Promise<MetricsServer> {
  const registry = new Registry();
  new Gauge({ name: "app_up", help: "Up.", registers: [registry] }).set(1);
  const server = await startHttpServer({ port: 0, registry, tls: { key: pki.key, cert: pki.cert }, ...options });
  cleanups.push(() => server.close());
  return server;
}

/** Connect with TLS; resolves with the negotiated protocol or the error code. */
function handshake(port: number, options: ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, ca: pki.ca, ...options }, () => {
      resolve(`ok ${socket.getProtocol()}`);
      socket.destroy();
    });
    socket.on("error", (error: Error & { code?: string }) => resolve(`error ${error.code ?? error.message}`));
    socket.setTimeout(10_000, () => socket.destroy(new Error("timeout")));
  });
}

// What a TLS 1.1 client needs from this machine's OpenSSL (security level 0 re-enables TLS 1.0/1.1).
const TLS11_CLIENT: ConnectionOptions = { minVersion: "TLSv1.1", maxVersion: "TLSv1.1", ciphers: "DEFAULT@SECLEVEL=0" };

describe.skipIf(skipWithout(["openssl"], "TLS tests"))("TLS", () => {
  beforeAll(() => {
    pki = makePki();
  });
  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("serves metrics over HTTPS, verified against the test CA", async () => {
    const server = await serve({});
    expect(server.url).toBe(`https://127.0.0.1:${server.port}/metrics`);
    const reply = await get(server.url, { tls: { ca: pki.ca } });
    expect(reply.status).toBe(200);
    expect(reply.text).toContain("app_up 1\n");
    expect(await handshake(server.port, {})).toMatch(/^ok TLSv1\.[23]$/);
    // Without the CA, a verifying client refuses the self-signed chain; with rejectUnauthorized: false it talks.
    await expect(get(server.url)).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    expect((await get(server.url, { tls: { rejectUnauthorized: false } })).status).toBe(200);
  });

  it("does not answer plain HTTP on the TLS port", async () => {
    const server = await serve({});
    const reply = await get(`http://127.0.0.1:${server.port}/metrics`, { timeoutMs: 3000 }).then(
      (r) => r.status,
      () => "failed",
    );
    expect(reply).not.toBe(200);
  });

  it("refuses a TLS 1.1 client with a protocol_version alert, though that client can talk TLS 1.1", async () => {
    // Control: a server that allows TLS 1.1 accepts this very client, so the refusal below is the server's.
    const permissive = createTlsServer({ key: pki.key, cert: pki.cert, minVersion: "TLSv1.1", ciphers: "DEFAULT@SECLEVEL=0" }, (s) => s.end());
    await new Promise<void>((resolve) => permissive.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => permissive.close(resolve)));
    const port = (permissive.address() as { port: number }).port;
    expect(await handshake(port, TLS11_CLIENT)).toBe("ok TLSv1.1");

    const server = await serve({});
    expect(await handshake(server.port, TLS11_CLIENT)).toBe("error ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION");
    expect(await handshake(server.port, { minVersion: "TLSv1.2", maxVersion: "TLSv1.2" })).toBe("ok TLSv1.2");
  });

  it("honours a stricter minVersion", async () => {
    const server = await serve({ tls: { key: pki.key, cert: pki.cert, minVersion: "TLSv1.3" } });
    expect(await handshake(server.port, { maxVersion: "TLSv1.2" })).toBe("error ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION");
    expect(await handshake(server.port, {})).toBe("ok TLSv1.3");
  });

  it("cuts off a client that never completes the handshake after headersTimeout", async () => {
    const server = await serve({ headersTimeout: 500, requestTimeout: 5000 });
    const idle = await rawConnect(server.port);
    // Within the test's bound, far below tls's own 120 s default.
    await untilClosed(idle, 5000);
  });

  it("combines with basic auth", async () => {
    const server = await serve({ auth: { username: "p", password: "q" } });
    expect((await get(server.url, { tls: { ca: pki.ca } })).status).toBe(401);
    const authorization = `Basic ${Buffer.from("p:q").toString("base64")}`;
    expect((await get(server.url, { tls: { ca: pki.ca }, headers: { authorization } })).status).toBe(200);
  });
});
