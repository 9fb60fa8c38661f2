/**
 * `pipit passwd -U <file>`: hash a plain-text password file (`username:password` lines) in
 * place, as mosquitto_passwd -U does. Unlike it, a line that already holds a hash Pipit
 * understands is left as it is, so running -U twice does no harm (mosquitto_passwd would
 * hash the hash and lock the user out). Comment and blank lines are not kept.
 */
import { readFile } from 'node:fs/promises';
import { splitLines } from '../hooks/file-error.js';
import { PasswordFile, usernameProblem } from '../hooks/password-file.js';
import { isSupportedHash } from '../hooks/password-hash.js';
import { type HashAlgorithm, hashWith } from './passwd-hashes.js';

/** A problem with one line of the file being upgraded; never shows the password. */
export class UpgradeError extends Error {
  override readonly name = 'UpgradeError';
}

/** One line, hashed if it is not yet; `null` for blank and comment lines. */
async function upgradeLine(
  line: string,
  where: string,
  algorithm: HashAlgorithm,
): Promise<string | null> {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return null;
  const colon = text.indexOf(':');
  if (colon < 0) throw new UpgradeError(`${where}: expected 'username:password'`);
  const username = text.slice(0, colon).trim();
  const secret = text.slice(colon + 1);
  const problem = usernameProblem(username);
  if (problem !== null) throw new UpgradeError(`${where}: ${problem}`);
  if (secret === '') throw new UpgradeError(`${where}: empty password for "${username}"`);
  const encoded = isSupportedHash(secret.trim())
    ? secret.trim()
    : await hashWith(algorithm, secret);
  return `${username}:${encoded}`;
}

/**
 * Hashes every plain-text password of `path` and writes the file back atomically (mode
 * 0600). Reads and checks every line before writing anything.
 * @throws UpgradeError naming the file and line, or a file system error.
 */
export async function upgradePasswordFile(path: string, algorithm: HashAlgorithm): Promise<void> {
  const lines = splitLines(await readFile(path, 'utf8'));
  const out: string[] = [];
  for (const [index, line] of lines.entries()) {
    const upgraded = await upgradeLine(line, `${path}:${index + 1}`, algorithm);
    if (upgraded !== null) out.push(upgraded);
  }
  // Parsing what is about to be written catches duplicate users with the file's own rules.
  const file = PasswordFile.parse(out.length > 0 ? `${out.join('\n')}\n` : '', path);
  await file.save(path);
}
