/**
 * Where `pipit broker` writes its log and in which shape: pino-pretty's lines when asked
 * (`log.format: pretty`), and `log.file` as JSON lines that pino-roll rotates at a small
 * size, keeping `log.rotate.keep` files besides the current one.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort, REPO_ROOT, tempDir, waitUntil } from '../durability/harness.js';
import { connectClient, endClient } from '../helpers/broker.js';
import { cliEntry } from '../helpers/cli-entry.js';

/** Starts `pipit broker -c <config>` on `port`; resolves once `ready` is in its stdout. */
async function start(
  config: string,
  port: number,
  ready: string,
): Promise<{ child: ChildProcess; stdout: () => string }> {
  const child = spawn(
    process.execPath,
    [cliEntry(), 'broker', '-c', config, '--memory', '--port', String(port)],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await waitUntil(
    () => out.includes(ready) || child.exitCode !== null,
    30_000,
    () => out,
  );
  assert.equal(child.exitCode, null, `the broker exited:\n${out}`);
  return { child, stdout: () => out };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

describe('pipit broker: log format and log file', () => {
  it('log.format: pretty prints lines for people, not JSON', async () => {
    const dir = tempDir('pipit-pretty-');
    const config = join(dir, 'pipit.yaml');
    writeFileSync(config, 'log:\n  format: pretty\n');
    const { child, stdout } = await start(config, await freePort(), 'listening');
    await stop(child);
    const line = stdout()
      .split('\n')
      .find((l) => l.includes('listening'));
    assert.ok(line !== undefined);
    assert.equal(isJson(line), false, `a pretty line: ${line}`);
    assert.match(line, /INFO/);
  });

  it('log.file: JSON lines, rotated past log.rotate.size, log.rotate.keep files kept besides the current one', async () => {
    const dir = tempDir('pipit-logfile-');
    const config = join(dir, 'pipit.yaml');
    writeFileSync(
      config,
      [
        'log:',
        '  file: logs/pipit.log',
        '  stdout: true',
        '  rotate:',
        '    size: 1KiB',
        '    keep: 2',
        '',
      ].join('\n'),
    );
    const port = await freePort();
    const { child } = await start(config, port, '"msg":"listening"');
    const logs = join(dir, 'logs');
    const numbered = () =>
      existsSync(logs) ? readdirSync(logs).filter((f) => /^pipit\.\d+\.log$/.test(f)) : [];
    const highest = () => Math.max(0, ...numbered().map((f) => Number(f.split('.')[1])));
    // Each connection writes two lines (~250 bytes each): go on until the 5th file is begun.
    for (let i = 0; highest() < 5 && i < 500; i++) {
      const client = await connectClient(`mqtt://127.0.0.1:${port}`, { clientId: `c${i}` });
      await endClient(client);
    }
    await waitUntil(
      () => highest() >= 5,
      10_000,
      () => numbered().join(', '),
    );
    // keep: 2 -> the current file and the two before it; older ones are removed.
    await waitUntil(
      () => numbered().length <= 3,
      10_000,
      () => numbered().join(', '),
    );
    await stop(child);
    const files = numbered();
    assert.deepEqual(
      files.map((f) => Number(f.split('.')[1])).sort((a, b) => a - b),
      [highest() - 2, highest() - 1, highest()],
    );
    const lines = files.flatMap((f) =>
      readFileSync(join(logs, f), 'utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
    assert.ok(lines.length > 0);
    for (const line of lines) assert.ok(isJson(line), `a JSON line: ${line}`);
    assert.ok(lines.some((l) => (JSON.parse(l) as { msg: string }).msg === 'client connected'));
  });
});
