import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connectClient } from '../helpers/broker.js';
import { cliEntry } from '../helpers/cli-entry.js';
import { freePort } from '../helpers/ports.js';

/** Starts `pipit broker` and resolves when it logs that it listens. */
async function startCli(args: string[]): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [cliEntry(), 'broker', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${out}`)), 15000);
    const check = (): void => {
      if (out.includes('"msg":"listening"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', () => reject(new Error(`broker exited:\n${out}`)));
  });
  return { child, output: () => out };
}

describe('pipit broker', () => {
  it('prints where it listens, and on SIGTERM sends v5 clients DISCONNECT 0x8B and exits 0', async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'pipit-cli-'));
    const { child, output } = await startCli([
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
    ]);
    assert.match(output(), /"store":"sqlite"/);
    assert.match(output(), new RegExp(`mqtt://127\\.0\\.0\\.1:${port}`));
    const client = await connectClient(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5 });
    const disconnect = new Promise<number | undefined>((resolve) =>
      client.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    assert.equal(await disconnect, 0x8b);
    const [code] = await exited;
    assert.equal(code, 0);
    client.end(true);
  });

  it('rejects a bad --port with a message naming the problem', async () => {
    const child = spawn(process.execPath, [cliEntry(), 'broker', '--port', 'eighty'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const [code] = await once(child, 'exit');
    assert.notEqual(code, 0);
    assert.match(err, /"eighty" is not a port number/);
  });
});
