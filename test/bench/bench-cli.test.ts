/**
 * `pipit bench` as a process: JSON output and exit codes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type BrokerProcess, startBroker } from '../../bench/harness/brokers.js';
import { repoRoot, startMosquitto } from '../client/brokers.js';

const ENTRY = [
  "import { Command } from 'commander';",
  "import { registerBenchCommand } from './src/cli/bench-command.ts';",
  "const program = new Command('pipit');",
  'registerBenchCommand(program);',
  "await program.parseAsync(process.argv.slice(1), { from: 'user' });",
].join('\n');

function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', ENTRY, '--', 'bench', ...args],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

let broker: BrokerProcess;
before(async () => {
  broker = await startMosquitto();
});
after(() => broker.stop());

test('bench pairs --json prints one result object and exits 0', { timeout: 60_000 }, async () => {
  const run = await bench([
    'pairs',
    '-p',
    String(broker.port),
    '-n',
    '3',
    '-q',
    '1',
    '-d',
    '0.5',
    '-w',
    '0.1',
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const r = JSON.parse(run.stdout);
  assert.equal(r.scenario, 'pairs');
  assert.equal(r.publishers, 3);
  assert.equal(r.qos, 1);
  assert.equal(r.lost, 0);
  assert.equal(r.duplicated, 0);
  assert.equal(r.outOfOrder, 0);
  assert.ok(r.delivered > 0);
});

test('bench prints a table without --json', { timeout: 60_000 }, async () => {
  const run = await bench(['fanin', '-p', String(broker.port), '-n', '2', '-d', '0.3', '-w', '0']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^scenario\s+fanin$/m);
  assert.match(run.stdout, /^lost \/ dup \/ out of order\s+0 \/ 0 \/ 0$/m);
});

test('bench refuses an unknown scenario and a bad QoS with exit 1', {
  timeout: 60_000,
}, async () => {
  const unknown = await bench(['storm', '-p', String(broker.port)]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /scenario must be one of/);
  const badQos = await bench(['pairs', '-p', String(broker.port), '-q', '5']);
  assert.equal(badQos.code, 1);
  assert.match(badQos.stderr, /qos/);
});

test('bench --transport tls --cafile --batch: verified TLS, whole batches, and the table says so', {
  timeout: 60_000,
}, async () => {
  const tlsBroker = await startBroker('mosquitto', { cwd: repoRoot, transport: 'tls' });
  const dir = mkdtempSync(join(tmpdir(), 'pipit-bench-ca-'));
  try {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, tlsBroker.ca ?? '');
    const port = String(tlsBroker.port);
    const common = ['fanin', '-p', port, '-n', '2', '-d', '0.3', '-w', '0', '--transport', 'tls'];
    const run = await bench([...common, '--cafile', ca, '--batch', '5']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^broker\s+127\.0\.0\.1:\d+ over tls \(MQTT 3\.1\.1\)$/m);
    assert.match(
      run.stdout,
      /^writes\s+[\d,]+: [\d.]+ messages per write \(fewest \d+, batch 5\)$/m,
    );
    assert.match(run.stdout, /^lost \/ dup \/ out of order\s+0 \/ 0 \/ 0$/m);
    const unverified = await bench(common);
    assert.equal(unverified.code, 1);
    assert.match(unverified.stderr, /self-signed certificate/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await tlsBroker.stop();
  }
});

test('bench refuses a bad --transport, --cafile without TLS and an unreadable --cafile', {
  timeout: 60_000,
}, async () => {
  const port = String(broker.port);
  const bad = await bench(['pairs', '-p', port, '--transport', 'quic']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--transport must be one of tcp, tls, ws, wss, got "quic"/);
  const plain = await bench(['pairs', '-p', port, '--cafile', 'ca.pem']);
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /--cafile and --insecure go with --transport tls or wss/);
  const missing = await bench([
    'pairs',
    '-p',
    port,
    '--transport',
    'tls',
    '--cafile',
    '/nonexistent/ca.pem',
  ]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--cafile: cannot read \/nonexistent\/ca\.pem/);
});

test('bench --pace: spin with --rate runs and says so; without --rate or unknown it is refused', {
  timeout: 60_000,
}, async () => {
  const port = String(broker.port);
  const common = ['fanin', '-p', port, '-n', '2', '-d', '0.3', '-w', '0', '--rate', '500'];
  const spin = await bench([...common, '--pace', 'spin']);
  assert.equal(spin.code, 0, spin.stderr);
  assert.match(spin.stdout, /^target rate\s+500 msg\/s, spin pace$/m);
  const noRate = await bench(['fanin', '-p', port, '--pace', 'spin']);
  assert.equal(noRate.code, 1);
  assert.match(noRate.stderr, /--pace spin spaces a fixed rate: give --rate too/);
  const bad = await bench([...common, '--pace', 'busy']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--pace must be timer or spin, got "busy"/);
});
