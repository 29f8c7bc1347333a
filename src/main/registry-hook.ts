/**
 * Wrapping a prom-client registry's methods, so that something runs before they do (the hub drains before
 * the registry lists its metrics; the cluster aggregator collects before a scrape).
 * @module
 */

/** A registry method, typed loosely so prom-client's own typing does not matter. */
export type RegistryMethod = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Replace each of `names` that `registry` has as a function with `wrap(original)`. Returns a function that
 * restores each original, only where nobody wrapped the method after us (their wrapper keeps calling ours).
 *
 * @example
 * const unhook = hookRegistry(registry, ["getMetricsAsArray"], (original) => function (this: unknown, ...args) {
 *   hub.drainSync();
 *   return original.apply(this, args);
 * });
 */
export function hookRegistry(registry: object, names: readonly string[], wrap: (original: RegistryMethod) => RegistryMethod): () => void {
  const target = registry as Record<string, unknown>;
  const restores: Array<() => void> = [];
  for (const name of names) {
    const original = target[name];
    if (typeof original !== "function") continue;
    const hooked = wrap(original as RegistryMethod);
    target[name] = hooked;
    restores.push(() => {
      if (target[name] === hooked) target[name] = original;
    });
  }
  return () => {
    for (const restore of restores) restore();
  };
}

/** What runs, awaited, before a served scrape reads a registry: the cluster aggregator's collect. */
const beforeServedScrape = new WeakMap<object, () => Promise<void>>();

/**
 * Have every scrape that `startHttpServer()`, `metricsHandler()` or the fastify plugin serves from
 * `registry` await `prepare()` first: they render through the registry's metrics one by one, not through
 * `metrics()`, so a hook on `metrics()` does not reach them. Returns a function that takes it back.
 */
export function beforeServing(registry: object, prepare: () => Promise<void>): () => void {
  beforeServedScrape.set(registry, prepare);
  return () => {
    if (beforeServedScrape.get(registry) === prepare) beforeServedScrape.delete(registry);
  };
}

/** What a served scrape of `registry` awaits first, if anything (see {@link beforeServing}). */
export function prepareServing(registry: object): Promise<void> | undefined {
  return beforeServedScrape.get(registry)?.();
}
