/**
 * A real `redis-server` (/usr/bin/redis-server) for the cluster tests, on a free loopback
 * port, without persistence by default (a restart starts empty, the harshest case for
 * resync), or durable (`appendonly yes`, `appendfsync always`, as docs/cluster.md asks of
 * production). It can be stopped and started again on the same port to test Redis going away.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A free loopback port (the OS picks it; released right away). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A running redis-server and a client to look into it. */
export class RedisFixture {
  private child: ChildProcess | undefined;
  private client: Redis | undefined;

  private constructor(
    readonly port: number,
    private readonly durable: boolean,
  ) {}

  /**
   * Starts redis-server on a free port; resolves once it is ready. `durable`: append-only
   * file fsynced on every write, in a fresh temporary directory.
   */
  static async start(options: { durable?: boolean } = {}): Promise<RedisFixture> {
    const fixture = new RedisFixture(await freePort(), options.durable ?? false);
    await fixture.startServer();
    return fixture;
  }

  /** The URL nodes take as `cluster.url`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** A client of this server, for assertions (one, reused). */
  get redis(): Redis {
    this.client ??= new Redis(this.port, '127.0.0.1', { protocol: 2, lazyConnect: false });
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

  /** Starts the server again on the same port (empty unless durable). */
  async restart(): Promise<void> {
    await this.kill();
    await this.startServer();
  }

  /** Stops the server and the assertion client (a durable server's files are deleted). */
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
    const child = spawn(
      '/usr/bin/redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
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
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}):\n${output}`));
      });
    });
  }
}
