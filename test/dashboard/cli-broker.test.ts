/**
 * `pipit broker` (the CLI, as a child process) serves the dashboard at `/` of its HTTP
 * listener next to the admin API, and not with `adminApi.dashboard: false`.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../cluster/redis-fixture.js';
import { fastHash } from '../config/fixtures.js';
import { FULL_TOKEN } from '../helpers/admin-http.js';
import { cliEntry } from '../helpers/cli-entry.js';
import { ensureDashboardBuilt } from './harness.js';

const children: ChildProcess[] = [];
let dir: string;

/** Starts `pipit broker -c` with an HTTP listener; resolves with its base URL once it listens. */
async function startCli(extra: string): Promise<string> {
  const httpPort = await freePort();
  const file = join(dir, `pipit-${httpPort}.yaml`);
  writeFileSync(
    file,
    [
      `listeners:\n  - port: 0\n  - type: http\n    port: ${httpPort}`,
      `adminApi:\n  tokens:\n    - { name: ops, hash: '${fastHash(FULL_TOKEN)}' }\n${extra}`,
    ].join('\n'),
  );
  const child = spawn(process.execPath, [cliEntry(), 'broker', '--memory', '-c', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (/"address":"mqtt:\/\/[^\n]*"msg":"listening"/.test(out)) resolve();
    };
    child.stdout!.on('data', check);
    child.once('exit', () => reject(new Error(`pipit broker exited:\n${out}`)));
  });
  return `http://127.0.0.1:${httpPort}`;
}

before(() => {
  ensureDashboardBuilt();
  dir = mkdtempSync(join(tmpdir(), 'pipit-dashboard-cli-'));
});

after(async () => {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('pipit broker: the dashboard', () => {
  it('serves the dashboard at / of its HTTP listener, next to the admin API', async () => {
    const base = await startCli('');
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await page.text();
    const script = /src="(\/assets\/index-[\w-]{8}\.js)"/.exec(html);
    assert.ok(script, `a hashed script in ${html}`);
    const asset = await fetch(`${base}${script[1]}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    await asset.arrayBuffer();
    const api = await fetch(`${base}/api/v1/nodes`, {
      headers: { authorization: `Bearer ${FULL_TOKEN}` },
    });
    assert.equal(api.status, 200);
  });

  it('adminApi.dashboard: false serves no dashboard (404), the API still', async () => {
    const base = await startCli('  dashboard: false\n');
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 404);
    assert.match(((await page.json()) as { detail: string }).detail, /nothing is served at \//);
    const api = await fetch(`${base}/api/v1/nodes`, {
      headers: { authorization: `Bearer ${FULL_TOKEN}` },
    });
    assert.equal(api.status, 200);
  });
});
