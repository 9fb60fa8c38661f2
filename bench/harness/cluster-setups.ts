/**
 * The setups of the cluster benchmark (bench/cluster.bench.ts): Pipit and Aedes, each as one
 * node and as two nodes over one redis-server, a fresh set of processes per run.
 *
 * - `pipit-1`: one `pipit broker --memory` (the comparison's single node);
 * - `pipit-2`: two `pipit broker --cluster redis://...` nodes (the Redis store, their default);
 * - `pipit-2-base`: `pipit-2` of another build (`--base DIR`: DIR/dist/cli/main.js);
 * - `pipit-2-unix`: the same, with redis-server on a Unix socket only and the nodes on
 *   `--cluster unix://...` (what the socket saves against TCP on the loopback);
 * - `pipit-2-wait`: `pipit-2` with a replica of the redis-server and the nodes on
 *   `cluster.wait: { replicas: 1, timeout: 1 }` (what waiting for a replica costs; the
 *   replica's CPU counts as the broker's too);
 * - `pipit-2-q0`: `pipit-2` with `cluster.qos0Channel: true` (QoS 0 forwards on pub/sub
 *   channels instead of the inbox streams; named in `--only`);
 * - `aedes-1`: one Aedes, in memory (bench/brokers/aedes-server.mjs);
 * - `aedes-2`: two Aedes nodes as Aedes users cluster them: mqemitter-redis between nodes,
 *   aedes-persistence-redis for their state (bench/brokers/aedes-cluster-server.mjs).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopChild, waitForPort } from './brokers.js';
import { type BenchRedis, startBenchRedis, waitForReplicas } from './cluster-redis.js';

const HOST = '127.0.0.1';

/** A setup's name, as `--only` takes it. */
export type SetupName =
  | 'pipit-1'
  | 'pipit-2'
  | 'pipit-2-base'
  | 'pipit-2-unix'
  | 'pipit-2-wait'
  | 'pipit-2-q0'
  | 'aedes-1'
  | 'aedes-2';
/** The setups every run has unless `--only` names others. */
export const SETUPS: readonly SetupName[] = ['pipit-1', 'pipit-2', 'aedes-1', 'aedes-2'];
/** Setups added by a flag (`--base`, `--redis-unix`, `--replica`), also named in `--only`. */
export const EXTRA_SETUPS: readonly SetupName[] = [
  'pipit-2-base',
  'pipit-2-unix',
  'pipit-2-wait',
  'pipit-2-q0',
];

/** Where the processes run from, and the other build of `pipit-2-base`. */
export interface SetupContext {
  /** The repository (the nodes run its dist/ and bench/brokers/). */
  root: string;
  /** `--base DIR`: the build `pipit-2-base` runs (DIR/dist/cli/main.js). */
  baseDir?: string;
}

/** A running setup: its client ports and the pids whose CPU counts as the broker's. */
export interface RunningSetup {
  ports: number[];
  /** The redis-server's TCP port (two nodes over TCP). */
  redisPort?: number;
  pids: number[];
  stop(): Promise<void>;
}

/** Spawns a process that listens on `port`; resolves once it accepts connections. */
async function startListening(
  ctx: SetupContext,
  cmd: string,
  args: string[],
  port: number,
): Promise<ChildProcess> {
  const child = spawn(cmd, args, { cwd: ctx.root, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (b: Buffer): void => {
    tail = (tail + b.toString()).slice(-3000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  try {
    await waitForPort(port, 30_000, () => child.exitCode === null && child.signalCode === null);
  } catch (err) {
    await stopChild(child);
    throw new Error(`${cmd} ${args.join(' ')}: ${(err as Error).message}\n${tail}`);
  }
  return child;
}

/** One node of `setup` on a free port (`redis` for the two-node setups). */
async function startNode(
  ctx: SetupContext,
  setup: SetupName,
  redis: BenchRedis | undefined,
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const node = process.execPath;
  // PIPIT_NODE_FLAGS: node flags for the Pipit nodes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
  const flags = (process.env.PIPIT_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const main =
    setup === 'pipit-2-base' ? join(ctx.baseDir!, 'dist/cli/main.js') : 'dist/cli/main.js';
  const pipit = [...flags, main, 'broker', '--port', String(port), '--host', HOST];
  const args =
    setup === 'pipit-1'
      ? [...pipit, '--memory']
      : setup.startsWith('pipit-2')
        ? [...pipit, ...clusterArgs(setup, redis!), '--sys-interval', '0']
        : setup === 'aedes-1'
          ? ['bench/brokers/aedes-server.mjs', '--port', String(port), '--host', HOST]
          : [
              'bench/brokers/aedes-cluster-server.mjs',
              '--port',
              String(port),
              '--host',
              HOST,
              '--redis-port',
              String(redis!.port),
            ];
  return { child: await startListening(ctx, node, args, port), port };
}

/**
 * How a two-node Pipit setup joins its Redis: `--cluster URL`, or a config file with the same
 * URL and, for `pipit-2-wait`, `wait` for one replica, 1 s at most (docs/cluster.md,
 * "Replicas"), for `pipit-2-q0` `qos0Channel: true` (row "forwarding QoS 0").
 */
function clusterArgs(setup: SetupName, redis: BenchRedis): string[] {
  const extra =
    setup === 'pipit-2-wait'
      ? '  wait: { replicas: 1, timeout: 1 }\n'
      : setup === 'pipit-2-q0'
        ? '  qos0Channel: true\n'
        : undefined;
  if (extra === undefined) return ['--cluster', redis.url];
  const config = join(mkdtempSync(join(tmpdir(), `pipit-bench-${setup}-`)), 'pipit.yaml');
  writeFileSync(config, `cluster:\n  url: ${redis.url}\n${extra}`);
  return ['-c', config];
}

/** Starts `setup`; resolves once every process accepts connections. */
export async function startSetup(ctx: SetupContext, setup: SetupName): Promise<RunningSetup> {
  const children: ChildProcess[] = [];
  let redis: BenchRedis | undefined;
  let replica: BenchRedis | undefined;
  const stop = async (): Promise<void> => {
    for (const child of children.reverse()) await stopChild(child);
    await replica?.stop();
    await redis?.stop();
  };
  try {
    if (setup.endsWith('-1')) {
      const node = await startNode(ctx, setup, undefined);
      children.push(node.child);
      return { ports: [node.port], pids: [node.child.pid!], stop };
    }
    redis = await startBenchRedis(ctx.root, setup === 'pipit-2-unix');
    if (setup === 'pipit-2-wait') {
      replica = await startBenchRedis(ctx.root, false, redis.port);
      await waitForReplicas(redis.port, 1);
    }
    const a = await startNode(ctx, setup, redis);
    children.push(a.child);
    const b = await startNode(ctx, setup, redis);
    children.push(b.child);
    // Let both nodes see each other (Pipit: leases and route tables) before clients come.
    await new Promise((r) => setTimeout(r, 1500));
    return {
      ports: [a.port, b.port],
      redisPort: redis.port || undefined,
      pids: [
        redis.child.pid!,
        ...(replica ? [replica.child.pid!] : []),
        a.child.pid!,
        b.child.pid!,
      ],
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
