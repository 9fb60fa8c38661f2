/**
 * `pipit token`: a new random token, printed once with the `adminApi.tokens` entry to paste
 * into the configuration; the entry parses, and its hash verifies the token (and nothing
 * else). Bad options are refused with a message naming the option.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeToken, tokenText } from '../../src/cli/token-command.js';
import { configToPlan, parseConfig } from '../../src/config/index.js';
import { verifyPassword } from '../../src/hooks/password-hash.js';
import { cliEntry } from '../helpers/cli-entry.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the real CLI entry, compiled: `node dist/cli/main.js token ...`. */
function pipitToken(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry(), 'token', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The configuration part of `pipit token`'s output (from `adminApi:` on). */
function configPart(text: string): string {
  return text.slice(text.indexOf('adminApi:'));
}

describe('pipit token', () => {
  it('prints a new token once and the configuration entry whose hash verifies it', async () => {
    const run = await pipitToken(['--name', 'grafana', '--scope', 'read']);
    assert.equal(run.code, 0, run.stderr);
    const token = run.stdout.split('\n').find((line) => line.startsWith('pipit_'));
    assert.ok(token, run.stdout);
    assert.match(token, /^pipit_[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
    assert.equal(run.stdout.split(token).length, 2, 'the token is printed once');
    const plan = configToPlan(parseConfig(configPart(run.stdout)), { baseDir: ROOT, cwd: ROOT });
    assert.equal(plan.adminApi.tokens.length, 1);
    const [entry] = plan.adminApi.tokens;
    assert.equal(entry!.name, 'grafana');
    assert.equal(entry!.scope, 'read');
    assert.match(entry!.hash, /^\$pbkdf2-sha512\$i=210000\$/);
    assert.equal(await verifyPassword(token, entry!.hash), true);
    assert.equal(await verifyPassword(`${token}x`, entry!.hash), false);
  });

  it('defaults: name admin, scope full; two tokens differ', async () => {
    const [a, b] = [await makeToken({}), await makeToken({})];
    assert.equal(a.name, 'admin');
    assert.equal(a.scope, 'full');
    assert.notEqual(a.token, b.token);
    assert.match(tokenText(a), /scope: full/);
  });

  it('refuses a bad name or scope, naming the option', async () => {
    await assert.rejects(
      makeToken({ name: 'has space' }),
      /--name: "has space" is not a token name/,
    );
    await assert.rejects(
      makeToken({ scope: 'write' }),
      /--scope: expected read or full, got "write"/,
    );
    const run = await pipitToken(['--scope', 'admin']);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^pipit token: --scope: expected read or full, got "admin"\n$/);
  });
});
