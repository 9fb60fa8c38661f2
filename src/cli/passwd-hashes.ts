/**
 * `pipit passwd -H`: which hash new passwords get.
 *
 *   pbkdf2-sha512  Pipit's own `$pbkdf2-sha512$i=210000$...` (the default)
 *   sha512-pbkdf2  Mosquitto 2's `$7$<iterations>$...`: PBKDF2-HMAC-SHA512, 64-byte key,
 *                  12-byte salt, written with 210 000 iterations (Mosquitto reads the count
 *                  from the line), so the file also works with Mosquitto 2
 *   sha512         Mosquitto 1.6's `$6$`: one SHA-512 of password and salt. Weak: only for
 *                  a file that Mosquitto 1.6 must read too
 */
import { createHash, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { PasswordFile } from '../hooks/password-file.js';
import { hashPassword, KEY_BYTES, PBKDF2_ITERATIONS } from '../hooks/password-hash.js';

const pbkdf2Async = promisify(pbkdf2);

/** The -H values. */
export const HASH_ALGORITHMS = ['pbkdf2-sha512', 'sha512-pbkdf2', 'sha512'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

/** Mosquitto's salt length. */
const MOSQUITTO_SALT_BYTES = 12;

/** Hashes `password` in the format `algorithm` names. */
export async function hashWith(algorithm: HashAlgorithm, password: string): Promise<string> {
  if (algorithm === 'pbkdf2-sha512') return hashPassword(password);
  const salt = randomBytes(MOSQUITTO_SALT_BYTES);
  if (algorithm === 'sha512') {
    const digest = createHash('sha512').update(password, 'utf8').update(salt).digest();
    return `$6$${salt.toString('base64')}$${digest.toString('base64')}`;
  }
  const key = await pbkdf2Async(password, salt, PBKDF2_ITERATIONS, KEY_BYTES, 'sha512');
  return `$7$${PBKDF2_ITERATIONS}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * `file` with `username`'s line set to `encoded` (in place, or added last). Built through
 * the parser, so the new line is checked like any line read from disk.
 */
export function withEntry(file: PasswordFile, username: string, encoded: string): PasswordFile {
  const lines = file.serialize().split('\n').filter(Boolean);
  const line = `${username}:${encoded}`;
  const at = file.usernames().indexOf(username);
  if (at >= 0) lines[at] = line;
  else lines.push(line);
  return PasswordFile.parse(`${lines.join('\n')}\n`);
}
