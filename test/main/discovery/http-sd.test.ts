/**
 * HTTP service discovery: the TargetDirectory, its /http_sd route, and cluster worker processes that
 * serve their own ports and announce them to the primary (this test).
 */
import cluster from "node:cluster";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes, TargetDirectory, announceToPrimary, startHttpServer, type PromThreadsError } from "../../../src/main/index.js";
import { command, fork, kill, killAll } from "../../helpers/cluster.js";
import { get } from "../../helpers/http.js";
import { waitFor } from "../../helpers/workers.js";

const stops: Array<() => unknown> = [];
afterEach(async () => {
  await killAll();
  for (const stop of stops.splice(0)) await stop();
});

describe("TargetDirectory", () => {
  it("lists added targets with the common labels under their own, until removed", () => {
    const directory = new TargetDirectory({ labels: { service: "api", zone: "a" } });
    const remove = directory.add("10.0.0.1:9464", { zone: "b" });
    directory.add("[::1]:9464");
    expect(directory.groups()).toEqual([
      { targets: ["10.0.0.1:9464"], labels: { service: "api", zone: "b" } },
      { targets: ["[::1]:9464"], labels: { service: "api", zone: "a" } },
    ]);
    remove();
    directory.remove("[::1]:9464");
    expect(directory.groups()).toEqual([]);
    expect(() => directory.add("10.0.0.1")).toThrow(/options.target/);
    expect(() => directory.add("10.0.0.1:1", { "a-b": "x" })).toThrow(/options.labels.a-b/);
  });

  it("is served at /http_sd as Prometheus expects, behind the server's auth, and only with httpSd", async () => {
    const directory = new TargetDirectory();
    directory.add("127.0.0.1:1234", { proc: "p1" });
    const server = await startHttpServer({ registry: new Registry(), port: 0, httpSd: directory, auth: { username: "u", password: "p" } });
    stops.push(() => server.close());
    const base = server.url.replace(/\/metrics$/, "");
    const authorization = `Basic ${Buffer.from("u:p").toString("base64")}`;
    const reply = await get(`${base}/http_sd`, { headers: { authorization } });
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(JSON.parse(reply.text)).toEqual([{ targets: ["127.0.0.1:1234"], labels: { proc: "p1" } }]);
    expect((await get(`${base}/http_sd`)).status).toBe(401);
    expect((await get(`${base}/http_sd`, { method: "POST", headers: { authorization } })).status).toBe(405);
    const plain = await startHttpServer({ registry: new Registry(), port: 0 });
    stops.push(() => plain.close());
    expect((await get(plain.url.replace(/\/metrics$/, "/http_sd"))).status).toBe(404);
    await expect(startHttpServer({ port: 0, httpSd: {} as TargetDirectory })).rejects.toThrow(/options.httpSd/);
  });

  it("lists what cluster worker processes announce, each on a port of its own, and drops them when they go", async () => {
    const directory = new TargetDirectory({ labels: { service: "fleet" } });
    stops.push(directory.acceptClusterWorkers());
    const procs = await Promise.all([1, 2, 3].map((n) => fork({ PROC: `h${n}`, SERVE: "1", NO_PUBLISHER: "1" })));
    const expected = procs.map((p, i) => ({ targets: [`127.0.0.1:${p.port}`], labels: { service: "fleet", fleet_proc: `h${i + 1}` } }));
    expect(new Set(procs.map((p) => p.port)).size).toBe(3); // exclusive listens: three ports, not one shared
    expect(await waitFor(() => directory.groups().length === 3, 5000)).toBe(true);
    const sorted = () => directory.groups().sort((a, b) => a.labels.fleet_proc!.localeCompare(b.labels.fleet_proc!));
    expect(sorted()).toEqual(expected);
    // Every listed target really serves that process's metrics.
    for (const p of procs) expect((await get(`http://127.0.0.1:${p.port}/metrics`)).status).toBe(200);
    await kill(procs[0]!);
    await command(procs[1]!, { test: "withdraw" });
    expect(await waitFor(() => directory.groups().length === 1, 5000)).toBe(true);
    expect(directory.groups()[0]!.labels.fleet_proc).toBe("h3");
  });

  it("asks workers that announced before it existed to announce again", async () => {
    const [proc] = await Promise.all([fork({ PROC: "late", SERVE: "1", NO_PUBLISHER: "1" })]);
    const directory = new TargetDirectory();
    stops.push(directory.acceptClusterWorkers());
    expect(await waitFor(() => directory.groups().length === 1, 5000)).toBe(true);
    expect(directory.groups()).toEqual([{ targets: [`127.0.0.1:${proc!.port}`], labels: { fleet_proc: "late" } }]);
  });

  it("reports invalid announcements, and refuses to run outside the primary", async () => {
    const directory = new TargetDirectory();
    const errors: PromThreadsError[] = [];
    directory.on("error", (e) => errors.push(e));
    stops.push(directory.acceptClusterWorkers());
    const [proc] = await Promise.all([fork({ NO_PUBLISHER: "1" })]);
    await command(proc!, { test: "raw", message: { type: "prom-threads:cluster", v: 1, kind: "announce", target: "nope", labels: {} } });
    expect(await waitFor(() => errors.length === 1, 5000)).toBe(true);
    expect(errors[0]!.code).toBe(ErrorCodes.MALFORMED_CLUSTER_MESSAGE);
    expect(directory.groups()).toEqual([]);
    expect(() => directory.acceptClusterWorkers({ ...cluster, isPrimary: false } as typeof cluster)).toThrow(expect.objectContaining({ code: ErrorCodes.CLUSTER_ROLE }));
    const send = process.send;
    try {
      (process as { send?: unknown }).send = undefined;
      expect(() => announceToPrimary("127.0.0.1:1")).toThrow(expect.objectContaining({ code: ErrorCodes.CLUSTER_ROLE }));
    } finally {
      process.send = send;
    }
  });
});
