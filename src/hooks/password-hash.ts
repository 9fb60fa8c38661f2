/**
 * Password hashing for the password file.
 *
 * New hashes are PBKDF2-HMAC-SHA512 with 210 000 iterations (the OWASP 2023 figure for this
 * digest), a random 16-byte salt and a 64-byte key, written as one self-describing string:
 *
 *   $pbkdf2-sha512$i=210000$<salt, base64>$<key, base64>
 *
 * Verification also accepts the two formats `mosquitto_passwd` writes, so a Mosquitto password
 * file can be used as is:
 *
 *   $6$<salt b64>$<hash b64>               SHA-512(password bytes || salt bytes)   (Mosquitto <= 1.6)
 *   $7$<iterations>$<salt b64>$<hash b64>  PBKDF2-HMAC-SHA512, 64-byte key         (Mosquitto 2)
 *
 * Mosquitto writes 12-byte salts; any non-empty salt is accepted here. The digest must be
 * 64 bytes in every format. Passwords are hashed as their UTF-8 bytes, as Mosquitto does.
 */
import { createHash, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/** Iterations used for new hashes. */
export const PBKDF2_ITERATIONS = 210_000;
/** Salt length in bytes for new hashes. */
export const SALT_BYTES = 16;
/** Derived key (and SHA-512 digest) length in bytes. */
export const KEY_BYTES = 64;
/**
 * Upper bound on the iteration count we agree to run. A file is trusted input, but a typo
 * (or a hostile edit) must not turn each login into minutes of CPU.
 */
export const MAX_ITERATIONS = 10_000_000;

/** A parsed password hash, whatever the format it came from. */
export type ParsedHash =
  | { kind: 'pbkdf2-sha512'; iterations: number; salt: Buffer; hash: Buffer }
  | { kind: 'sha512'; salt: Buffer; hash: Buffer };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeBase64(text: string): Buffer | null {
  if (!BASE64.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length > 0 ? bytes : null;
}

function parseIterations(text: string): number | null {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return null;
  const n = Number(text);
  return n <= MAX_ITERATIONS ? n : null;
}

function saltAndHash(saltText: string, hashText: string): { salt: Buffer; hash: Buffer } | null {
  const salt = decodeBase64(saltText);
  const hash = decodeBase64(hashText);
  if (salt === null || hash === null || hash.length !== KEY_BYTES) return null;
  return { salt, hash };
}

/**
 * Parses an encoded hash in any supported format; `null` when the string is not one of them
 * (including a plain-text password, a truncated hash or an absurd iteration count).
 */
export function parseHash(encoded: string): ParsedHash | null {
  const parts = encoded.split('$');
  // Every format starts with '$', so parts[0] is the empty string before it.
  if (parts[0] !== '') return null;
  if (parts[1] === 'pbkdf2-sha512' && parts.length === 5) {
    const iterations = parts[2].startsWith('i=') ? parseIterations(parts[2].slice(2)) : null;
    const sh = saltAndHash(parts[3], parts[4]);
    return iterations === null || sh === null ? null : { kind: 'pbkdf2-sha512', iterations, ...sh };
  }
  if (parts[1] === '7' && parts.length === 5) {
    const iterations = parseIterations(parts[2]);
    const sh = saltAndHash(parts[3], parts[4]);
    return iterations === null || sh === null ? null : { kind: 'pbkdf2-sha512', iterations, ...sh };
  }
  if (parts[1] === '6' && parts.length === 4) {
    const sh = saltAndHash(parts[2], parts[3]);
    return sh === null ? null : { kind: 'sha512', ...sh };
  }
  return null;
}

/** True when `encoded` is a hash `verifyPassword` understands. */
export function isSupportedHash(encoded: string): boolean {
  return parseHash(encoded) !== null;
}

async function digest(password: string, parsed: ParsedHash): Promise<Buffer> {
  if (parsed.kind === 'sha512') {
    // One SHA-512 block is microseconds: no need to leave the event loop.
    return createHash('sha512').update(password, 'utf8').update(parsed.salt).digest();
  }
  // pbkdf2 runs on the libuv thread pool, so the event loop stays free.
  return pbkdf2Async(password, parsed.salt, parsed.iterations, KEY_BYTES, 'sha512');
}

/**
 * Hashes a new password (PBKDF2-SHA512, 210 000 iterations, random 16-byte salt).
 * Runs on the thread pool: it does not block the event loop.
 */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await pbkdf2Async(password, salt, PBKDF2_ITERATIONS, KEY_BYTES, 'sha512');
  return `$pbkdf2-sha512$i=${PBKDF2_ITERATIONS}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * Checks `password` against an encoded hash: ours, or Mosquitto's `$6$` / `$7$`.
 * The digests are compared in constant time. An unknown or malformed format gives `false`.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (parsed === null) return false;
  const actual = await digest(password, parsed);
  // Both are KEY_BYTES long (parseHash checks the stored one), as timingSafeEqual requires.
  return actual.length === parsed.hash.length && timingSafeEqual(actual, parsed.hash);
}

/**
 * A well-formed hash of no password, at the default cost: verifying anything against it does
 * the same work as a real check and always fails. Used for unknown users, so that "no such
 * user" and "wrong password" take about as long.
 */
export function decoyHash(): string {
  const salt = randomBytes(SALT_BYTES).toString('base64');
  const key = randomBytes(KEY_BYTES).toString('base64');
  return `$pbkdf2-sha512$i=${PBKDF2_ITERATIONS}$${salt}$${key}`;
}
