// Benchmark loops compiled from source, one per case.
//
// V8 caches what `new Function` compiles by its source text: two loops made from the same text share their
// compiled code and type feedback, so a call site in one sees the objects passed to the other. A loop
// that calls prom-client's `observe` and one that calls prom-threads' `observe` would both turn
// polymorphic, and each case would pay for the others. A serial number in a comment makes every source
// text, and so every loop, its own.

let serial = 0;

/**
 * Compile `for (let i = <from>; i < <to>; i++) <body>;` as a function of `m` and the bounds.
 * @param {string} body the loop body, which may use `m` and `i`
 * @param {{ from?: boolean }} [options] with `from`, the function takes `(m, from, to)`; else `(m, n)` from 0
 * @returns {Function}
 */
export function compileLoop(body, options = {}) {
  serial++;
  if (options.from) return new Function("m", "from", "to", `// loop ${serial}\nfor (let i = from; i < to; i++) ${body};`);
  return new Function("m", "n", `// loop ${serial}\nfor (let i = 0; i < n; i++) ${body};`);
}
