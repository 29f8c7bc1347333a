/**
 * HTTP basic auth for the metrics server: one user, whose password is plain or a bcrypt hash.
 *
 * Comparisons run in constant time on HMAC digests of equal length, and every request that is checked
 * pays for the password check, whether its user name is right, wrong or missing, and whether its header
 * is well formed: a wrong user name cannot be told from a wrong password by timing. bcrypt runs on a
 * worker thread; credentials it accepted are remembered (as an HMAC digest) while they are in use, so a
 * scraper pays for bcrypt once; failures are budgeted per peer and concurrent bcrypt checks are bounded,
 * and a request past either bound is answered `429` at once.
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { AuthFailureGuard } from "./auth-guard.js";
import { BcryptWorker, resolveBcrypt } from "./bcrypt-worker.js";
import { invalid } from "../validate-options.js";

/** Credentials of `startHttpServer({ auth })`. */
export interface BasicAuthOptions {
  /** The user name a scraper must send (no `:`). */
  username: string;
  /**
   * The password, or its bcrypt hash (`$2a$`, `$2b$` or `$2y$`, e.g. from `htpasswd -nB`), which needs the
   * optional peer dependency `bcryptjs`.
   */
  password: string;
}

/** Validated credentials. */
export interface ResolvedAuth {
  readonly username: string;
  readonly password: string;
  /** Whether `password` is a bcrypt hash. */
  readonly hashed: boolean;
}

/** The value of the `WWW-Authenticate` header of a 401. */
export const kAuthChallenge = 'Basic realm="metrics", charset="UTF-8"';

const kBcryptHash = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
/** bcrypt reads only the first 72 bytes of a password; longer ones are refused rather than truncated. */
const kBcryptMaxBytes = 72;

/** Validate `options.auth`. Throws a ConfigurationError naming the option. */
export function resolveAuth(value: unknown): ResolvedAuth {
  if (value === null || typeof value !== "object" || Array.isArray(value)) invalid("auth", "an object { username, password }", value);
  const { username, password } = value as Record<string, unknown>;
  if (typeof username !== "string" || username === "" || username.includes(":")) {
    invalid("auth.username", "a non-empty string without ':'", username);
  }
  if (typeof password !== "string" || password === "") invalid("auth.password", "a non-empty string");
  const hashed = password.startsWith("$2");
  // Why refuse a near-hash: a mistyped hash would otherwise silently become a plain password.
  if (hashed && !kBcryptHash.test(password)) invalid("auth.password", "a valid bcrypt hash ($2a$, $2b$ or $2y$, 60 characters) when it starts with $2");
  return { username, password, hashed };
}

/** A password check against the configured bcrypt hash; tests may pass their own to {@link BasicAuth.create}. */
export interface Bcrypt {
  compare(password: string, hash: string): Promise<boolean>;
}

/** How {@link BasicAuth} bounds the cost of failed authentications. */
export interface AuthLimits {
  /** bcrypt comparisons waiting or running at once; past it, unverified credentials get `429`. */
  readonly maxConcurrentAuthChecks: number;
  /** Failed authentications a peer may make at once before it gets `429`. */
  readonly authFailureBurst: number;
  /** Failed authentications a peer gets back per second, up to the burst. */
  readonly authFailuresPerSecond: number;
}

/**
 * The outcome of checking a request: `ok`, `denied` (answer 401), or `limited` (answer 429 with
 * `Retry-After`: the peer spent its failure budget, or too many bcrypt checks are under way).
 */
export type AuthOutcome = { readonly result: "ok" } | { readonly result: "denied" } | { readonly result: "limited"; readonly retryAfter: number };

/**
 * Milliseconds a verified set of credentials is remembered after its last use. A scraper that keeps
 * scraping stays remembered and never pays for bcrypt again, whatever else is going on.
 */
export const kVerifiedTtlMs = 600_000;

const kOk: AuthOutcome = { result: "ok" };
const kDenied: AuthOutcome = { result: "denied" };

/** Checks `Authorization` headers against one user's credentials. */
export class BasicAuth {
  readonly #key = randomBytes(32);
  readonly #username: Buffer;
  readonly #password: Buffer | undefined;
  readonly #hash: string | undefined;
  readonly #bcrypt: Bcrypt | undefined;
  readonly #worker: BcryptWorker | undefined;
  readonly #limits: AuthLimits;
  readonly #failures: AuthFailureGuard;
  readonly #now: () => number;
  /** Digest of the credentials bcrypt last accepted, so each scrape does not pay for bcrypt again. */
  #verified: Buffer | undefined;
  #verifiedUntil = 0;
  #checking = 0;

  private constructor(auth: ResolvedAuth, limits: AuthLimits, bcrypt: Bcrypt | undefined, worker: BcryptWorker | undefined, now: () => number) {
    this.#username = this.#digest(auth.username);
    this.#password = auth.hashed ? undefined : this.#digest(auth.password);
    this.#hash = auth.hashed ? auth.password : undefined;
    this.#bcrypt = bcrypt;
    this.#worker = worker;
    this.#limits = limits;
    this.#now = now;
    this.#failures = new AuthFailureGuard(limits.authFailureBurst, limits.authFailuresPerSecond, now);
  }

  /**
   * Create the checker. For a bcrypt hash, comparisons run on a worker thread of their own, which needs
   * `bcryptjs`; tests may pass their own `bcrypt` (run in this thread) and clock. Rejects with a
   * ConfigurationError (`ERR_PROM_THREADS_MISSING_PEER_DEPENDENCY`) when bcryptjs is not installed.
   */
  static async create(auth: ResolvedAuth, limits: AuthLimits = kDefaultAuthLimits, bcrypt?: Bcrypt, now: () => number = Date.now): Promise<BasicAuth> {
    const worker = auth.hashed && bcrypt === undefined ? new BcryptWorker(resolveBcrypt(), auth.password) : undefined;
    return new BasicAuth(auth, limits, bcrypt, worker, now);
  }

  /**
   * Check an `Authorization` header sent by `peer` (its remote address). Never rejects.
   *
   * A peer that spent its failure budget is answered `limited` at once, whatever it sends. Otherwise
   * credentials verified recently pass at the cost of one HMAC; others are checked against the password,
   * unless too many bcrypt checks are under way: then the answer is `limited` at once, and costs the peer
   * one attempt. A wrong user name costs exactly what a wrong password costs.
   */
  async check(header: string | undefined, peer = ""): Promise<AuthOutcome> {
    const credentials = parseBasic(header);
    // A missing or malformed header is checked as empty credentials, which never match, at the same cost.
    const username = credentials?.username ?? "";
    const password = credentials?.password ?? "";
    // A peer past its budget gets `limited` whatever it sends, remembered credentials too: were the right
    // ones let in there, every `limited` would tell the peer its guess was wrong, at no cost to its budget.
    if (!this.#failures.allows(peer)) return { result: "limited", retryAfter: this.#failures.retryAfter(peer) };
    const pair = this.#hash === undefined ? undefined : this.#digest(`${username}\0${password}`);
    if (pair !== undefined && this.#isVerified(pair)) return kOk;
    if (pair !== undefined && this.#checking >= this.#limits.maxConcurrentAuthChecks) {
      // For the same reason, a request turned away here takes one of its peer's attempts: remembered
      // credentials would have passed.
      this.#failures.failed(peer);
      return { result: "limited", retryAfter: 1 };
    }
    const userMatches = timingSafeEqual(this.#digest(username), this.#username);
    const passwordMatches = await this.#checkPassword(password);
    if (credentials !== undefined && userMatches && passwordMatches) {
      if (pair !== undefined) {
        this.#verified = pair;
        this.#verifiedUntil = this.#now() + kVerifiedTtlMs;
      }
      return kOk;
    }
    this.#failures.failed(peer);
    return kDenied;
  }

  /** Resolve whether an `Authorization` header carries the right credentials (checked as a peer without an address). Never rejects. */
  async verify(header: string | undefined): Promise<boolean> {
    return (await this.check(header)).result === "ok";
  }

  /** bcrypt comparisons waiting or running now. */
  get checking(): number {
    return this.#checking;
  }

  /** Stop the bcrypt thread. Idempotent. */
  close(): Promise<void> {
    return this.#worker?.close() ?? Promise.resolve();
  }

  #isVerified(pair: Buffer): boolean {
    if (this.#verified === undefined || !timingSafeEqual(pair, this.#verified)) return false;
    const now = this.#now();
    if (now > this.#verifiedUntil) {
      this.#verified = undefined;
      return false;
    }
    this.#verifiedUntil = now + kVerifiedTtlMs;
    return true;
  }

  async #checkPassword(password: string): Promise<boolean> {
    const hash = this.#hash;
    if (hash === undefined) return timingSafeEqual(this.#digest(password), this.#password as Buffer);
    this.#checking++;
    let matches: boolean;
    try {
      // Always run bcrypt against the one configured hash: a wrong user costs what a wrong password costs.
      matches = this.#bcrypt === undefined ? await (this.#worker as BcryptWorker).compare(password) : await this.#bcrypt.compare(password, hash);
    } catch {
      matches = false;
    } finally {
      this.#checking--;
    }
    // bcrypt reads only the first 72 bytes: a longer password would match on its prefix.
    return matches && Buffer.byteLength(password, "utf8") <= kBcryptMaxBytes;
  }

  #digest(text: string): Buffer {
    return createHmac("sha256", this.#key).update(text, "utf8").digest();
  }
}

/** The defaults of {@link AuthLimits}, as `startHttpServer` documents them. */
export const kDefaultAuthLimits: AuthLimits = { maxConcurrentAuthChecks: 4, authFailureBurst: 64, authFailuresPerSecond: 1 };

/** Parse `Basic <base64 of user:password>`; undefined when missing or malformed. */
export function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  const encoded = match?.[1];
  if (encoded === undefined || encoded.length % 4 !== 0) return undefined;
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
