// The pool's task: square a number, counting odd and even inputs.
import { Counter } from "prom-threads/worker";

const squared = new Counter({ name: "example_squared_total", help: "Numbers squared.", labelNames: ["parity"] });
const odd = squared.labels("odd");
const even = squared.labels("even");

export default function square(n) {
  if (!Number.isInteger(n)) throw new TypeError(`not an integer: ${n}`);
  (n % 2 ? odd : even).inc();
  return n * n;
}
