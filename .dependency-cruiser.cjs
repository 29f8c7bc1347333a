/**
 * The architecture of src/, checked by dependency-cruiser in `npm run lint:deps` (part of `npm run lint`) and
 * by test/lint.test.ts. Layers: src/worker -> src/shared <- src/main <- src/fastify.
 *
 * TypeScript is parsed with swc: the `typescript` package here is the native compiler (7.x), which has no
 * JavaScript API for dependency-cruiser to use. `import type` counts like any import (tsPreCompilationDeps),
 * so a layer may not reach another one even for a type.
 */
/** Node modules that open sockets or serve: the worker side never needs them. */
const NETWORK = "^(node:)?(http|https|http2|net|tls|dgram|cluster)$";

/** @type {import("dependency-cruiser").IConfiguration} */
module.exports = {
  forbidden: [
    {
      // A circle makes load order matter and hides which part depends on which.
      name: "no-circular",
      severity: "error",
      comment: "No import circle anywhere in src/: move what both sides need into a module both may import.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      // src/worker is loaded in every worker thread: it stays small and free of main-thread code.
      name: "worker-imports-only-shared",
      severity: "error",
      comment: "src/worker imports only src/worker, src/shared and non-network Node built-ins.",
      from: { path: "^src/worker/" },
      to: { path: "^src/", pathNot: "^src/(worker|shared)/" },
    },
    {
      // No package in a worker: prom-client, piscina and fastify belong to the main thread.
      name: "worker-no-packages",
      severity: "error",
      comment: "src/worker imports no npm package (prom-client, piscina, fastify, ...).",
      from: { path: "^src/worker/" },
      to: { dependencyTypes: ["npm", "npm-dev", "npm-peer", "npm-optional", "npm-no-pkg", "npm-unknown"] },
    },
    {
      name: "worker-no-network",
      severity: "error",
      comment: "src/worker never imports node:http, node:https, node:net and the other network modules.",
      from: { path: "^src/worker/" },
      to: { dependencyTypes: ["core"], path: NETWORK },
    },
    {
      // src/shared is what both sides agree on: it depends on neither side.
      name: "shared-imports-only-shared",
      severity: "error",
      comment: "src/shared imports nothing from src/main, src/worker or src/fastify.",
      from: { path: "^src/shared/" },
      to: { path: "^src/", pathNot: "^src/shared/" },
    },
    {
      name: "shared-no-packages",
      severity: "error",
      comment: "src/shared imports no npm package (in particular not prom-client): both threads load it.",
      from: { path: "^src/shared/" },
      to: { dependencyTypes: ["npm", "npm-dev", "npm-peer", "npm-optional", "npm-no-pkg", "npm-unknown"] },
    },
    {
      name: "shared-no-network",
      severity: "error",
      comment: "src/shared never imports the network modules: worker threads load it.",
      from: { path: "^src/shared/" },
      to: { dependencyTypes: ["core"], path: NETWORK },
    },
    {
      // The transport moves records; the public wrappers sit on top of metrics, not under the transport.
      name: "transport-not-to-wrappers",
      severity: "error",
      comment: "src/shared/transport does not import src/shared/api/wrappers.",
      from: { path: "^src/shared/transport/" },
      to: { path: "^src/shared/api/wrappers\\.ts$" },
    },
    {
      // Serving uses discovery (the /http_sd route, file_sd targets); discovery never uses serving.
      name: "discovery-not-to-serve",
      severity: "error",
      comment: "src/main/discovery never imports src/main/serve (not even a type).",
      from: { path: "^src/main/discovery/" },
      to: { path: "^src/main/serve/" },
    },
    {
      // The main thread never loads the worker-side API: the two sides meet only in src/shared.
      name: "main-not-to-worker",
      severity: "error",
      comment: "src/main and src/fastify do not import src/worker.",
      from: { path: "^src/(main|fastify)/" },
      to: { path: "^src/worker/" },
    },
    {
      // src/fastify is an adapter over the public main-thread API; nothing in the library depends on it.
      name: "nothing-to-fastify",
      severity: "error",
      comment: "Only src/fastify imports src/fastify.",
      from: { path: "^src/", pathNot: "^src/fastify/" },
      to: { path: "^src/fastify/" },
    },
    {
      // A module nothing imports is dead code, unless it is an entry point users or threads load by name.
      name: "no-orphans",
      severity: "error",
      comment: "Every module in src/ is imported by another or is an entry point (package.json exports, worker entries).",
      from: {
        orphan: true,
        path: "^src/",
        pathNot: ["^src/(main|worker|fastify)/index\\.ts$", "^src/worker/pool-task\\.ts$"],
      },
      to: {},
    },
    {
      // A typo in a path, or a package that is not installed.
      name: "not-to-unresolvable",
      severity: "error",
      comment: "Every import resolves.",
      from: { path: "^src/" },
      to: { couldNotResolve: true },
    },
    {
      // A package that package.json does not name would be missing for users.
      name: "no-non-package-json",
      severity: "error",
      comment: "Every package src/ imports is named in package.json (a peer dependency for the library's).",
      from: { path: "^src/" },
      // A package that some package.json also names counts as named (fastify reports "npm-no-pkg" beside
      // "npm-peer" because of the way it resolves its types).
      to: { dependencyTypes: ["npm-no-pkg", "npm-unknown"], dependencyTypesNot: ["npm", "npm-peer", "npm-optional"] },
    },
    {
      // What users install is dependencies and peers: a devDependency alone would be missing for them.
      name: "not-to-dev-dep",
      severity: "error",
      comment: "src/ imports no package that is only a devDependency.",
      from: { path: "^src/" },
      to: { dependencyTypes: ["npm-dev"], dependencyTypesNot: ["npm-peer", "npm-optional", "npm"] },
    },
  ],
  options: {
    parser: "swc",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|test/fixtures/built)/" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"] },
  },
};
