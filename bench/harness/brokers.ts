/**
 * Starting and stopping the brokers under comparison, each as a fresh process on a free
 * loopback port, pinned to one core when `taskset` exists.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSecure, type Transport } from '../../src/bench/transport.js';
import { freePort } from '../../test/helpers/ports.js';
import { type BenchCert, makeBenchCert } from './bench-cert.js';
import { aedesArgs, type ListenSpec, mosquittoConf, pipitConf } from './broker-configs.js';

/**
 * The brokers the comparison knows. `pipit-ops` is Pipit with its operations surface on (the
 * HTTP listener, `/metrics` scraped every second during the measured run): compared with
 * `pipit`, it shows what metrics cost the hot path. It runs only when `--only` names it.
 * `pipit-base` is another build of Pipit, for a before/after in one run: the
 * `dist/cli/main.js` that `PIPIT_BASE_MAIN` names (built from the baseline commit, e.g. in a
 * second worktree); it too runs only when `--only` names it.
 *
 * `pipit`, `pipit-ops` and `pipit-base` run with the node flags `npm start` gives the broker
 * (package.json: `--max-semi-space-size=4`), so the broker is measured as it is started.
 * `PIPIT_NODE_FLAGS` and `PIPIT_BASE_NODE_FLAGS` (space-separated; set and empty: no flags)
 * replace them for `pipit`/`pipit-ops` and for `pipit-base`, e.g. to compare V8 heap flags on
 * one build (PIPIT_BASE_MAIN=dist/cli/main.js).
 *
 * `node-relay` is not a broker: bench/brokers/node-relay.mjs answers just enough MQTT for the
 * fan-in scenarios driven by mqtt-load (`latency-fanin-c`) and relays each PUBLISH's bytes
 * with Pipit's read and write path, so its CPU per message is the floor a Node process pays at
 * that rate (issue #17). It runs with `pipit`'s node flags, over TCP only, and only when
 * `--only` names it.
 */
export type BrokerName =
  | 'pipit'
  | 'mosquitto'
  | 'aedes'
  | 'pipit-ops'
  | 'pipit-base'
  | 'node-relay';
/** The brokers a run compares by default. */
export const BROKERS: readonly BrokerName[] = ['pipit', 'mosquitto', 'aedes'];
/** Every broker `--only` may name. */
export const ALL_BROKERS: readonly BrokerName[] = [
  ...BROKERS,
  'pipit-ops',
  'pipit-base',
  'node-relay',
];

/** A running broker. */
export interface BrokerProcess {
  name: BrokerName;
  pid: number;
  host: string;
  port: number;
  /** What `port` speaks. */
  transport: Transport;
  /** tls, wss: the PEM of the broker's self-signed certificate, for the client to trust. */
  ca?: Buffer;
  /** Where the broker serves Prometheus metrics, if it does (`pipit-ops`). */
  metricsUrl?: string;
  /** Last lines the broker printed (for error messages). */
  output(): string;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

/**
 * A TCP port free on the loopback interface, that no other process using this helper picks
 * (the tests run these brokers in parallel): test/helpers/ports.ts says why and how.
 */
export { freePort };

/** The path of a command on PATH, or undefined. */
export function which(cmd: string): string | undefined {
  try {
    return (
      execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/** The mosquitto binary: on PATH, or Debian's /usr/sbin/mosquitto. */
export function mosquittoPath(): string | undefined {
  return (
    which('mosquitto') ?? (existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : undefined)
  );
}

/**
 * Pipit as users run it (`npm start`, `npx pipit`): the compiled CLI, not the sources under
 * tsx (whose loader and `__name` wrappers cost memory and CPU a user never pays).
 * `ensurePipitBuilt()` builds it first when it is missing or older than the sources.
 */
const PIPIT_MAIN = 'dist/cli/main.js';

/**
 * Pipit logs warnings and errors only in the comparison, as Mosquitto is configured there
 * (broker-configs.ts): its default level writes a line per connect and per disconnect.
 */
const QUIET = ['--log-level', 'warn'];
/** Runs `npm run build` when dist/ is missing or stale (scripts/build.mjs --if-stale). */
export function ensurePipitBuilt(cwd: string): void {
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd, stdio: 'inherit' });
}

/** The node flags of package.json's `start` script (`node <flags> dist/cli/main.js broker`). */
function startScriptFlags(): string {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts?: { start?: string } };
  const match = /^node\s+(.*?)\s*dist\/cli\/main\.js\b/.exec(pkg.scripts?.start ?? '');
  return match?.[1] ?? '';
}

/** Node flags from an environment variable (space-separated), else those of `npm start`. */
function nodeFlags(variable: string): string[] {
  return (process.env[variable] ?? startScriptFlags()).split(' ').filter(Boolean);
}

function commandFor(
  name: BrokerName,
  listen: ListenSpec,
  dir: string,
  extra: { httpPort: number; plainPort: number },
): [string, string[]] {
  switch (name) {
    case 'pipit-ops':
    case 'pipit': {
      const http = name === 'pipit-ops' ? extra.httpPort : undefined;
      if (listen.transport === 'tcp' && !http) {
        return [
          process.execPath,
          [
            ...nodeFlags('PIPIT_NODE_FLAGS'),
            PIPIT_MAIN,
            'broker',
            '--port',
            String(listen.port),
            '--host',
            HOST,
            '--memory',
            ...QUIET,
          ],
        ];
      }
      const conf = join(dir, 'pipit.yaml');
      writeFileSync(conf, pipitConf(listen, http));
      return [
        process.execPath,
        [...nodeFlags('PIPIT_NODE_FLAGS'), PIPIT_MAIN, 'broker', '--config', conf, '--memory'],
      ];
    }
    case 'pipit-base': {
      // The baseline build of a before/after run: TCP only, as `pipit` on TCP.
      const main = process.env.PIPIT_BASE_MAIN;
      if (!main)
        throw new Error("pipit-base needs PIPIT_BASE_MAIN: the baseline's dist/cli/main.js");
      if (listen.transport !== 'tcp') throw new Error('pipit-base runs over tcp only');
      return [
        process.execPath,
        [
          ...nodeFlags('PIPIT_BASE_NODE_FLAGS'),
          main,
          'broker',
          '--port',
          String(listen.port),
          '--host',
          HOST,
          '--memory',
          ...QUIET,
        ],
      ];
    }
    case 'node-relay': {
      if (listen.transport !== 'tcp') throw new Error('node-relay runs over tcp only');
      return [
        process.execPath,
        [
          ...nodeFlags('PIPIT_NODE_FLAGS'),
          'bench/brokers/node-relay.mjs',
          '--port',
          String(listen.port),
          '--host',
          HOST,
        ],
      ];
    }
    case 'mosquitto': {
      const bin = mosquittoPath();
      if (!bin) throw new Error('mosquitto is not installed');
      const conf = join(dir, 'mosquitto.conf');
      writeFileSync(conf, mosquittoConf(listen, extra.plainPort));
      return [bin, ['-c', conf]];
    }
    case 'aedes':
      return [process.execPath, aedesArgs(listen)];
  }
}

/** Resolves once a TCP connection to host:port succeeds; rejects after `timeoutMs`. */
export async function waitForPort(
  port: number,
  timeoutMs: number,
  alive: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error('broker exited during start-up');
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: HOST, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`broker not listening on ${port} after ${timeoutMs} ms`);
}

/** Stops `child`: SIGTERM, then SIGKILL after 5 s; resolves once it exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts `name` on a free loopback port with a listener of `transport` (default tcp; tls
 * and wss with a certificate made for this start), pinned to `core` when taskset exists,
 * and resolves once it accepts TCP connections.
 */
export async function startBroker(
  name: BrokerName,
  opts: { cwd: string; core?: number; startTimeoutMs?: number; transport?: Transport },
): Promise<BrokerProcess> {
  const transport = opts.transport ?? 'tcp';
  const port = await freePort();
  const httpPort = name === 'pipit-ops' ? await freePort() : 0;
  const plainPort = name === 'mosquitto' && transport.startsWith('ws') ? await freePort() : 0;
  const dir = mkdtempSync(join(tmpdir(), `pipit-bench-${name}-`));
  let cert: BenchCert | undefined;
  let cmd: string;
  let args: string[];
  try {
    cert = isSecure(transport) ? makeBenchCert(dir) : undefined;
    [cmd, args] = commandFor(name, { host: HOST, port, transport, cert }, dir, {
      httpPort,
      plainPort,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const taskset = opts.core !== undefined ? which('taskset') : undefined;
  if (taskset) [cmd, args] = [taskset, ['-c', String(opts.core), cmd, ...args]];
  // taskset execs the command, so the child's pid is the broker's own.
  const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (b: Buffer): void => {
    tail = (tail + b.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const proc: BrokerProcess = {
    name,
    pid: child.pid ?? -1,
    host: HOST,
    port,
    transport,
    ...(cert ? { ca: cert.certPem } : {}),
    ...(httpPort ? { metricsUrl: `http://${HOST}:${httpPort}/metrics` } : {}),
    output: () => tail,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitForPort(port, opts.startTimeoutMs ?? 20_000, alive);
  } catch (err) {
    await proc.stop();
    throw new Error(`${name}: ${(err as Error).message}\n${tail}`);
  }
  return proc;
}
