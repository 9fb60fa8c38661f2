/**
 * A real 3-master Redis Cluster for tests: three `redis-server --cluster-enabled yes` on free
 * loopback ports, joined with `redis-cli --cluster create ... --cluster-yes` (no replicas; or
 * one replica per master, for failover, with `replicas: 1`).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { type BrokerOptions, createBroker } from '../../src/index.js';
import type { Logger } from '../../src/ports/index.js';
import { waitFor } from '../helpers/broker.js';
import { onFreePort } from '../helpers/ports.js';
import { TEST_LEASE, type TestNode } from './cluster-nodes.js';

/** How a test wants the Redis Cluster. */
export interface RedisClusterSetup {
  /** Replicas per master (default 0). */
  replicas?: 0 | 1;
  /**
   * `cluster-require-full-coverage` (default true): false keeps the slots of the live masters
   * served while another master is down, with no replica to replace it.
   */
  fullCoverage?: boolean;
}

/** Starts one cluster-enabled redis-server; resolves once it accepts connections. */
async function startClusterNode(
  port: number,
  dir: string,
  fullCoverage: boolean,
): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir];
  if (!fullCoverage) args.push('--cluster-require-full-coverage', 'no');
  args.push('--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`);
  // A master that stops answering for 2 s fails over to its replica (default 15 s).
  args.push('--cluster-node-timeout', '2000');
  // A replica syncs at once (the default waits 5 s for more replicas to share the transfer).
  args.push('--repl-diskless-sync-delay', '0');
  args.push('--save', '', '--appendonly', 'no');
  const child = spawn('/usr/bin/redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis did not start:\n${output}`));
    }, 20_000);
    child.stdout!.on('data', () => {
      if (!output.includes('Ready to accept connections')) return;
      clearTimeout(timer);
      resolve();
    });
    // 'close', not 'exit': its log is all read then ("Address already in use").
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}):\n${output}`));
    });
  });
  return child;
}

/** Three masters sharing the 16384 slots. */
export class RedisClusterFixture {
  /** Servers stopped with {@link pause} (they answer nothing). */
  private readonly paused = new Set<number>();

  private constructor(
    private readonly children: ChildProcess[],
    readonly ports: number[],
  ) {}

  /**
   * Starts three masters (and `replicas` replicas of each) and creates the cluster; resolves
   * once every node says ok.
   */
  static async start(setup: RedisClusterSetup = {}): Promise<RedisClusterFixture> {
    const { replicas = 0, fullCoverage = true } = setup;
    const dir = mkdtempSync(join(tmpdir(), 'pipit-redis-cluster-'));
    const children: ChildProcess[] = [];
    const ports: number[] = [];
    const fixture = new RedisClusterFixture(children, ports);
    try {
      // Each on a port whose bus port (port + 10000) is free too; a port taken after all is
      // tried again with another (test/helpers/ports.ts).
      for (let i = 0; i < 3 * (1 + replicas); i++) {
        await onFreePort(
          async (port) => {
            children.push(await startClusterNode(port, dir, fullCoverage));
            ports.push(port);
          },
          { bus: true },
        );
      }
      const create = spawnSync(
        '/usr/bin/redis-cli',
        ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`)].concat([
          '--cluster-replicas',
          String(replicas),
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

  /**
   * Stops (SIGSTOP) the server on `port`: its connections stay open but it answers nothing
   * and gets no message, as a machine that hangs (kill it afterwards).
   */
  pause(port: number): void {
    this.children[this.ports.indexOf(port)]?.kill('SIGSTOP');
    this.paused.add(port);
  }

  /** Lets a server stopped with {@link pause} go on (SIGCONT). */
  resume(port: number): void {
    if (!this.paused.delete(port)) return;
    this.children[this.ports.indexOf(port)]?.kill('SIGCONT');
  }

  /**
   * The clients named `name` on every live server (CLIENT LIST): each with the port of the
   * server it is connected to and its own address (`addr`).
   */
  async clientsNamed(name: string): Promise<{ port: number; addr: string }[]> {
    const found: { port: number; addr: string }[] = [];
    for (const port of this.ports) {
      if (!this.isLive(port)) continue;
      const server = this.server(port);
      try {
        const list = (await server.call('CLIENT', 'LIST')) as string;
        for (const line of list.split('\n')) {
          const fields = new Map(line.split(' ').map((f) => f.split('=', 2) as [string, string]));
          if (fields.get('name') === name) found.push({ port, addr: fields.get('addr')! });
        }
      } finally {
        server.disconnect();
      }
    }
    return found;
  }

  /** A connection to the server on `port` alone (the caller disconnects it). */
  server(port: number): Redis {
    return new Redis(port, '127.0.0.1', { protocol: 2 });
  }

  /** The master serving the slot of hash tag `tag` and its replicas (ports), as `CLUSTER SLOTS` tells. */
  async slotServers(tag: string): Promise<{ master: number; replicas: number[] }> {
    const live = this.ports.find((port) => this.isLive(port));
    if (live === undefined) throw new Error('no Redis Cluster server is running');
    const server = this.server(live);
    try {
      const slot = Number(await server.call('CLUSTER', 'KEYSLOT', tag));
      const ranges = (await server.call('CLUSTER', 'SLOTS')) as [
        number,
        number,
        ...[string, number][],
      ][];
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (range === undefined) throw new Error(`slot ${slot} of {${tag}} is not served`);
      const [, , master, ...replicas] = range;
      return { master: Number(master[1]), replicas: replicas.map((r) => Number(r[1])) };
    } finally {
      server.disconnect();
    }
  }

  /** Closes the connection from `addr` on the server on `port` (CLIENT KILL ADDR). */
  async killClient(port: number, addr: string): Promise<void> {
    const server = this.server(port);
    try {
      await server.call('CLIENT', 'KILL', 'ADDR', addr);
    } finally {
      server.disconnect();
    }
  }

  /** True while the server on `port` runs and is not paused. */
  private isLive(port: number): boolean {
    const child = this.children[this.ports.indexOf(port)];
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return false;
    return !this.paused.has(port);
  }

  /** Kills (SIGKILL) the server on `port`, as if its machine went away. */
  async kill(port: number): Promise<void> {
    const child = this.children[this.ports.indexOf(port)];
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops the servers. */
  async stop(): Promise<void> {
    for (const child of this.children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  }
}

/**
 * Leases that outlast a failover or a pause of Redis Cluster servers (about 2-4 s with
 * `cluster-node-timeout` 2 s): shorter ones and the nodes count each other gone meanwhile.
 */
export const FAILOVER_LEASE = { leaseMs: 15_000, heartbeatMs: 500 } as const;

/** The name ioredis gives a Pipit node's pub/sub connection on a Redis Cluster. */
export const PUBSUB_CONNECTION = 'ioredis-cluster(subscriber):pipit-subscriber';

/**
 * Places the pub/sub connection of the Pipit node started last (the one connection named
 * {@link PUBSUB_CONNECTION} whose address is not in `others`: the other nodes') on a server
 * whose port `wanted` accepts: ioredis picks its node at random, so it is closed (CLIENT
 * KILL) until the new one it opens lands there. Returns its server's port and its address.
 */
export async function placePubSub(
  fixture: RedisClusterFixture,
  others: readonly string[],
  wanted: (port: number) => boolean,
): Promise<{ port: number; addr: string }> {
  const skip = [...others];
  for (;;) {
    let own: { port: number; addr: string }[] = [];
    await waitFor(
      async () => {
        own = (await fixture.clientsNamed(PUBSUB_CONNECTION)).filter((c) => !skip.includes(c.addr));
        return own.length === 1;
      },
      30_000,
      'one new pub/sub connection of the node',
    );
    const connection = own[0]!;
    if (wanted(connection.port)) return connection;
    await fixture.killClient(connection.port, connection.addr);
    skip.push(connection.addr);
  }
}

/**
 * A Pipit node in this process on `fixture`, with the store a cluster gets by default (the
 * Redis store on the same Redis Cluster, prefix `{pipit}:`); `cluster` overrides the test
 * lease ({@link TEST_LEASE}) and the rest.
 */
export async function startNodeOn(
  fixture: RedisClusterFixture,
  cluster: Partial<NonNullable<BrokerOptions['cluster']>> = {},
  logger?: Logger,
): Promise<TestNode> {
  const broker = createBroker({
    logger,
    cluster: { url: 'redis://', nodes: fixture.nodes, ...TEST_LEASE, ...cluster },
  });
  const address = await broker.listen({ port: 0, host: '127.0.0.1' });
  return {
    broker,
    port: address.port,
    url: `mqtt://127.0.0.1:${address.port}`,
    close: () => broker.close(),
    nodeId: broker.cluster!.nodeId,
  };
}
