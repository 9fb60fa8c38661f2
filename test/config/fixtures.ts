/**
 * Shared by the config, hook and auth tests: temporary directories, fast password hashes
 * and small file writers.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Mosquitto `$7$` hash with 101 iterations: valid for the password file, and fast. */
export function fastHash(password: string): string {
  const salt = randomBytes(12);
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, 101, 64, 'sha512');
  return `$7$101$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Password file text for `users` (name -> password). */
export function passwordFileText(users: Record<string, string>): string {
  return Object.entries(users)
    .map(([name, password]) => `${name}:${fastHash(password)}\n`)
    .join('');
}

/** A temporary directory, with a writer and a cleanup. */
export interface TempDir {
  dir: string;
  /** Writes `text` to `name` in the directory; resolves with the full path. */
  write(name: string, text: string): Promise<string>;
  remove(): Promise<void>;
}

/** Creates a temporary directory. */
export async function tempDir(): Promise<TempDir> {
  const dir = await mkdtemp(join(tmpdir(), 'pipit-config-'));
  return {
    dir,
    async write(name, text) {
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
