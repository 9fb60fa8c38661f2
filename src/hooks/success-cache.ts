/**
 * Recently verified logins, so that a user who logged in before is answered without another
 * PBKDF2 run, even while a flood of bad logins keeps the hash queue full.
 *
 * What is kept is never the password: an entry is HMAC-SHA256(key, scope, username,
 * password) under a random key made when the process starts and held only in memory. A hit
 * proves the same password was accepted for that username by the same password file
 * (`scope`, a snapshot: a reload makes a new one) within `ttlMs`. Someone who can read the
 * broker's memory could test guesses against an entry at HMAC speed rather than PBKDF2
 * speed; such a reader also sees passwords as clients send them.
 */
import { createHmac, randomBytes } from 'node:crypto';

/** Settings of a {@link SuccessCache}. */
export interface SuccessCacheOptions {
  /** Entries kept at most (least recently used go first); 0 turns the cache off. */
  maxEntries: number;
  /** How long an entry stays valid after it was made, in milliseconds. */
  ttlMs: number;
  /** Milliseconds since some fixed point (Date.now by default). */
  now: () => number;
}

/** A bounded cache of successful password checks. */
export class SuccessCache {
  private readonly key = randomBytes(32);
  /** Digest -> expiry time; Map order is least recently used first. */
  private readonly entries = new Map<string, number>();

  constructor(private readonly options: SuccessCacheOptions) {}

  /** Entries held now. */
  get size(): number {
    return this.entries.size;
  }

  /** True when `password` was accepted for `username` under `scope` within the TTL. */
  has(scope: number, username: string, password: string): boolean {
    if (this.options.maxEntries <= 0) return false;
    const digest = this.digest(scope, username, password);
    const expires = this.entries.get(digest);
    if (expires === undefined) return false;
    this.entries.delete(digest);
    if (expires <= this.options.now()) return false;
    this.entries.set(digest, expires); // most recently used
    return true;
  }

  /** Remembers that `password` was accepted for `username` under `scope`. */
  add(scope: number, username: string, password: string): void {
    const { maxEntries, ttlMs, now } = this.options;
    if (maxEntries <= 0) return;
    const digest = this.digest(scope, username, password);
    this.entries.delete(digest);
    this.entries.set(digest, now() + ttlMs);
    while (this.entries.size > maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
  }

  /** Forgets every entry (the password file was reloaded). */
  clear(): void {
    this.entries.clear();
  }

  private digest(scope: number, username: string, password: string): string {
    // The username's length keeps "ab"+"c" and "a"+"bc" apart.
    return createHmac('sha256', this.key)
      .update(`${scope}:${username.length}:${username}:`)
      .update(password)
      .digest('base64');
  }
}
