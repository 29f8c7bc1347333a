import bcrypt from "bcryptjs";
import { Gauge, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { startHttpServer, type MetricsServer } from "../../../src/main/index.js";
import { BasicAuth, parseBasic, resolveAuth } from "../../../src/main/serve/auth.js";
import { get } from "../../helpers/http.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function serve(options: Parameters<typeof startHttpServer>[0]): Promise<MetricsServer> {
  const registry = new Registry();
  new Gauge({ name: "app_up", help: "Up.", registers: [registry] }).set(1);
  const server = await startHttpServer({ port: 0, registry, ...options });
  cleanups.push(() => server.close());
  return server;
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

const CHALLENGE = 'Basic realm="metrics", charset="UTF-8"';

/** Every way a request can fail to authenticate as prometheus / s3cret. */
const REFUSED: [string, Record<string, string>][] = [
  ["no header", {}],
  ["wrong password", { authorization: basic("prometheus", "s3cret!") }],
  ["wrong user", { authorization: basic("grafana", "s3cret") }],
  ["user differs in case", { authorization: basic("Prometheus", "s3cret") }],
  ["empty credentials", { authorization: basic("", "") }],
  ["password prefix", { authorization: basic("prometheus", "s3cre") }],
  ["bearer scheme", { authorization: "Bearer s3cret" }],
  ["not base64", { authorization: "Basic !!!not-base64!!!" }],
  ["no colon", { authorization: `Basic ${Buffer.from("prometheuss3cret").toString("base64")}` }],
  ["scheme only", { authorization: "Basic" }],
  ["truncated base64", { authorization: basic("prometheus", "s3cret").slice(0, -2) }],
];

describe("basic auth, plain password", () => {
  it("lets the right credentials in on every route and refuses everything else with 401 and a challenge", async () => {
    const server = await serve({ auth: { username: "prometheus", password: "s3cret" } });
    const good = { authorization: basic("prometheus", "s3cret") };
    for (const path of ["/metrics", "/status", "/"]) {
      expect((await get(`http://127.0.0.1:${server.port}${path}`, { headers: good })).status, path).toBe(200);
    }
    expect((await get(server.url, { headers: { authorization: `basic ${basic("prometheus", "s3cret").slice(6)}` } })).status).toBe(200);
    for (const [why, headers] of REFUSED) {
      for (const path of ["/metrics", "/status", "/", "/nope"]) {
        const reply = await get(`http://127.0.0.1:${server.port}${path}`, { headers });
        expect(reply.status, `${why} ${path}`).toBe(401);
        expect(reply.headers["www-authenticate"]).toBe(CHALLENGE);
        expect(reply.text).not.toContain("app_up");
      }
    }
  });

  it("handles a password with colons and unicode", async () => {
    const server = await serve({ auth: { username: "prom", password: "a:b:ç✓" } });
    expect((await get(server.url, { headers: { authorization: basic("prom", "a:b:ç✓") } })).status).toBe(200);
    expect((await get(server.url, { headers: { authorization: basic("prom", "a:b:c") } })).status).toBe(401);
  });
});

describe("basic auth, bcrypt hash", () => {
  // Cost 4 keeps the suite fast; the prefix only names the bcrypt variant.
  const hash = bcrypt.hashSync("s3cret", 4);

  it.each(["$2a$", "$2b$", "$2y$"])("accepts a %s hash and refuses wrong and malformed credentials", async (prefix) => {
    const server = await serve({ auth: { username: "prometheus", password: prefix + hash.slice(4) } });
    const good = { authorization: basic("prometheus", "s3cret") };
    expect((await get(server.url, { headers: good })).status).toBe(200);
    // Twice more: the second and later use the verified-credentials cache, which must not widen access.
    expect((await get(server.url, { headers: good })).status).toBe(200);
    for (const [why, headers] of REFUSED) {
      const reply = await get(server.url, { headers });
      expect(reply.status, why).toBe(401);
      expect(reply.headers["www-authenticate"]).toBe(CHALLENGE);
    }
    expect((await get(server.url, { headers: good })).status).toBe(200);
  });

  it("refuses a password longer than bcrypt's 72 bytes even when its first 72 match", async () => {
    const long = "p".repeat(72);
    const server = await serve({ auth: { username: "u", password: bcrypt.hashSync(long, 4) } });
    expect((await get(server.url, { headers: { authorization: basic("u", long) } })).status).toBe(200);
    expect((await get(server.url, { headers: { authorization: basic("u", `${long}extra`) } })).status).toBe(401);
  });

  it("runs the bcrypt check for a wrong user and for a missing or malformed header, not only for a wrong password", async () => {
    const compared: string[] = [];
    const counting = {
      compare: (password: string, h: string): Promise<boolean> => {
        compared.push(password);
        return bcrypt.compare(password, h);
      },
    };
    const auth = await BasicAuth.create(resolveAuth({ username: "prometheus", password: hash }), undefined, counting);
    for (const header of [basic("grafana", "s3cret"), basic("prometheus", "wrong"), "Basic ???", undefined]) {
      expect(await auth.verify(header)).toBe(false);
    }
    // One bcrypt comparison per request, whatever was wrong with it: no shortcut for an unknown user.
    expect(compared).toEqual(["s3cret", "wrong", "", ""]);
    // A wrong user with the right password must not fill the cache of verified credentials.
    expect(await auth.verify(basic("grafana", "s3cret"))).toBe(false);
    expect(await auth.verify(basic("prometheus", "s3cret"))).toBe(true);
    expect(await auth.verify(basic("prometheus", "s3cret"))).toBe(true);
    expect(compared).toEqual(["s3cret", "wrong", "", "", "s3cret", "s3cret"]);
  });
});

describe("parsing the Authorization header", () => {
  it.each([
    [basic("a", "b"), { username: "a", password: "b" }],
    [basic("a", ""), { username: "a", password: "" }],
    [basic("a", "b:c"), { username: "a", password: "b:c" }],
    [`BASIC   ${Buffer.from("a:b").toString("base64")}`, { username: "a", password: "b" }],
    ["Basic", undefined],
    ["Basic abc", undefined],
    ["Basic a=bc", undefined],
    ["Digest a:b", undefined],
    [undefined, undefined],
  ])("%j", (header, expected) => {
    expect(parseBasic(header)).toEqual(expected);
  });
});

describe("without bcryptjs installed", () => {
  it("rejects a bcrypt hash with ERR_PROM_THREADS_MISSING_PEER_DEPENDENCY", async () => {
    const { cpSync, mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const { execFile } = await import("node:child_process");
    const root = new URL("../../../", import.meta.url).pathname;
    // A copy of the built package whose node_modules has prom-client and nothing else.
    const dir = mkdtempSync(join(tmpdir(), "prom-threads-nobcrypt-"));
    try {
      cpSync(join(root, "dist"), join(dir, "dist"), { recursive: true });
      cpSync(join(root, "package.json"), join(dir, "package.json"));
      mkdirSync(join(dir, "node_modules"));
      // Node resolves the link to its real path, so prom-client still finds its own dependencies.
      symlinkSync(join(root, "node_modules", "prom-client"), join(dir, "node_modules", "prom-client"));
      const hash = bcrypt.hashSync("x", 4);
      writeFileSync(
        join(dir, "main.mjs"),
        `import { startHttpServer } from "./dist/main/index.js";
startHttpServer({ port: 0, auth: { username: "u", password: ${JSON.stringify(hash)} } }).then(
  (s) => { console.log("started"); return s.close(); },
  (e) => console.log(e.code + " " + e.message),
);`,
      );
      const stdout = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, ["main.mjs"], { cwd: dir, timeout: 20_000 }, (error, out) => (error ? reject(error) : resolve(out))),
      );
      expect(stdout).toContain("ERR_PROM_THREADS_MISSING_PEER_DEPENDENCY options.auth.password is a bcrypt hash");
      expect(stdout).toContain("npm install bcryptjs");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
