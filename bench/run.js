// `npm run bench [-- --quick]`: runs the benchmarks and prints their figures side by side.
import { mkdirSync, writeFileSync } from "node:fs";
import { drainThroughput, observeCost, printCore, sustainedLoad } from "./core.js";
import { flags, machine } from "./lib/stats.js";

const options = flags();
const info = machine();
console.log(`prom-threads benchmarks${options.quick ? " (quick)" : ""} on ${info.cpu}, ${info.cores} cores, Node ${info.node}`);
const cost = await observeCost(options);
const drain = await drainThroughput(options);
const load = await sustainedLoad(options);
printCore({ cost, drain, load });
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const file = new URL(`./results/core${options.quick ? "-quick" : ""}.json`, import.meta.url);
writeFileSync(file, `${JSON.stringify({ machine: info, cost, drain, load }, null, 2)}\n`);
console.log(`\nwrote ${file.pathname.split("/").slice(-3).join("/")}`);
const lost = load.counted !== load.produced || load.dropped !== 0;
process.exitCode = lost ? 1 : 0;
