/**
 * Redis behind Sentinel for the cluster tests: a master, one replica and one sentinel
 * (`redis-server --sentinel`, the Debian package's binary), each a real process on a free
 * loopback port, the sentinel monitoring the master as `mymaster` (quorum 1). The master can
 * be killed (SIGKILL) for the sentinel to promote the replica, and started again on its port
 * as the new master's replica.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from '../helpers/broker.js';
import { onFreePort } from '../helpers/ports.js';

/**
 * Starts `redis-server` with `args`; resolves once it logged `ready`. Rejects with its log
 * (which says "Address already in use" if the port was taken: see onFreePort) and kills it.
 */
async function startRedisProcess(args: string[], ready: RegExp): Promise<ChildProcess> {
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
      if (!ready.test(output)) return;
      clearTimeout(timer);
      resolve();
    });
    // 'close', not 'exit': its log is all read then.
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}):\n${output}`));
    });
  });
  return child;
}

/** Starts `redis-server` with `args(port)` on a free port; resolves with the process and port. */
function startOnFreePort(
  args: (port: number) => string[],
  ready: RegExp,
): Promise<{ child: ChildProcess; port: number }> {
  return onFreePort(async (port) => ({ child: await startRedisProcess(args(port), ready), port }));
}

/** How quickly the sentinel fails over, and whether the data servers persist. */
export interface SentinelTiming {
  /** A master not answering this long is down (`down-after-milliseconds`; default 2000). */
  downAfterMs?: number;
  /** `failover-timeout` (default 10000). */
  failoverTimeoutMs?: number;
  /**
   * The data servers with `appendonly yes`, `appendfsync always` (as the crash loop's one
   * server, and as docs/cluster.md asks of production); default: no persistence.
   */
  durable?: boolean;
}

/** The sentinel's configuration: it watches `mymaster` (quorum 1) and fails over quickly. */
function sentinelConfig(port: number, master: number, timing: SentinelTiming): string {
  return [
    `port ${port}`,
    'bind 127.0.0.1',
    `sentinel monitor mymaster 127.0.0.1 ${master} 1`,
    `sentinel down-after-milliseconds mymaster ${timing.downAfterMs ?? 2000}`,
    `sentinel failover-timeout mymaster ${timing.failoverTimeoutMs ?? 10_000}`,
    '',
  ].join('\n');
}

/**
 * A data server's arguments (each in a fresh directory: a replica writes its first sync's RDB
 * there; a killed master started again as a replica starts from its new master's data).
 */
function dataServerArgs(
  port: number,
  durable: boolean,
  replicaOf?: number,
  unpromotable = false,
): string[] {
  const persistence = durable ? ['yes', '--appendfsync', 'always'] : ['no'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly'];
  args.push(...persistence, '--dir', mkdtempSync(join(tmpdir(), 'pipit-sentinel-')));
  if (replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(replicaOf));
  // Priority 0: the sentinel never promotes it (until it is in sync: restartAsReplica).
  if (unpromotable) args.push('--replica-priority', '0');
  return args;
}

const READY = /Ready to accept connections/;

/**
 * A failover the fixture could not carry out as a clean one: no replica streaming from the
 * master before the kill, no promotion, or the killed server not back as an in-sync replica.
 * Redis may then have lost acknowledged keys (a replica behind promoted, or none left to
 * promote next time), so what a run measures after it says nothing about the broker: a soak
 * stops and reports itself invalid instead of a tally.
 */
export class FailoverIncomplete extends Error {
  override readonly name = 'FailoverIncomplete';
}

/** Runs `step`; a failure of it is a {@link FailoverIncomplete} saying `what`. */
async function failoverStep<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof FailoverIncomplete) throw err;
    throw new FailoverIncomplete(`${what}: ${(err as Error).message ?? err}`, { cause: err });
  }
}

/** A master, a replica and a sentinel watching them. */
export class SentinelFixture {
  /** The master name the sentinel knows. */
  readonly name = 'mymaster';
  private client: Redis | undefined;

  /** The data servers (master and replica, whichever is which now) by port. */
  private readonly servers = new Map<number, ChildProcess>();

  private constructor(
    private readonly children: ChildProcess[],
    /** Filled in as {@link start} starts the processes (the roles at start). */
    readonly ports: { master: number; replica: number; sentinel: number },
    private readonly durable: boolean,
  ) {}

  /** A client of the sentinel (made on first use: its port is known once it started). */
  private get sentinelClient(): Redis {
    this.client ??= new Redis(this.ports.sentinel, '127.0.0.1', { protocol: 2 });
    return this.client;
  }

  /** Starts the three processes; resolves once the sentinel knows the replica. */
  static async start(timing: SentinelTiming = {}): Promise<SentinelFixture> {
    const children: ChildProcess[] = [];
    const ports = { master: 0, replica: 0, sentinel: 0 };
    const durable = timing.durable ?? false;
    const fixture = new SentinelFixture(children, ports, durable);
    try {
      const master = await startOnFreePort((p) => dataServerArgs(p, durable), READY);
      children.push(master.child);
      fixture.servers.set(master.port, master.child);
      ports.master = master.port;
      const replica = await startOnFreePort((p) => dataServerArgs(p, durable, master.port), READY);
      children.push(replica.child);
      fixture.servers.set(replica.port, replica.child);
      ports.replica = replica.port;
      // A sentinel rewrites its configuration file: one of its own in a fresh directory.
      const sentinel = await startOnFreePort((p) => {
        const file = join(mkdtempSync(join(tmpdir(), 'pipit-sentinel-')), 'sentinel.conf');
        writeFileSync(file, sentinelConfig(p, master.port, timing));
        return [file, '--sentinel'];
      }, /\+monitor master mymaster/);
      children.push(sentinel.child);
      ports.sentinel = sentinel.port;
      await waitFor(
        async () => (await fixture.replicaPorts()).includes(replica.port),
        30_000,
        'the sentinel to know the replica, in sync',
      );
    } catch (err) {
      await fixture.stop();
      throw err;
    }
    return fixture;
  }

  /** The sentinels as the cluster and store options take them. */
  get sentinels(): { host: string; port: number }[] {
    return [{ host: '127.0.0.1', port: this.ports.sentinel }];
  }

  /** The port of the master the sentinel names now. */
  async masterPort(): Promise<number> {
    const reply = (await this.sentinelClient.call(
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      this.name,
    )) as string[];
    return Number(reply[1]);
  }

  /** A client of the master the sentinel names now. */
  async master(): Promise<Redis> {
    return new Redis(await this.masterPort(), '127.0.0.1', { protocol: 2 });
  }

  /**
   * Forces a failover (SENTINEL FAILOVER); resolves once the sentinel names another master
   * and the old one is its replica.
   */
  async failover(): Promise<void> {
    const before = await this.masterPort();
    await this.sentinelClient.call('SENTINEL', 'FAILOVER', this.name);
    await waitFor(async () => (await this.masterPort()) !== before, 30_000, 'a new master');
    // Until the sentinel has turned the old master into a replica (and closed its clients'
    // connections), a client still on it writes what the new master never gets.
    const old = new Redis(before, '127.0.0.1', { protocol: 2 });
    try {
      await waitFor(
        async () => ((await old.call('ROLE')) as unknown[])[0] === 'slave',
        30_000,
        'the old master to become a replica',
      );
    } finally {
      old.disconnect();
    }
  }

  /**
   * Kills the master the sentinel names now (SIGKILL: what it had not yet sent its replica is
   * gone); resolves with its port once it exited. Only while a replica streams from it (its
   * `ROLE` says `connected`): without one, the promotion would be of a replica missing keys
   * (or none at all), a lost store rather than a failover (throws {@link FailoverIncomplete},
   * nothing killed).
   */
  async killMaster(): Promise<number> {
    const port = await this.masterPort();
    await failoverStep('no replica streaming from the master before its kill', () =>
      waitFor(
        async () => (await this.streamingReplicas(port)) > 0,
        30_000,
        `a replica connected to master ${port}`,
      ),
    );
    const child = this.servers.get(port)!;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    this.servers.delete(port);
    return port;
  }

  /** Resolves once the sentinel names a master other than `old` and that server says it is one. */
  async promoted(old: number): Promise<number> {
    let port = old;
    await failoverStep('no promotion', () =>
      waitFor(
        async () => {
          port = await this.masterPort();
          if (port === old) return false;
          const client = new Redis(port, '127.0.0.1', { protocol: 2, lazyConnect: true });
          try {
            return ((await client.call('ROLE')) as unknown[])[0] === 'master';
          } catch {
            return false;
          } finally {
            client.disconnect();
          }
        },
        30_000,
        'the sentinel to promote the replica',
      ),
    );
    return port;
  }

  /**
   * Starts a data server on `port` again (a killed master's: the sentinel still lists it) as
   * the current master's replica; resolves once the sentinel sees it in sync.
   */
  async restartAsReplica(port: number): Promise<void> {
    // It starts empty and copies the master: promoted before that (the sentinel took the
    // master, stalled by the copy's fork on a loaded machine, for down), it would bring an
    // empty or partial dataset. The failover soak saw it: every node lost its Redis
    // connections ~14 s after a kill, then found its lease gone. So it is unpromotable
    // (replica-priority 0) until the sentinel sees it in sync.
    const child = await failoverStep(`${port} not started again`, async () =>
      startRedisProcess(dataServerArgs(port, this.durable, await this.masterPort(), true), READY),
    );
    this.children.push(child);
    this.servers.set(port, child);
    await failoverStep(`${port} not back as an in-sync replica`, () =>
      waitFor(
        async () => (await this.replicaPorts()).includes(port),
        30_000,
        `the sentinel to see ${port} as an in-sync replica`,
      ),
    );
    const client = new Redis(port, '127.0.0.1', { protocol: 2, lazyConnect: true });
    try {
      await failoverStep(`${port} not made promotable`, () =>
        client.config('SET', 'replica-priority', '100'),
      );
    } finally {
      client.disconnect();
    }
  }

  /** How many data servers other than `master` say they are its replica, connected to it. */
  private async streamingReplicas(master: number): Promise<number> {
    let streaming = 0;
    for (const port of this.servers.keys()) {
      if (port === master) continue;
      const client = new Redis(port, '127.0.0.1', { protocol: 2, lazyConnect: true });
      try {
        // ROLE of a replica: ['slave', host, port, state, offset]; 'connected' once it streams.
        const role = (await client.call('ROLE')) as unknown[];
        if (role[0] === 'slave' && Number(role[2]) === master && role[3] === 'connected') {
          streaming++;
        }
      } catch {
        // Not answering: not a replica to promote.
      } finally {
        client.disconnect();
      }
    }
    return streaming;
  }

  /** Stops the processes. */
  async stop(): Promise<void> {
    this.client?.disconnect();
    for (const child of this.children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** The ports of the replicas the sentinel knows, with a working link to their master. */
  private async replicaPorts(): Promise<number[]> {
    const replicas = (await this.sentinelClient.call(
      'SENTINEL',
      'REPLICAS',
      this.name,
    )) as string[][];
    return replicas
      .map((fields) => {
        const info = new Map<string, string>();
        for (let i = 0; i + 1 < fields.length; i += 2) info.set(fields[i]!, fields[i + 1]!);
        return info;
      })
      .filter((info) => info.get('master-link-status') === 'ok')
      .map((info) => Number(info.get('port')));
  }
}
