// The plain record call with a labels object, as services write it: `observe({ method, status }, v)` on
// the metric (a fresh object per call, a number status), not on a stored child. Every call resolves the
// object to its child; prom-threads' and prom-client's side by side. Used by bench/native.js; core's
// cost worker can take the same rows (see labelsObjectShapes).

/**
 * Rows `[name, makeLoop, target]` for a benchmark of `observe(labels, value)`: `makeLoop()` compiles a
 * loop (bench/lib/loop.js) over `m`, the target.
 * @param {{ Histogram: Function, client: typeof import("prom-client"), registry: import("prom-client").Registry, loop: (body: string) => Function }} parts
 */
export function labelsObjectShapes({ Histogram, client, registry, loop }) {
  const labelNames = ["method", "status"];
  const threads = new Histogram({ name: "pt_labels_object_seconds", help: "h", labelNames });
  const prom = new client.Histogram({ name: "pc_labels_object_seconds", help: "h", labelNames, registers: [registry] });
  const observe = () => loop('m.observe({ method: "GET", status: 200 }, (i & 1023) / 1000)');
  return [
    ["prom-threads histogram.observe with a labels object", observe, threads],
    ["prom-client histogram.observe with a labels object", observe, prom],
  ];
}
