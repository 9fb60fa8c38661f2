/**
 * How long the `pipit` command takes to do one small thing: `pipit pub` (QoS 0 and 1) to a
 * running Mosquitto, `pipit --version`, and a broker start (until its port accepts TCP, then
 * SIGTERM until the process is gone), with mosquitto_pub and mosquitto as the reference.
 *
 *   node --import tsx bench/cli-startup.bench.ts [--runs 20] [--pipit "node bin/pipit.js"]
 *
 * `--pipit` is the command that runs Pipit's CLI, split on blanks (e.g. the main checkout's
 * `node /work/main/bin/pipit.js` to measure another build). Figures are wall time per run:
 * median, fastest and slowest of `--runs` sequential runs.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, mosquittoPath, startBroker } from './harness/brokers.js';

interface Args {
  runs: number;
  pipit: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { runs: 20, pipit: [process.execPath, 'bin/pipit.js'] };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === '--runs' && value !== undefined) {
      args.runs = Number(value);
      if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error('--runs: an integer >= 1');
      i++;
    } else if (argv[i] === '--pipit' && value !== undefined) {
      args.pipit = value.split(' ').filter(Boolean);
      i++;
    } else throw new Error(`unknown argument "${argv[i]}" (--runs N, --pipit "command")`);
  }
  return args;
}

interface Stats {
  median: number;
  min: number;
  max: number;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted.at(-1)! };
}

/** Runs a command `runs` times and times each run; throws when one fails. */
function timeCommand(cmd: string[], runs: number): Stats {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8' });
    samples.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`${cmd.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  return stats(samples);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Spawns a broker and resolves with ms until its port accepts, and ms from SIGTERM to exit. */
async function timeBrokerStart(cmd: string[], port: number): Promise<[number, number]> {
  const t0 = performance.now();
  const child: ChildProcess = spawn(cmd[0], cmd.slice(1), { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null) throw new Error(`${cmd.join(' ')} exited ${child.exitCode}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${cmd.join(' ')}: port ${port} not open after 30 s`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const up = performance.now() - t0;
  // Let the broker settle before stopping it: mosquitto 2.0.11 can miss a SIGTERM that
  // comes right as it starts listening (it then runs until killed).
  await new Promise((r) => setTimeout(r, 200));
  const t1 = performance.now();
  child.kill('SIGTERM');
  const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(kill);
  if (child.signalCode === 'SIGKILL') throw new Error(`${cmd.join(' ')} ignored SIGTERM`);
  return [up, performance.now() - t1];
}

async function brokerStats(
  build: (port: number, dir: string) => string[],
  runs: number,
): Promise<[Stats, Stats]> {
  const ups: number[] = [];
  const downs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'pipit-startup-'));
    const port = await freePort();
    const [up, down] = await timeBrokerStart(build(port, dir), port);
    ups.push(up);
    downs.push(down);
    rmSync(dir, { recursive: true, force: true });
  }
  return [stats(ups), stats(downs)];
}

const fmt = (s: Stats): string =>
  `${s.median.toFixed(0).padStart(5)} ms  (${s.min.toFixed(0)}-${s.max.toFixed(0)})`;

async function main(): Promise<void> {
  const { runs, pipit } = parseArgs(process.argv.slice(2));
  const mosquitto = mosquittoPath();
  if (!mosquitto) throw new Error('mosquitto is not installed');
  const ref = await startBroker('mosquitto', { cwd: process.cwd() });
  const rows: [string, string][] = [];
  try {
    const p = String(ref.port);
    const pub = ['pub', '-p', p, '-t', 'bench/cli', '-m', 'hello'];
    // Older builds have no --version: say so rather than fail the whole run.
    let version: string;
    try {
      version = fmt(timeCommand([...pipit, '--version'], runs));
    } catch {
      version = 'n/a (this build has no --version)';
    }
    rows.push(['pipit --version', version]);
    rows.push(['pipit pub (QoS 0)', fmt(timeCommand([...pipit, ...pub], runs))]);
    rows.push(['pipit pub -q 1', fmt(timeCommand([...pipit, ...pub, '-q', '1'], runs))]);
    rows.push([
      'mosquitto_pub (QoS 0)',
      fmt(timeCommand(['mosquitto_pub', ...pub.slice(1)], runs)),
    ]);
    rows.push([
      'mosquitto_pub -q 1',
      fmt(timeCommand(['mosquitto_pub', ...pub.slice(1), '-q', '1'], runs)),
    ]);
  } finally {
    await ref.stop();
  }
  const broker = (port: number) => [
    ...pipit,
    'broker',
    '--port',
    String(port),
    '--log-level',
    'warn',
  ];
  const [memUp, memDown] = await brokerStats((port) => [...broker(port), '--memory'], runs);
  const [sqlUp, sqlDown] = await brokerStats(
    (port, dir) => [...broker(port), '--data-dir', dir],
    runs,
  );
  // A config file rather than -p: with -p, mosquitto 2 may listen on ::1 only.
  const [mosUp, mosDown] = await brokerStats((port, dir) => {
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\n`);
    return [mosquitto, '-c', conf];
  }, runs);
  rows.push(['pipit broker --memory: start', fmt(memUp)], ['  SIGTERM to exit', fmt(memDown)]);
  rows.push(['pipit broker (sqlite): start', fmt(sqlUp)], ['  SIGTERM to exit', fmt(sqlDown)]);
  rows.push(['mosquitto: start', fmt(mosUp)], ['  SIGTERM to exit', fmt(mosDown)]);
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(
    `pipit command: ${pipit.join(' ')}; ${runs} runs each; median (fastest-slowest)\n`,
  );
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
}

await main();
