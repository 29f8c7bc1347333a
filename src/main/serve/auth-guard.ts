/**
 * The per-peer budget of failed authentications: a token bucket per remote address. Each failure takes a
 * token; tokens come back at a fixed rate up to the burst. A peer without a token is answered `429` at
 * once, without a password check, so guessing costs the guesser time and the server nothing.
 * @module
 */

/** How many peers the guard remembers; past it the longest-remembered one is forgotten. */
export const kMaxTrackedPeers = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

/** Counts failed authentications per peer. */
export class AuthFailureGuard {
  readonly #burst: number;
  readonly #perSecond: number;
  readonly #now: () => number;
  readonly #peers = new Map<string, Bucket>();

  /** Allow `burst` failures at once and `perSecond` more each second; `now` is the clock in ms (tests swap it). */
  constructor(burst: number, perSecond: number, now: () => number = Date.now) {
    this.#burst = burst;
    this.#perSecond = perSecond;
    this.#now = now;
  }

  /** Whether `peer` may try a password now. */
  allows(peer: string): boolean {
    const bucket = this.#peers.get(peer);
    return bucket === undefined || this.#refill(bucket) >= 1;
  }

  /** Record a failed authentication of `peer`. */
  failed(peer: string): void {
    let bucket = this.#peers.get(peer);
    if (bucket === undefined) {
      if (this.#peers.size >= kMaxTrackedPeers) this.#forgetOne();
      bucket = { tokens: this.#burst, at: this.#now() };
      this.#peers.set(peer, bucket);
    }
    bucket.tokens = Math.max(0, this.#refill(bucket) - 1);
  }

  /** Seconds until `peer` has a token again (at least 1), for `Retry-After`. */
  retryAfter(peer: string): number {
    const bucket = this.#peers.get(peer);
    if (bucket === undefined) return 1;
    return Math.max(1, Math.ceil((1 - this.#refill(bucket)) / this.#perSecond));
  }

  /** Peers remembered now. */
  get size(): number {
    return this.#peers.size;
  }

  #refill(bucket: Bucket): number {
    const now = this.#now();
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#perSecond);
    bucket.at = now;
    return bucket.tokens;
  }

  /** Forget the peer remembered longest: O(1), so a flood of new addresses cannot make this slow. */
  #forgetOne(): void {
    const oldest = this.#peers.keys().next().value;
    if (oldest !== undefined) this.#peers.delete(oldest);
  }
}
