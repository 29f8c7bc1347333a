/**
 * HTTP basic auth for the metrics server: one user, whose password is plain or a bcrypt hash.
 *
 * Comparisons run in constant time on HMAC digests of equal length, and every request pays for the
 * password check, whether its user name is right, wrong or missing, and whether its header is well
 * formed: a wrong user name cannot be told from a wrong password by timing.
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { ConfigurationError, ErrorCodes } from "../../shared/errors.js";
import { invalid } from "./validate.js";

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
export const AUTH_CHALLENGE = 'Basic realm="metrics", charset="UTF-8"';

const BCRYPT_HASH = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
/** bcrypt reads only the first 72 bytes of a password; longer ones are refused rather than truncated. */
const BCRYPT_MAX_BYTES = 72;

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
  if (hashed && !BCRYPT_HASH.test(password)) invalid("auth.password", "a valid bcrypt hash ($2a$, $2b$ or $2y$, 60 characters) when it starts with $2");
  return { username, password, hashed };
}

/** The part of `bcryptjs` the checker uses. */
export interface Bcrypt {
  compare(password: string, hash: string): Promise<boolean>;
}

/** Checks `Authorization` headers against one user's credentials. */
export class BasicAuth {
  readonly #key = randomBytes(32);
  readonly #username: Buffer;
  readonly #password: Buffer | undefined;
  readonly #hash: string | undefined;
  readonly #bcrypt: Bcrypt | undefined;
  /** Digest of the last credentials bcrypt accepted, so each scrape does not pay for bcrypt again. */
  #verified: Buffer | undefined;

  private constructor(auth: ResolvedAuth, bcrypt: Bcrypt | undefined) {
    this.#username = this.#digest(auth.username);
    this.#password = auth.hashed ? undefined : this.#digest(auth.password);
    this.#hash = auth.hashed ? auth.password : undefined;
    this.#bcrypt = bcrypt;
  }

  /**
   * Create the checker; loads `bcryptjs` when the password is a hash (tests may pass their own `bcrypt`).
   * Rejects with a ConfigurationError (`ERR_PROM_THREADS_MISSING_PEER_DEPENDENCY`) when it is not installed.
   */
  static async create(auth: ResolvedAuth, bcrypt?: Bcrypt): Promise<BasicAuth> {
    return new BasicAuth(auth, auth.hashed ? (bcrypt ?? (await loadBcrypt())) : undefined);
  }

  /** Resolve whether an `Authorization` header carries the right credentials. Never rejects. */
  async verify(header: string | undefined): Promise<boolean> {
    const credentials = parseBasic(header);
    // A missing or malformed header is checked as empty credentials, which never match, at the same cost.
    const username = credentials?.username ?? "";
    const password = credentials?.password ?? "";
    const userMatches = timingSafeEqual(this.#digest(username), this.#username);
    const passwordMatches = await this.#checkPassword(username, password);
    return credentials !== undefined && userMatches && passwordMatches;
  }

  async #checkPassword(username: string, password: string): Promise<boolean> {
    if (this.#bcrypt === undefined || this.#hash === undefined) {
      return timingSafeEqual(this.#digest(password), this.#password as Buffer);
    }
    const pair = this.#digest(`${username}\0${password}`);
    if (this.#verified !== undefined && timingSafeEqual(pair, this.#verified)) return true;
    let matches: boolean;
    try {
      // Always run bcrypt against the one configured hash: a wrong user costs what a wrong password costs.
      matches = await this.#bcrypt.compare(password, this.#hash);
    } catch {
      matches = false;
    }
    if (Buffer.byteLength(password, "utf8") > BCRYPT_MAX_BYTES) matches = false;
    if (matches && timingSafeEqual(this.#digest(username), this.#username)) this.#verified = pair;
    return matches;
  }

  #digest(text: string): Buffer {
    return createHmac("sha256", this.#key).update(text, "utf8").digest();
  }
}

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

async function loadBcrypt(): Promise<Bcrypt> {
  // Why a variable: keeps bundlers and type declarations from treating the optional peer as required.
  const specifier = "bcryptjs";
  try {
    const module = (await import(specifier)) as { compare?: Bcrypt["compare"]; default?: Bcrypt };
    const compare = module.compare ?? module.default?.compare;
    if (typeof compare !== "function") throw new Error("bcryptjs has no compare()");
    return { compare };
  } catch (cause) {
    throw new ConfigurationError(
      ErrorCodes.MISSING_PEER_DEPENDENCY,
      "options.auth.password is a bcrypt hash, which needs the optional peer dependency bcryptjs: npm install bcryptjs",
      { cause },
    );
  }
}
