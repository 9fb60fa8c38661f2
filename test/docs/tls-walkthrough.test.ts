/**
 * docs/tls.md, followed as written: its openssl commands (sections 1 to 3) run in a temp
 * directory, its pipit.yaml (section 4, on free ports) starts `pipit broker`, and a client
 * with alice's certificate publishes over mutual TLS (section 5) while bob receives it over
 * wss with the CA (section 6).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { freePort } from '../../bench/harness/brokers.js';
import { PasswordFile } from '../../src/hooks/password-file.js';
import { BrokerProcess } from '../durability/harness.js';
import { cliEntry } from '../helpers/cli-entry.js';
import { REPO_ROOT } from '../package/packing.js';

const doc = readFileSync(join(REPO_ROOT, 'docs', 'tls.md'), 'utf8');

/** The text of a section, from its heading to the next one. */
function section(number: number): string {
  const start = doc.indexOf(`\n## ${number}. `);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** The code blocks of one kind in `text`. */
function blocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1]);
}

let dir: string;
let broker: BrokerProcess | undefined;
let mqttsPort: number;
let wssPort: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pipit-tls-doc-'));
  const script = [1, 2, 3].flatMap((n) => blocks(section(n), 'sh')).join('\n');
  execFileSync('bash', ['-e', '-c', script], { cwd: dir, stdio: 'pipe', timeout: 60_000 });
  // Section 4 asks for bob's password on the terminal; the test sets it directly.
  const users = PasswordFile.parse('');
  await users.set('bob', 'bob-secret');
  await users.save(join(dir, 'users.txt'));
  mqttsPort = await freePort();
  wssPort = await freePort();
  const [yaml] = blocks(section(4), 'yaml');
  const config = yaml
    .replace('port: 8883', `port: ${mqttsPort}`)
    .replace('port: 8081', `port: ${wssPort}`)
    .replaceAll('host: 0.0.0.0', 'host: 127.0.0.1');
  writeFileSync(join(dir, 'pipit.yaml'), `${config}storage:\n  type: memory\n`);
});
after(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the openssl commands make a CA, a server certificate for the listed names, and alice', () => {
  const san = execFileSync(
    'openssl',
    ['x509', '-in', 'tls/server.crt', '-noout', '-ext', 'subjectAltName'],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
  assert.match(san, /DNS:mqtt\.example\.com, DNS:localhost, IP Address:127\.0\.0\.1/);
  for (const cert of ['server.crt', 'alice.crt']) {
    const ok = execFileSync('openssl', ['verify', '-CAfile', 'tls/ca.crt', `tls/${cert}`], {
      cwd: dir,
      encoding: 'utf8',
    });
    assert.equal(ok.trim(), `tls/${cert}: OK`);
  }
});

test('the broker runs the pipit.yaml; alice publishes over mutual TLS, bob reads it over wss', {
  timeout: 60_000,
}, async () => {
  broker = BrokerProcess.spawn(['-c', join(dir, 'pipit.yaml')]);
  await broker.waitForOutput(`wss://127.0.0.1:${wssPort}/mqtt`);
  const ca = readFileSync(join(dir, 'tls', 'ca.crt'));
  const bob = await mqtt.connectAsync(`wss://localhost:${wssPort}/mqtt`, {
    ca,
    username: 'bob',
    password: 'bob-secret',
    reconnectPeriod: 0,
  });
  const received = new Promise<string>((resolve) =>
    bob.on('message', (topic, payload) => resolve(`${topic} ${payload}`)),
  );
  await bob.subscribeAsync('test/#', { qos: 1 });
  // Section 5's command, with the test's port and the host name the certificate lists.
  const tls = (file: string): string => join(dir, 'tls', file);
  const tlsArgs = [
    '--cafile',
    tls('ca.crt'),
    '--cert',
    tls('alice.crt'),
    '--key',
    tls('alice.key'),
  ];
  const args = ['-h', 'localhost', '-p', String(mqttsPort), ...tlsArgs, '-t', 'test/hello'];
  const pub = spawn(process.execPath, [cliEntry(), 'pub', ...args, '-m', 'over mTLS', '-q', '1'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  pub.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => pub.on('close', resolve));
  assert.equal(code, 0, stderr);
  assert.equal(await received, 'test/hello over mTLS');
  await bob.endAsync();
});
