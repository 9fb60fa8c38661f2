/**
 * The password file: one `username:hash` line per user, the format of Mosquitto's
 * `password_file`. Blank lines and lines starting with `#` are ignored. Hashes may be Pipit's
 * `$pbkdf2-sha512$...` or Mosquitto's `$6$` / `$7$` (see password-hash.ts).
 *
 * Unlike Mosquitto, which logs and skips a bad entry, a bad line is an error that names the
 * file and line: a silently missing user is a confusing way to learn about a typo.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FileFormatError, splitLines } from './file-error.js';
import { decoyHash, hashPassword, isSupportedHash, verifyPassword } from './password-hash.js';

/** MQTT strings are at most 65 535 bytes of UTF-8 [MQTT-1.5.3]. */
const MAX_USERNAME_BYTES = 65_535;

// C0 controls, DEL and C1 controls. U+0000 is also banned by MQTT itself [MQTT-1.5.3-2].
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why `username` cannot go in a password file, or `null` when it can. A ':' would split the
 * line in the wrong place; control characters (newlines above all) would forge extra lines;
 * surrounding blanks would be trimmed away when the file is read back.
 */
export function usernameProblem(username: string): string | null {
  if (username.length === 0) return 'the username is empty';
  if (username.includes(':')) return "the username contains ':'";
  if (CONTROL_CHARS.test(username)) return 'the username contains a control character';
  if (username.trim() !== username) return 'the username starts or ends with a blank';
  if (Buffer.byteLength(username, 'utf8') > MAX_USERNAME_BYTES) return 'the username is too long';
  return null;
}

function parseLine(line: string, source: string, lineNo: number): [string, string] | null {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return null;
  const colon = text.indexOf(':');
  if (colon < 0) throw new FileFormatError(source, lineNo, "expected 'username:hash'");
  const username = text.slice(0, colon).trim();
  const hash = text.slice(colon + 1).trim();
  const problem = usernameProblem(username);
  if (problem !== null) throw new FileFormatError(source, lineNo, problem);
  if (hash === '') throw new FileFormatError(source, lineNo, `no password hash for "${username}"`);
  if (!isSupportedHash(hash)) {
    // Never echo the hash part: it might be a plain-text password.
    throw new FileFormatError(
      source,
      lineNo,
      `unsupported or malformed password hash for "${username}" (expected $pbkdf2-sha512$, $6$ or $7$)`,
    );
  }
  return [username, hash];
}

/** An in-memory password file. */
export class PasswordFile {
  private readonly entries: Map<string, string>;
  private emptyDecoy: string | undefined;

  private constructor(entries: Map<string, string>) {
    this.entries = entries;
  }

  /** Reads and parses a file. Errors name the file and line. */
  static async load(path: string): Promise<PasswordFile> {
    return PasswordFile.parse(await readFile(path, 'utf8'), path);
  }

  /**
   * Parses file text. `source` labels error messages (default `<password file>`).
   * @throws FileFormatError for a line that is not `username:hash` with a supported hash,
   *   or for a username listed twice.
   */
  static parse(text: string, source = '<password file>'): PasswordFile {
    const entries = new Map<string, string>();
    splitLines(text).forEach((line, index) => {
      const entry = parseLine(line, source, index + 1);
      if (entry === null) return;
      if (entries.has(entry[0])) {
        throw new FileFormatError(source, index + 1, `duplicate user "${entry[0]}"`);
      }
      entries.set(entry[0], entry[1]);
    });
    return new PasswordFile(entries);
  }

  /** True when the file has an entry for `username`. */
  has(username: string): boolean {
    return this.entries.has(username);
  }

  /**
   * Checks a login. For an unknown user it still runs a hash of the same kind as a real user's
   * (against a decoy) and returns `false`, so timing does not reveal which usernames exist.
   */
  async verify(username: string, password: string): Promise<boolean> {
    const encoded = this.entries.get(username);
    if (encoded !== undefined) return verifyPassword(password, encoded);
    await verifyPassword(password, this.decoy());
    return false;
  }

  /**
   * The decoy for unknown users: the first user's hash (so the cost matches what this file
   * really uses, even for cheap `$7$101$` Mosquitto hashes), or a default-cost decoy when the
   * file is empty. The result is thrown away, so which hash it is does not matter otherwise.
   */
  private decoy(): string {
    for (const hash of this.entries.values()) return hash;
    this.emptyDecoy ??= decoyHash();
    return this.emptyDecoy;
  }

  /**
   * Adds a user or replaces their password, hashed with the current default.
   * @throws Error when the username cannot be stored (see {@link usernameProblem}).
   */
  async set(username: string, password: string): Promise<void> {
    const problem = usernameProblem(username);
    if (problem !== null) throw new Error(problem);
    this.entries.set(username, await hashPassword(password));
  }

  /** Removes a user; `false` when there was none. */
  delete(username: string): boolean {
    return this.entries.delete(username);
  }

  /**
   * The users of this file whose login `next` no longer accepts as it was: removed, or with
   * another hash (a new password). A reload closes their open connections.
   */
  revokedIn(next: PasswordFile): string[] {
    const revoked: string[] = [];
    for (const [username, hash] of this.entries) {
      if (next.entries.get(username) !== hash) revoked.push(username);
    }
    return revoked;
  }

  /** The usernames, in file order (new users last). */
  usernames(): string[] {
    return [...this.entries.keys()];
  }

  /** The file text: one `username:hash` line per user. Comments are not kept. */
  serialize(): string {
    let out = '';
    for (const [username, hash] of this.entries) out += `${username}:${hash}\n`;
    return out;
  }

  /**
   * Writes the file atomically: a temporary file in the same directory (mode 0600, flushed
   * to disk), then a rename over `path`. A crash leaves either the old file or the new one.
   */
  async save(path: string): Promise<void> {
    const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(this.serialize(), 'utf8');
      await handle.sync();
    } catch (err) {
      await handle.close();
      await unlink(temp).catch(() => {});
      throw err;
    }
    await handle.close();
    try {
      await rename(temp, path);
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw err;
    }
  }
}
