/**
 * `pipit token [--name <name>] [--scope read|full]`: makes a new admin API token, prints it
 * once, and prints the `adminApi.tokens` entry (its hash) to paste into the configuration.
 * The token is 32 random bytes (base64url); its hash is a password hash (PBKDF2-SHA512, see
 * hooks/password-hash.ts), so the broker keeps no token in clear.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { hashPassword } from '../hooks/password-hash.js';

/** What `pipit token` takes. */
export interface TokenOptions {
  name?: string;
  scope?: string;
}

/** A new token and its configuration entry. */
export interface NewToken {
  token: string;
  name: string;
  scope: 'read' | 'full';
  hash: string;
}

/** Bytes of randomness in a token (256 bits). */
const TOKEN_BYTES = 32;
/** Every token starts with this, so that one found in a file or a log is recognized. */
const TOKEN_PREFIX = 'pipit_';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Makes a token and its hash.
 * @throws Error naming the option when the name or scope is not valid.
 */
export async function makeToken(options: TokenOptions): Promise<NewToken> {
  const name = options.name ?? 'admin';
  if (!NAME.test(name)) {
    throw new Error(
      `--name: "${name}" is not a token name (letters, digits, '.', '_', '-'; at most 64)`,
    );
  }
  const scope = options.scope ?? 'full';
  if (scope !== 'read' && scope !== 'full') {
    throw new Error(`--scope: expected read or full, got "${scope}"`);
  }
  const token = TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
  return { token, name, scope, hash: await hashPassword(token) };
}

/** The text `pipit token` prints: the token, then the configuration entry. */
export function tokenText(made: NewToken): string {
  return [
    `# admin API token "${made.name}" (scope: ${made.scope}); shown once, keep it secret.`,
    '# Send it as: Authorization: Bearer <token>',
    made.token,
    '# Add this to the configuration file (under adminApi.tokens):',
    'adminApi:',
    '  tokens:',
    `    - name: ${made.name}`,
    `      scope: ${made.scope}`,
    `      hash: '${made.hash}'`,
    '',
  ].join('\n');
}

/** Registers `token` on the root program. */
export function registerTokenCommand(program: Command): void {
  program
    .command('token')
    .description('make an admin API token: prints it and the hash to put in adminApi.tokens')
    .option('-n, --name <name>', 'the token name shown in logs (default admin)')
    .option('-s, --scope <scope>', 'read (GET routes only) or full (default full)')
    .action(async (options: TokenOptions) => {
      try {
        process.stdout.write(tokenText(await makeToken(options)));
      } catch (err) {
        process.stderr.write(`pipit token: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
