/**
 * A replica of a test's redis-server (`redis-server --replicaof`, a real process on a free
 * loopback port), for `WAIT` (`cluster.wait`, `storage.wait`). It can be stopped in place
 * (SIGSTOP: the master keeps its link and gets no acknowledgement) and let go on.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../helpers/broker.js';
import { onFreePort } from '../helpers/ports.js';
import type { RedisFixture } from './redis-fixture.js';

/** A replica of `master`, in sync once {@link start} resolves. */
export class ReplicaFixture {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {}

  /**
   * Starts the replica; resolves once the master counts it online. A port taken after all is
   * tried again with another (test/helpers/ports.ts).
   */
  static start(master: RedisFixture): Promise<ReplicaFixture> {
    return onFreePort((port) => ReplicaFixture.startOn(master, port));
  }

  private static async startOn(master: RedisFixture, port: number): Promise<ReplicaFixture> {
    // A fresh directory: the replica writes the RDB of its first sync to its --dir.
    const dir = mkdtempSync(join(tmpdir(), 'pipit-replica-'));
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir];
    args.push('--appendonly', 'no', '--replicaof', '127.0.0.1', String(master.port));
    const child = spawn('/usr/bin/redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const replica = new ReplicaFixture(child, dir, port);
    const exited = new Promise<never>((_, reject) =>
      // 'close', not 'exit': its log is all read then ("Address already in use").
      child.once('close', (code) => reject(new Error(`redis-server exited (${code}):\n${output}`))),
    );
    exited.catch(() => {});
    try {
      await Promise.race([
        exited,
        waitFor(
          async () => /slave0:.*state=online/.test(await master.redis.info('replication')),
          20_000,
          'the replica to be online at the master',
        ),
      ]);
    } catch (err) {
      await replica.stop();
      throw new Error(`${(err as Error).message}\n${output}`);
    }
    return replica;
  }

  /** Stops the process in place (SIGSTOP): connected, answering nothing. */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  /** Lets it go on (SIGCONT): it reads what the master sent meanwhile and acknowledges it. */
  resume(): void {
    this.child.kill('SIGCONT');
  }

  /** Kills the replica and deletes its directory. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, 'exit');
      this.child.kill('SIGCONT');
      this.child.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
