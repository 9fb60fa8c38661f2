/**
 * `pipit passwd [-c | -D] [-b] [-H hash] <file> <username> [password]` and
 * `pipit passwd -U <file>`: manage a password file, with the options of `mosquitto_passwd`.
 *
 *   -c  create the file (overwriting an existing one)
 *   -D  delete the user
 *   -b  take the password from the command line (batch mode)
 *   -H  the hash for new passwords: pbkdf2-sha512 (default), sha512-pbkdf2 (Mosquitto 2's
 *       $7$), sha512 (Mosquitto 1.6's $6$); see passwd-hashes.ts
 *   -U  hash the plain-text passwords of a file in place (see passwd-upgrade.ts)
 *
 * Without -b the password is asked twice on the terminal, without echo. When stdin is not a
 * terminal, it is read from there: one line, or two that must match (what piping into
 * mosquitto_passwd does). Passwords are never printed. Errors go to stderr with exit code 1.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Command } from 'commander';
import { FileFormatError } from '../hooks/file-error.js';
import { PasswordFile, usernameProblem } from '../hooks/password-file.js';
import { HASH_ALGORITHMS, type HashAlgorithm, hashWith, withEntry } from './passwd-hashes.js';
import { UpgradeError, upgradePasswordFile } from './passwd-upgrade.js';

/** An error meant for the user: printed as is, exit code 1. */
export class PasswdError extends Error {
  override readonly name = 'PasswdError';
}

/** The options `passwd` takes. */
export interface PasswdOptions {
  create?: boolean;
  batch?: boolean;
  delete?: boolean;
  /** -U: hash the plain-text passwords of the file. */
  upgrade?: boolean;
  /** -H: the hash for new passwords (default pbkdf2-sha512). */
  hash?: string;
}

/** A readable stream that may be a terminal (process.stdin, or a fake one in tests). */
export interface PasswdInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/** Where `passwd` reads passwords and writes prompts. */
export interface PasswdIo {
  input: PasswdInput;
  /** Prompts go here (stderr), never to stdout, and never a password. */
  output: NodeJS.WritableStream;
}

/** Longest password input read from a pipe before giving up. */
const MAX_INPUT_BYTES = 64 * 1024;

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = '\u007f';

/**
 * Reads one line per prompt from a terminal in raw mode, so nothing typed is echoed.
 * Backspace edits, Ctrl-C aborts, Ctrl-D ends the input. Text typed (or pasted) ahead of a
 * prompt is kept for it.
 */
export function readHiddenLines(
  input: PasswdInput,
  output: NodeJS.WritableStream,
  prompts: readonly string[],
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    const decoder = new StringDecoder('utf8'); // a key may arrive split across chunks
    let current = '';
    const finish = (err?: Error) => {
      input.removeListener('data', onData);
      input.setRawMode?.(false);
      input.pause();
      if (err) reject(err);
      else resolve(lines);
    };
    const endLine = (): boolean => {
      output.write('\n');
      lines.push(current);
      current = '';
      if (lines.length === prompts.length) return true;
      output.write(prompts[lines.length]);
      return false;
    };
    const onData = (chunk: Buffer | string) => {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      for (const ch of text) {
        if (ch === CTRL_C) return finish(new PasswdError('interrupted'));
        if (ch === '\r' || ch === '\n' || ch === CTRL_D) {
          if (endLine()) return finish();
        } else if (ch === BACKSPACE || ch === '\b') {
          current = Array.from(current).slice(0, -1).join('');
        } else if (ch >= ' ') {
          current += ch;
        }
      }
    };
    output.write(prompts[0]);
    input.setRawMode?.(true);
    input.on('data', onData);
    input.resume();
  });
}

/** Reads up to two lines from a pipe (until EOF or the second newline). */
export function readPipedLines(input: PasswdInput): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let text = '';
    const decoder = new StringDecoder('utf8');
    const done = (err?: Error) => {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.removeListener('error', done);
      input.pause();
      if (err) return reject(err);
      if (text === '') return resolve([]);
      const lines = text.split('\n');
      // A trailing newline ends the last line; it does not start another one.
      if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
      resolve(lines.slice(0, 2).map((l) => l.replace(/\r$/, '')));
    };
    const onData = (chunk: Buffer | string) => {
      text += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      if (Buffer.byteLength(text) > MAX_INPUT_BYTES)
        return done(new PasswdError('password input too long'));
      const first = text.indexOf('\n');
      if (first >= 0 && text.indexOf('\n', first + 1) >= 0) done();
    };
    const onEnd = () => done();
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', done);
    input.resume();
  });
}

/** Gets the new password from the terminal (asked twice) or from a pipe. */
async function readNewPassword(io: PasswdIo): Promise<string> {
  const lines = io.input.isTTY
    ? await readHiddenLines(io.input, io.output, ['Password: ', 'Reenter password: '])
    : await readPipedLines(io.input);
  if (lines.length === 0) throw new PasswdError('no password given on stdin');
  if (lines.length === 2 && lines[0] !== lines[1]) throw new PasswdError('passwords do not match');
  return lines[0];
}

function hashAlgorithm(opts: PasswdOptions): HashAlgorithm {
  const hash = opts.hash ?? 'pbkdf2-sha512';
  if (!(HASH_ALGORITHMS as readonly string[]).includes(hash)) {
    throw new PasswdError(`-H must be one of ${HASH_ALGORITHMS.join(', ')}, got "${hash}"`);
  }
  return hash as HashAlgorithm;
}

function checkUpgrade(username: string | undefined, opts: PasswdOptions): void {
  if (opts.create || opts.delete || opts.batch) {
    throw new PasswdError('-U takes only the file (and -H): not -c, -D or -b');
  }
  if (username !== undefined) throw new PasswdError('-U takes only the file, no username');
}

function checkArguments(
  username: string | undefined,
  password: string | undefined,
  opts: PasswdOptions,
): asserts username is string {
  if (username === undefined) {
    throw new PasswdError('a username is needed (or -U to hash a plain-text file)');
  }
  if (opts.create && opts.delete) throw new PasswdError('-c and -D cannot be used together');
  if (opts.delete && (opts.batch || password !== undefined)) {
    throw new PasswdError('-D takes no password');
  }
  if (!opts.delete && opts.batch && password === undefined) {
    throw new PasswdError('-b needs the password as the last argument');
  }
  if (!opts.batch && password !== undefined) {
    throw new PasswdError('a password on the command line needs -b');
  }
  const problem = usernameProblem(username);
  if (problem !== null) throw new PasswdError(`invalid username: ${problem}`);
}

async function openFile(file: string, create: boolean): Promise<PasswordFile> {
  if (create) return PasswordFile.parse('', file);
  try {
    return await PasswordFile.load(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new PasswdError(`${file}: no such file (use -c to create it)`);
    }
    throw err;
  }
}

/**
 * Does the work of `pipit passwd`: add or update a user (creating the file with -c), or
 * delete one (-D). Reads the file first, so a broken file is reported before any prompt.
 * @throws PasswdError, FileFormatError or a file system error, for the caller to print.
 */
export async function runPasswd(
  file: string,
  username: string | undefined,
  password: string | undefined,
  opts: PasswdOptions,
  io: PasswdIo,
): Promise<void> {
  const algorithm = hashAlgorithm(opts);
  if (opts.upgrade) {
    checkUpgrade(username, opts);
    await upgradePasswordFile(file, algorithm);
    return;
  }
  checkArguments(username, password, opts);
  let passwords = await openFile(file, opts.create === true);
  if (opts.delete) {
    if (!passwords.delete(username))
      throw new PasswdError(`user "${username}" not found in ${file}`);
  } else {
    const secret = password ?? (await readNewPassword(io));
    if (secret === '') throw new PasswdError('empty password');
    passwords = withEntry(passwords, username, await hashWith(algorithm, secret));
  }
  await passwords.save(file);
}

function errorMessage(err: unknown): string {
  if (err instanceof PasswdError || err instanceof FileFormatError || err instanceof UpgradeError) {
    return err.message;
  }
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && typeof e.message === 'string') return e.message;
  return String(err);
}

/** Registers `passwd` on the root program. */
export function registerPasswdCommand(program: Command): void {
  program
    .command('passwd')
    .description('manage a password file (same options as mosquitto_passwd)')
    .argument('<file>', 'password file')
    .argument('[username]', 'user to add, update or delete (not with -U)')
    .argument('[password]', 'the password, with -b (it shows in ps and shell history)')
    .option('-c, --create', 'create the file, overwriting an existing one')
    .option('-b, --batch', 'take the password from the command line')
    .option('-D, --delete', 'delete the user')
    .option('-H, --hash <hash>', `hash for new passwords: ${HASH_ALGORITHMS.join(', ')}`)
    .option('-U, --upgrade', 'hash the plain-text passwords of the file in place')
    .action(
      async (
        file: string,
        username: string | undefined,
        password: string | undefined,
        opts: PasswdOptions,
      ) => {
        try {
          await runPasswd(file, username, password, opts, {
            input: process.stdin,
            output: process.stderr,
          });
        } catch (err) {
          process.stderr.write(`pipit passwd: ${errorMessage(err)}\n`);
          // exitCode rather than exit(): let stderr flush and the program unwind.
          process.exitCode = 1;
        }
      },
    );
}
