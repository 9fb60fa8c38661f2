/**
 * `pipit pub -l` and `pipit sub` across broker restarts: the real `pipit broker` in a child
 * process with SQLite, stopped (SIGTERM) and killed (kill -9) and started again on the same
 * port and --data-dir while pub feeds lines and sub prints them. Both reconnect as a bridge
 * does; pub keeps the lines read meanwhile in its offline queue and sends its QoS 1 lines
 * again until acknowledged; sub (-c) resumes its session, so what arrived meanwhile waits.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';
import {
  BrokerProcess,
  freePort,
  REPO_ROOT,
  sleep,
  tempDir,
  waitUntil,
} from '../durability/harness.js';
import { startBroker } from '../helpers/broker.js';
import { cliEntry } from '../helpers/cli-entry.js';
import { run } from './parity/harness.js';

/** A running pipit pub or sub whose stdin stays open and whose output is collected. */
class Cli {
  readonly child: ChildProcess;
  out = '';
  err = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [cliEntry(), ...args], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
  }

  write(text: string): void {
    this.child.stdin!.write(text);
  }

  /** Distinct lines printed so far. */
  lines(): Set<string> {
    return new Set(this.out.split('\n').filter((l) => l !== ''));
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

const lines = (from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `line-${from + i}`);

describe('pipit pub -l and pipit sub reconnect', { timeout: 300_000 }, () => {
  const started: Cli[] = [];
  /** Every broker start, awaited and killed at the end (one may end after a timed-out test). */
  const starts: Promise<BrokerProcess>[] = [];
  let broker: BrokerProcess;
  const startBrokerProcess = (port: number, dataDir: string): Promise<BrokerProcess> => {
    const start = BrokerProcess.start(port, dataDir, [], 60_000);
    starts.push(start);
    return start;
  };
  after(async () => {
    for (const c of started) c.kill();
    for (const result of await Promise.allSettled(starts)) {
      if (result.status === 'fulfilled') await result.value.kill();
    }
  });

  test('every QoS 1 line arrives across a broker restart and a kill -9', async () => {
    const port = await freePort();
    const dataDir = tempDir('pipit-cli-reconnect-');
    broker = await startBrokerProcess(port, dataDir);
    const fast = ['--reconnect-delay', '0.1', '--max-reconnect-delay', '0.5'];
    const p = ['-p', String(port)];
    const sub = new Cli(['sub', ...p, '-t', 'rl/#', '-q', '1', '-c', '-i', 'rl-sub', ...fast]);
    started.push(sub);
    // The subscription exists once a probe message comes through.
    const deadline = Date.now() + 30_000;
    while (!sub.lines().has('probe')) {
      assert.ok(Date.now() < deadline, `sub never printed the probe: ${sub.err}`);
      await run('mosquitto', 'pub', [...p, '-t', 'rl/probe', '-m', 'probe']);
      await sleep(100);
    }
    const pub = new Cli(['pub', ...p, '-t', 'rl/x', '-q', '1', '-l', '-i', 'rl-pub', ...fast]);
    started.push(pub);
    const expected = [...lines(0, 200)];
    pub.write(`${lines(0, 100).join('\n')}\n`);
    await waitUntil(
      () => sub.lines().has('line-99'),
      20_000,
      () =>
        `first lines: pub ${pub.err} ${pub.child.exitCode}; sub got ${sub.lines().size}: ${sub.out.slice(-200)} ${sub.err}`,
    );

    // A clean restart: lines written while the broker is down wait in pub's offline queue.
    await broker.stop();
    await waitUntil(
      () => pub.err.includes('Connection lost'),
      20_000,
      () => pub.err,
    );
    pub.write(`${lines(100, 150).join('\n')}\n`);
    broker = await startBrokerProcess(port, dataDir);
    // kill -9 while lines are in flight: the unacknowledged ones are sent again.
    pub.write(`${lines(150, 200).join('\n')}\n`);
    await broker.kill();
    broker = await startBrokerProcess(port, dataDir);
    pub.child.stdin!.end();

    assert.equal(await pub.exited, 0, `pub: ${pub.err}`);
    await waitUntil(
      () => expected.every((l) => sub.lines().has(l)),
      30_000,
      () => `missing: ${expected.filter((l) => !sub.lines().has(l)).join(',')}`,
    );
    assert.match(sub.err, /Connection lost/);
    sub.child.kill('SIGTERM');
    assert.equal(await sub.exited, 0, `sub: ${sub.err}`);
  });
  test('lines past --offline-queue are dropped, counted and reported; the others arrive', async () => {
    const port = await freePort();
    const dataDir = tempDir('pipit-cli-offline-');
    broker = await startBrokerProcess(port, dataDir);
    const p = ['-p', String(port)];
    const fast = ['--reconnect-delay', '0.1', '--max-reconnect-delay', '0.5'];
    const sub = new Cli(['sub', ...p, '-t', 'oq/#', '-q', '1', '-c', '-i', 'oq-sub', ...fast]);
    started.push(sub);
    const deadline = Date.now() + 30_000;
    while (!sub.lines().has('probe')) {
      assert.ok(Date.now() < deadline, `sub never printed the probe: ${sub.err}`);
      await run('mosquitto', 'pub', [...p, '-t', 'oq/probe', '-m', 'probe']);
      await sleep(100);
    }
    const pubArgs = ['pub', ...p, '-t', 'oq/x', '-q', '1', '-l', '--offline-queue', '5'];
    const pub = new Cli([...pubArgs, ...fast]);
    started.push(pub);
    pub.write('first\n');
    await waitUntil(
      () => sub.lines().has('first'),
      20_000,
      () => `first: ${pub.err}`,
    );
    await broker.stop();
    await waitUntil(
      () => pub.err.includes('Connection lost'),
      20_000,
      () => pub.err,
    );
    pub.write(`${lines(0, 20).join('\n')}\n`);
    await waitUntil(
      () => pub.err.includes('offline queue full'),
      20_000,
      () => pub.err,
    );
    broker = await startBrokerProcess(port, dataDir);
    pub.child.stdin!.end();
    assert.equal(await pub.exited, 1, pub.err);
    assert.match(
      pub.err,
      /Warning: offline queue full \(--offline-queue 5\): lines are dropped until the broker is back/,
    );
    const dropped = /Error: (\d+) lines were not sent: .*\(--offline-queue 5\)/.exec(pub.err);
    assert.ok(dropped, pub.err);
    // What was not dropped arrives: the count of missing lines is the count reported.
    await waitUntil(
      () => lines(0, 20).filter((l) => sub.lines().has(l)).length === 20 - Number(dropped[1]),
      20_000,
      () => `sub has ${sub.out}; pub said ${pub.err}`,
    );
    assert.ok(Number(dropped[1]) >= 1);
    sub.child.kill('SIGTERM');
    await sub.exited;
  });
});

describe('--failover', { timeout: 60_000 }, () => {
  test('sub and pub -l reach the broker of --failover when the first address is dead', async () => {
    const live = await startBroker();
    try {
      const dead = String(await freePort());
      const to = ['-p', dead, '--failover', `127.0.0.1:${live.port}`];
      const sub = new Cli(['sub', ...to, '-t', 'fo/#', '-C', '1', '-v']);
      const deadline = Date.now() + 30_000;
      // pub -l goes the same way; its line arrives once sub is subscribed.
      while (sub.out === '') {
        assert.ok(Date.now() < deadline, `sub printed nothing: ${sub.err}`);
        const r = await run('pipit', 'pub', [...to, '-t', 'fo/x', '-l', '-q', '1'], {
          stdin: 'via failover\n',
        });
        assert.equal(r.code, 0, r.stderr);
      }
      assert.equal(await sub.exited, 0, sub.err);
      assert.equal(sub.out, 'fo/x via failover\n');
    } finally {
      await live.close();
    }
  });
});

describe('reconnect flags', { timeout: 60_000 }, () => {
  const cases: [string, string[], RegExp][] = [
    [
      '--offline-queue 0',
      ['pub', '-t', 'a', '-l', '--offline-queue', '0'],
      /--offline-queue must be an integer from 1/,
    ],
    [
      '--offline-queue without -l',
      ['pub', '-t', 'a', '-m', 'x', '--offline-queue', '5'],
      /--offline-queue works with -l only/,
    ],
    [
      '--reconnect-delay x',
      ['sub', '-t', 'a', '--reconnect-delay', 'x'],
      /--reconnect-delay must be a number of seconds/,
    ],
    [
      '--max-reconnect-delay below --reconnect-delay',
      ['sub', '-t', 'a', '--reconnect-delay', '5', '--max-reconnect-delay', '2'],
      /--max-reconnect-delay \(2 s\) must not be below --reconnect-delay \(5 s\)/,
    ],
    [
      '--failover bad port',
      ['pub', '-t', 'a', '-l', '--failover', 'h:99999'],
      /--failover: port must be 1 to 65535/,
    ],
    [
      '--failover with --unix',
      ['sub', '-t', 'a', '--unix', '/tmp/x', '--failover', 'h'],
      /--failover needs a TCP broker/,
    ],
  ];
  for (const [name, args, message] of cases) {
    test(`a flag error names the flag: ${name}`, async () => {
      const [command, ...rest] = args as ['pub' | 'sub', ...string[]];
      const r = await run('pipit', command, rest, { stdin: '' });
      assert.equal(r.code, 1);
      assert.match(r.stderr, message);
    });
  }
});
