// The pool's task: sum the first n integers the slow way, counting the work done.
import { Counter } from "prom-threads/worker";

const additions = new Counter({ name: "example_additions_total", help: "Additions done by the workers." });

export default function sum(n) {
  let total = 0;
  for (let i = 1; i <= n; i++) total += i;
  additions.inc(n);
  return total;
}
