/**
 * Starting and stopping the brokers under comparison, each as a fresh process on a free
 * loopback port, pinned to one core when `taskset` exists.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The brokers the comparison knows. `pipit-ops` is Pipit with its operations surface on (the
 * HTTP listener, `/metrics` scraped every second during the measured run): compared with
 * `pipit`, it shows what metrics cost the hot path. `pipit-base` is another compiled Pipit
 * (`PIPIT_BASE`, default .tmp/base-dist/cli/main.js: a copy of dist/ from before a change),
 * so a before/after comparison runs side by side in one run. Each runs only when `--only`
 * names it.
 */
export type BrokerName = 'pipit' | 'mosquitto' | 'aedes' | 'pipit-ops' | 'pipit-base';
/** The brokers a run compares by default. */
export const BROKERS: readonly BrokerName[] = ['pipit', 'mosquitto', 'aedes'];
/** Every broker `--only` may name. */
export const ALL_BROKERS: readonly BrokerName[] = [...BROKERS, 'pipit-ops', 'pipit-base'];

/** A running broker. */
export interface BrokerProcess {
  name: BrokerName;
  pid: number;
  host: string;
  port: number;
  /** Where the broker serves Prometheus metrics, if it does (`pipit-ops`). */
  metricsUrl?: string;
  /** Last lines the broker printed (for error messages). */
  output(): string;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

/** A TCP port free on the loopback interface right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

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

/** A mosquitto.conf tuned so the broker's queues never drop what a benchmark sends. */
export function mosquittoConf(port: number): string {
  return [
    `listener ${port} ${HOST}`,
    'allow_anonymous true',
    'persistence false',
    'max_queued_messages 1000000',
    'max_queued_bytes 0',
    'max_inflight_messages 0',
    'max_connections -1',
    // Like Pipit and the bench clients: no Nagle delay on small packets (off by default).
    'set_tcp_nodelay true',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    '',
  ].join('\n');
}

/**
 * Pipit's configuration for `pipit-ops`: the MQTT listener, the HTTP listener (metrics,
 * health checks) and `$SYS` updates every second.
 */
export function pipitOpsConf(port: number, httpPort: number): string {
  // $SYS every second (the plain variant keeps the default, every 10 s), to count its cost too.
  return [
    'sysInterval: 1',
    'listeners:',
    `  - port: ${port}`,
    `    host: ${HOST}`,
    '  - type: http',
    `    port: ${httpPort}`,
    `    host: ${HOST}`,
    '',
  ].join('\n');
}

/**
 * Pipit as users run it (`npm start`, `npx pipit`): the compiled CLI, not the sources under
 * tsx (whose loader and `__name` wrappers cost memory and CPU a user never pays).
 * `ensurePipitBuilt()` builds it first when it is missing or older than the sources.
 */
const PIPIT_MAIN = 'dist/cli/main.js';
/** The baseline build `pipit-base` runs (relative to the checkout, or absolute). */
function pipitBaseMain(): string {
  return process.env.PIPIT_BASE ?? '.tmp/base-dist/cli/main.js';
}

/** Runs `npm run build` when dist/ is missing or stale (scripts/build.mjs --if-stale). */
export function ensurePipitBuilt(cwd: string): void {
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd, stdio: 'inherit' });
}

function commandFor(
  name: BrokerName,
  port: number,
  dir: string,
  httpPort: number,
): [string, string[]] {
  switch (name) {
    case 'pipit-ops': {
      const conf = join(dir, 'pipit.yaml');
      writeFileSync(conf, pipitOpsConf(port, httpPort));
      return [process.execPath, [PIPIT_MAIN, 'broker', '--config', conf, '--memory']];
    }
    case 'pipit':
      return [
        process.execPath,
        [PIPIT_MAIN, 'broker', '--port', String(port), '--host', HOST, '--memory'],
      ];
    case 'pipit-base':
      return [
        process.execPath,
        [pipitBaseMain(), 'broker', '--port', String(port), '--host', HOST, '--memory'],
      ];
    case 'mosquitto': {
      const bin = mosquittoPath();
      if (!bin) throw new Error('mosquitto is not installed');
      const conf = join(dir, 'mosquitto.conf');
      writeFileSync(conf, mosquittoConf(port));
      return [bin, ['-c', conf]];
    }
    case 'aedes':
      return [
        process.execPath,
        ['bench/brokers/aedes-server.mjs', '--port', String(port), '--host', HOST],
      ];
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

function stopChild(child: ChildProcess): Promise<void> {
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
 * Starts `name` on a free loopback port, pinned to `core` when taskset exists, and resolves
 * once it accepts TCP connections.
 */
export async function startBroker(
  name: BrokerName,
  opts: { cwd: string; core?: number; startTimeoutMs?: number },
): Promise<BrokerProcess> {
  const port = await freePort();
  const httpPort = name === 'pipit-ops' ? await freePort() : 0;
  const dir = mkdtempSync(join(tmpdir(), `pipit-bench-${name}-`));
  let [cmd, args] = commandFor(name, port, dir, httpPort);
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
