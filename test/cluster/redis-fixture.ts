/**
 * A real `redis-server` (/usr/bin/redis-server) for the cluster tests, on a free loopback
 * port, without persistence by default (a restart starts empty, the harshest case for
 * resync), or durable (`appendonly yes`, `appendfsync always`, as docs/cluster.md asks of
 * production). It can be stopped and started again on the same port to test Redis going away.
 * With `unixSocket`, it listens on a Unix socket in a fresh temporary directory instead of TCP
 * (`--port 0`, docs/cluster.md "Redis over a Unix socket"), and its URL is `unix://<path>`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { onFreePort } from '../helpers/ports.js';

export { freePort } from '../helpers/ports.js';

/** A running redis-server and a client to look into it. */
export class RedisFixture {
  private child: ChildProcess | undefined;
  private client: Redis | undefined;

  /** The Unix socket's path (with `unixSocket`), else undefined. */
  readonly socketPath: string | undefined;

  private constructor(
    /** The TCP port (0 with `unixSocket`: no TCP listener). */
    readonly port: number,
    private readonly durable: boolean,
    unixSocket: boolean,
  ) {
    this.socketPath = unixSocket ? join(this.dataDir(), 'redis.sock') : undefined;
  }

  /**
   * Starts redis-server on a free port; resolves once it is ready. `durable`: append-only
   * file fsynced on every write, in a fresh temporary directory. `unixSocket`: on a Unix
   * socket in a fresh temporary directory, without TCP.
   */
  static async start(
    options: { durable?: boolean; unixSocket?: boolean } = {},
  ): Promise<RedisFixture> {
    const durable = options.durable ?? false;
    if (options.unixSocket) {
      const fixture = new RedisFixture(0, durable, true);
      await fixture.startServer();
      return fixture;
    }
    // A port taken after all is tried again with another (test/helpers/ports.ts).
    return onFreePort(async (port) => {
      const fixture = new RedisFixture(port, durable, false);
      try {
        await fixture.startServer();
      } catch (err) {
        await fixture.stop();
        throw err;
      }
      return fixture;
    });
  }

  /** The URL nodes take as `cluster.url`. */
  get url(): string {
    if (this.socketPath !== undefined) return `unix://${this.socketPath}`;
    return `redis://127.0.0.1:${this.port}`;
  }

  /** A client of this server, for assertions (one, reused). */
  get redis(): Redis {
    this.client ??=
      this.socketPath === undefined
        ? new Redis(this.port, '127.0.0.1', { protocol: 2, lazyConnect: false })
        : new Redis({ path: this.socketPath, protocol: 2, lazyConnect: false });
    return this.client;
  }

  /** Calls of one command since start (INFO commandstats), e.g. `xadd`. */
  async commandCalls(command: string): Promise<number> {
    const info = await this.redis.info('commandstats');
    const line = info.split('\n').find((l) => l.startsWith(`cmdstat_${command}:`));
    const calls = line?.match(/calls=(\d+)/)?.[1];
    return calls === undefined ? 0 : Number(calls);
  }

  /** Kills the server (SIGKILL: as if its machine went away). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  /** Starts the server again on the same port or socket (empty unless durable). */
  async restart(): Promise<void> {
    await this.kill();
    await this.startServer();
  }

  /** Stops the server and the assertion client (a durable server's files, a socket's directory, are deleted). */
  async stop(): Promise<void> {
    this.client?.disconnect();
    this.client = undefined;
    await this.kill();
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
  }

  private dir: string | undefined;

  /** The durable server's directory (kept across restarts: the AOF is what survives). */
  private dataDir(): string {
    this.dir ??= mkdtempSync(join(tmpdir(), 'pipit-redis-'));
    return this.dir;
  }

  private async startServer(): Promise<void> {
    const persistence = this.durable
      ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dataDir()]
      : ['--appendonly', 'no'];
    const listen =
      this.socketPath === undefined
        ? ['--port', String(this.port), '--bind', '127.0.0.1']
        : ['--port', '0', '--unixsocket', this.socketPath, '--unixsocketperm', '700'];
    const child = spawn('/usr/bin/redis-server', [...listen, '--save', '', ...persistence], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-server did not start:\n${output}`)),
        10_000,
      );
      const check = (): void => {
        // TCP: "Ready to accept connections"; a Unix socket only: "... ready to accept
        // connections at <path>" (Redis 7.0).
        if (/ready to accept connections/i.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', check);
      // 'close', not 'exit': its log is all read then ("Address already in use").
      child.once('close', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}):\n${output}`));
      });
    });
  }
}
