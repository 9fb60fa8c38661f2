/**
 * `pipit bench` and Ctrl-C: on a terminal (a real pseudo-terminal from script(1), where
 * Ctrl-C is the \x03 byte the terminal turns into SIGINT) the progress bar goes away, the
 * cursor comes back and the partial result is printed; without a terminal, SIGINT gives
 * the partial result as JSON. Both exit 130.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { cliEntry } from '../helpers/cli-entry.js';
import { REPO_ROOT } from '../package/packing.js';

let tb: TestBroker;
let delivered = 0;
before(async () => {
  tb = await startBroker();
  tb.broker.on('delivered', () => delivered++);
});
after(() => tb.close());

const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

/** Resolves once `condition` holds (checked every 50 ms); rejects after `ms`. */
async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const benchArgs = (): string[] => [
  'bench',
  'pairs',
  '-p',
  String(tb.port),
  '-n',
  '2',
  '-d',
  '60',
  '-w',
  '0',
  '--rate',
  '1000',
];

test('on a terminal, Ctrl-C restores the cursor and prints what was measured (exit 130)', {
  timeout: 60_000,
}, async () => {
  const command = [process.execPath, cliEntry(), ...benchArgs()].map((a) => `'${a}'`).join(' ');
  // script -e: exit with the command's code; -f: flush as it goes; -q: no banner.
  const term = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  term.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => term.on('close', (code) => resolve(code)));
  try {
    await until(() => out.includes('measure') && delivered > 0, 30_000, 'the measure phase');
    term.stdin.write('\x03');
    const code = await exited;
    assert.equal(code, 130, out);
    assert.ok(out.includes(HIDE_CURSOR), 'the bar hid the cursor');
    assert.ok(out.lastIndexOf(SHOW_CURSOR) > out.lastIndexOf(HIDE_CURSOR), 'the cursor is back');
    assert.match(out, /interrupted +by Ctrl-C during measure: the figures cover what ran/);
    assert.match(out, /delivered +[\d,]+ msg\/s \([\d,]+\)/);
  } finally {
    term.kill('SIGKILL');
  }
});

test('without a terminal, SIGINT gives the partial result as JSON (exit 130)', {
  timeout: 60_000,
}, async () => {
  const before = delivered;
  const child = spawn(process.execPath, [cliEntry(), ...benchArgs(), '--json'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => resolve(code)),
  );
  try {
    // Messages flowing through the broker: the run is past its set-up.
    await until(() => delivered > before + 100, 30_000, 'messages from the bench');
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    const result = JSON.parse(stdout);
    assert.equal(result.interrupted, 'measure');
    assert.ok(result.delivered > 0);
    assert.match(stderr, /Interrupted: printing what was measured/);
  } finally {
    child.kill('SIGKILL');
  }
});
