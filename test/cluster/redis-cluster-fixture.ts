/**
 * A real 3-master Redis Cluster for tests: three `redis-server --cluster-enabled yes` on free
 * loopback ports, joined with `redis-cli --cluster create ... --cluster-yes` (no replicas).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { waitFor } from '../helpers/broker.js';
import { freePort } from './redis-fixture.js';

/** Starts one cluster-enabled redis-server; resolves once it accepts connections. */
async function startClusterNode(port: number, dir: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir];
  args.push('--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`);
  args.push('--save', '', '--appendonly', 'no');
  const child = spawn('/usr/bin/redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis did not start:\n${output}`)), 20_000);
    child.stdout!.on('data', () => {
      if (!output.includes('Ready to accept connections')) return;
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}):\n${output}`));
    });
  });
  return child;
}

/** Three masters sharing the 16384 slots. */
export class RedisClusterFixture {
  private constructor(
    private readonly children: ChildProcess[],
    readonly ports: number[],
  ) {}

  /** Starts the three servers and creates the cluster; resolves once every node says ok. */
  static async start(): Promise<RedisClusterFixture> {
    const ports = [await freePort(), await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'pipit-redis-cluster-'));
    const children: ChildProcess[] = [];
    const fixture = new RedisClusterFixture(children, ports);
    try {
      for (const port of ports) children.push(await startClusterNode(port, dir));
      const create = spawnSync(
        '/usr/bin/redis-cli',
        ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`)].concat([
          '--cluster-replicas',
          '0',
          '--cluster-yes',
        ]),
        { encoding: 'utf8', timeout: 60_000 },
      );
      if (create.status !== 0) throw new Error(`redis-cli --cluster create:\n${create.stdout}`);
      for (const port of ports) {
        const node = new Redis(port, '127.0.0.1', { protocol: 2 });
        try {
          await waitFor(
            async () => (await node.cluster('INFO')).includes('cluster_state:ok'),
            30_000,
            `cluster_state:ok on ${port}`,
          );
        } finally {
          node.disconnect();
        }
      }
    } catch (err) {
      await fixture.stop();
      throw err;
    }
    return fixture;
  }

  /** The nodes as ioredis `Cluster` and a cluster's `nodes` option take them. */
  get nodes(): { host: string; port: number }[] {
    return this.ports.map((port) => ({ host: '127.0.0.1', port }));
  }

  /** An ioredis Cluster client of these nodes (the caller disconnects it). */
  client(): Cluster {
    return new Cluster(this.nodes, { redisOptions: { protocol: 2 } });
  }

  /** Stops the three servers. */
  async stop(): Promise<void> {
    for (const child of this.children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  }
}
