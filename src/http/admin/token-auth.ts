/**
 * Bearer tokens of the admin API. Tokens are configured as hashes, in the formats of the
 * password file (PBKDF2-SHA512 by default, see hooks/password-hash.ts), and checked by the
 * same code. A check costs a PBKDF2 run (~100 ms of CPU), so every check goes through a
 * {@link LoginGuard}, as MQTT logins do: a source address that keeps failing backs off (429),
 * checks wait in a bounded queue off the event loop with a few running at once (503 when it
 * is full), and a token accepted before is answered from a cache without hashing. A flood of
 * wrong tokens therefore costs at most the guard's hashing threads, and a known token is
 * answered at once meanwhile.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { LoginGuard } from '../../hooks/index.js';
import { isSupportedHash, verifyPassword } from '../../hooks/password-hash.js';
import { ApiProblem } from './problem.js';

/** What a token may do: `read` only GET routes, `full` every route. */
export type TokenScope = 'read' | 'full';

/** One configured token. */
export interface AdminToken {
  /** Shown in logs; never the token itself. */
  name: string;
  /** The token's hash (`$pbkdf2-sha512$...`, or Mosquitto's `$7$` / `$6$`). */
  hash: string;
  /** Default `full`. */
  scope?: TokenScope | undefined;
}

/** A request's credentials and where it came from. */
export interface BearerRequest {
  authorization: string | undefined;
  remoteAddress: string | undefined;
  /** True once the client has gone (its check is then dropped unrun). */
  isClosed(): boolean;
}

/** The `WWW-Authenticate` challenge of a 401 (RFC 6750, section 3). */
const CHALLENGE = 'Bearer realm="pipit"';
/**
 * The gate (the guard's "username") every token check shares. It starts with U+0000, which no
 * MQTT username can contain (spec 1.5.4), so that wrong tokens never slow down the logins
 * of a user of the same name when the guard is shared with the password hooks.
 */
const TOKEN_GATE = '\u0000admin-api-token';
/** Longest token taken: every token `pipit token` makes is far shorter. */
const MAX_TOKEN_LENGTH = 1024;
const BEARER = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i;

/** Checks bearer tokens against the configured hashes (see the file comment). */
export class TokenVerifier {
  /** Replaced whole by {@link setTokens}: a check compares against the list it started with. */
  private tokens: readonly Required<AdminToken>[];
  private readonly guard: LoginGuard;
  /**
   * Tokens verified before, by an HMAC of the token under a key of this process: which
   * configured token each one is. Only tokens that matched a hash get in, so it holds at most
   * one entry per configured token.
   */
  private readonly matched = new Map<string, Required<AdminToken>>();
  private readonly key = randomBytes(32);

  /**
   * @param tokens the configured tokens (none: every request is refused).
   * @param guard throttles, queues and caches the checks; share the broker's to have one hash
   *   queue per process. Default: a guard of its own, one hash at a time, 32 waiting.
   * @throws Error naming a token whose hash is not one `verifyPassword` understands.
   */
  constructor(tokens: readonly AdminToken[], guard?: LoginGuard) {
    this.tokens = checkedTokens(tokens);
    this.guard = guard ?? new LoginGuard({ maxConcurrentHashes: 1, maxQueuedLogins: 32 });
  }

  /** The names of the tokens accepted now. */
  get names(): string[] {
    return this.tokens.map((t) => t.name);
  }

  /**
   * Replaces the accepted tokens (a reload): from now on a removed token is refused, also one
   * accepted before (the cache of accepted tokens is emptied, and the guard's cache is keyed
   * by the token list), and a new one is accepted. A check already hashing against the old
   * list does not admit a removed token either.
   * @throws Error naming a token whose hash is not supported; the old tokens then stay.
   */
  setTokens(tokens: readonly AdminToken[]): void {
    this.tokens = checkedTokens(tokens);
    this.matched.clear();
  }

  /**
   * The configured token a request carries.
   * @throws ApiProblem: 403 when no token is configured, 401 (with `WWW-Authenticate`) when
   *   the token is missing, malformed or wrong, 429 while the address backs off after failures,
   *   503 when too many checks wait.
   */
  async identify(request: BearerRequest): Promise<Required<AdminToken>> {
    if (this.tokens.length === 0) {
      throw new ApiProblem(
        'no-token-configured',
        'the admin API has no token configured (adminApi.tokens), so every request is refused; make one with `pipit token`',
      );
    }
    const bearer = parseBearer(request.authorization);
    const digest = createHmac('sha256', this.key).update(bearer).digest('base64');
    const verdict = await this.guard.check({
      remoteAddress: request.remoteAddress,
      username: TOKEN_GATE,
      password: bearer,
      scope: this.tokens,
      isClosed: () => request.isClosed(),
      verify: () => this.verify(bearer, digest),
    });
    switch (verdict.result) {
      case 'allow': {
        const token = this.matched.get(digest);
        if (token !== undefined) return token;
        break;
      }
      case 'throttled': {
        const seconds = Math.ceil(verdict.retryAfterMs / 1000);
        throw new ApiProblem(
          'too-many-attempts',
          `too many wrong tokens from this address; retry in ${seconds} s`,
          { 'retry-after': String(seconds) },
        );
      }
      case 'busy':
        throw new ApiProblem('busy', 'too many token checks are waiting; retry later', {
          'retry-after': '1',
        });
    }
    throw new ApiProblem('unauthorized', 'the bearer token matches no configured token', {
      'www-authenticate': `${CHALLENGE}, error="invalid_token"`,
    });
  }

  /** Hashes `bearer` against each configured token (the guard's expensive step). */
  private async verify(bearer: string, digest: string): Promise<boolean> {
    const tokens = this.tokens;
    for (const token of tokens) {
      if (await verifyPassword(bearer, token.hash)) {
        // Replaced while hashing: the token may be gone; the caller then answers 401.
        if (this.tokens !== tokens) return false;
        this.matched.set(digest, token);
        return true;
      }
    }
    return false;
  }
}

/** The tokens with their scope defaulted, each hash checked. */
function checkedTokens(tokens: readonly AdminToken[]): readonly Required<AdminToken>[] {
  for (const token of tokens) {
    // Never echo the hash: it might be the token itself, pasted by mistake.
    if (!isSupportedHash(token.hash)) {
      throw new Error(`admin API token "${token.name}": the hash is not a supported password hash`);
    }
  }
  return tokens.map((t) => ({ name: t.name, hash: t.hash, scope: t.scope ?? 'full' }));
}

/**
 * The token of an `Authorization: Bearer <token>` header.
 * @throws ApiProblem 401 naming what is missing or malformed.
 */
export function parseBearer(authorization: string | undefined): string {
  if (authorization === undefined || authorization.trim() === '') {
    throw new ApiProblem('unauthorized', 'no bearer token: send "Authorization: Bearer <token>"', {
      'www-authenticate': CHALLENGE,
    });
  }
  const match = authorization.length <= MAX_TOKEN_LENGTH + 16 && BEARER.exec(authorization);
  if (!match || match[1]!.length > MAX_TOKEN_LENGTH) {
    throw new ApiProblem(
      'unauthorized',
      'malformed Authorization header: expected "Bearer <token>" (RFC 6750)',
      { 'www-authenticate': `${CHALLENGE}, error="invalid_request"` },
    );
  }
  return match[1]!;
}

/**
 * Refuses a read-only token on a route that changes something (403, RFC 6750's
 * `insufficient_scope`).
 */
export function requireScope(token: Required<AdminToken>, needs: TokenScope): void {
  if (needs === 'full' && token.scope !== 'full') {
    throw new ApiProblem(
      'forbidden',
      `token "${token.name}" is read-only (scope: read); this route needs a token with scope: full`,
      { 'www-authenticate': `${CHALLENGE}, error="insufficient_scope"` },
    );
  }
}
