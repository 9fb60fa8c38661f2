/**
 * `pipit sub` and `pipit pub` as processes, through a real Mosquitto.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { BrokerProcess } from '../../bench/harness/brokers.js';
import { repoRoot, startMosquitto } from '../client/brokers.js';

// The commands exactly as main.ts registers them, without depending on the rest of the CLI.
const ENTRY = [
  "import { Command } from 'commander';",
  "import { registerPubCommand } from './src/cli/pub-command.ts';",
  "import { registerSubCommand } from './src/cli/sub-command.ts';",
  "const program = new Command('pipit');",
  'registerPubCommand(program);',
  'registerSubCommand(program);',
  "await program.parseAsync(process.argv.slice(1), { from: 'user' });",
].join('\n');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `pipit <args>`; killed after `timeoutMs` so a test never hangs. */
function pipit(args: string[], timeoutMs = 15_000): { done: Promise<Run>; exited: () => boolean } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', ENTRY, '--', ...args],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<Run>((resolve) =>
    child.on('close', (code) => {
      exited = true;
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { done, exited: () => exited };
}

let broker: BrokerProcess;
before(async () => {
  broker = await startMosquitto();
});
after(() => broker.stop());

const port = () => String(broker.port);

test('pub -r then sub -C 1 -v prints "topic payload" and exits 0', {
  timeout: 30_000,
}, async () => {
  const pub = await pipit([
    'pub',
    '-p',
    port(),
    '-t',
    'cli/kept',
    '-m',
    'hello there',
    '-q',
    '1',
    '-r',
  ]).done;
  assert.equal(pub.code, 0, pub.stderr);
  const sub = await pipit(['sub', '-p', port(), '-t', 'cli/#', '-C', '1', '-v']).done;
  assert.equal(sub.code, 0, sub.stderr);
  assert.equal(sub.stdout, 'cli/kept hello there\n');
  const clear = await pipit(['pub', '-p', port(), '-t', 'cli/kept', '-n', '-r', '-q', '1']).done;
  assert.equal(clear.code, 0, clear.stderr);
});

test('sub -C 1 receives a live message from pub (MQTT 5, QoS 2)', { timeout: 30_000 }, async () => {
  const sub = pipit(['sub', '-p', port(), '-t', 'live/+', '-C', '1', '-q', '2', '-V', '5']);
  // The subscriber may not be subscribed yet: publish until it has its one message.
  for (let i = 0; i < 40 && !sub.exited(); i++) {
    const pub = await pipit([
      'pub',
      '-p',
      port(),
      '-t',
      'live/x',
      '-m',
      'ping',
      '-q',
      '2',
      '-V',
      '5',
    ]).done;
    assert.equal(pub.code, 0, pub.stderr);
  }
  const run = await sub.done;
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'ping\n');
});

test('sub -W exits 27 when no message comes', { timeout: 30_000 }, async () => {
  const run = await pipit(['sub', '-p', port(), '-t', 'quiet/none', '-W', '1']).done;
  assert.equal(run.code, 27);
  assert.equal(run.stdout, '');
});

test('pub to a port with no broker exits 1 with an error on stderr', {
  timeout: 30_000,
}, async () => {
  const run = await pipit(['pub', '-p', '1', '-t', 'x', '-m', 'y']).done;
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^Error: /);
});

test('pub rejects a bad QoS and a missing payload', { timeout: 30_000 }, async () => {
  const badQos = await pipit(['pub', '-p', port(), '-t', 'x', '-m', 'y', '-q', '3']).done;
  assert.equal(badQos.code, 1);
  assert.match(badQos.stderr, /qos/);
  const noPayload = await pipit(['pub', '-p', port(), '-t', 'x']).done;
  assert.equal(noPayload.code, 1);
  assert.match(noPayload.stderr, /-m/);
});
