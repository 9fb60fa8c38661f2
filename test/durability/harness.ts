/**
 * Crash-test harness: the real `pipit broker` in a child process on a fresh data directory
 * and a free loopback port, started, killed with SIGKILL and started again on the same data.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliEntry } from '../helpers/cli-entry.js';

/** Repository root (the CLI entry point is resolved from it, whatever the cwd). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A free loopback port: test/helpers/ports.ts (why a test does not just listen on port 0). */
export { freePort } from '../helpers/ports.js';

/** A fresh temporary directory. */
export function tempDir(prefix = 'pipit-crash-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Writes `pipit.yaml` in `dir` with the given storage durability and a queue limit (messages
 * per session; the default 10000 would drop by policy what a long loop queues) and returns
 * its path.
 */
export function writeConfig(
  dir: string,
  durability: 'fsync' | 'batched' | 'none' = 'fsync',
  maxQueuedMessages = 10_000,
): string {
  const file = join(dir, 'pipit.yaml');
  writeFileSync(
    file,
    `storage:\n  durability: ${durability}\nlimits:\n  maxQueuedMessages: ${maxQueuedMessages}\n`,
  );
  return file;
}

/** How a broker process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Every broker process spawned and not yet exited (killed when this process exits). */
const live = new Set<ChildProcess>();
function killLive(): void {
  for (const child of live) child.kill('SIGKILL');
}
process.once('exit', killLive);
// A test runner ends a file that ran out of time with a signal: 'exit' does not run then.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    killLive();
    process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
  });
}

/** One run of `pipit broker`. */
export class BrokerProcess {
  private out = '';
  readonly exited: Promise<Exit>;

  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d) => (this.out += d));
    child.stderr!.on('data', (d) => (this.out += d));
    live.add(child);
    this.exited = once(child, 'exit').then(([code, signal]) => {
      live.delete(child);
      return { code, signal };
    });
  }

  /** Everything the process printed so far (stdout and stderr). */
  get output(): string {
    return this.out;
  }

  /** Spawns the broker (not waiting for it to listen). */
  static spawn(args: string[]): BrokerProcess {
    const child = spawn(process.execPath, [cliEntry(), 'broker', ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PIPIT_LOG_LEVEL: 'info' },
    });
    return new BrokerProcess(child);
  }

  /** Spawns the broker on `port` with its store in `dataDir` and waits until it listens. */
  static async start(
    port: number,
    dataDir: string,
    extra: string[] = [],
    timeoutMs = 20_000,
  ): Promise<BrokerProcess> {
    const proc = BrokerProcess.spawn([
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      ...extra,
    ]);
    try {
      await proc.waitForOutput('"msg":"listening"', timeoutMs);
    } catch (err) {
      await proc.kill();
      throw err;
    }
    return proc;
  }

  /** Resolves once the output contains `text`; rejects on exit or after `timeoutMs`. */
  waitForOutput(text: string, timeoutMs = 20_000): Promise<void> {
    return new Promise<void>((resolvePromise, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer);
        this.child.stdout!.off('data', check);
        this.child.off('exit', onExit);
        if (err) reject(err);
        else resolvePromise();
      };
      const check = (): void => {
        if (this.out.includes(text)) done();
      };
      const onExit = (): void =>
        done(new Error(`broker exited before "${text}":\n${this.out.slice(-4000)}`));
      const timer = setTimeout(
        () => done(new Error(`no "${text}" within ${timeoutMs} ms:\n${this.out.slice(-4000)}`)),
        timeoutMs,
      );
      this.child.stdout!.on('data', check);
      this.child.once('exit', onExit);
      check();
    });
  }

  /** kill -9, and wait until the process is gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }

  /** SIGTERM (a clean shutdown), bounded; SIGKILL if it does not exit in time. */
  async stop(timeoutMs = 10_000): Promise<Exit> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `condition` until it holds; throws `message` after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean,
  timeoutMs: number,
  message: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${message()}`);
    await sleep(10);
  }
}

/** A small seeded PRNG (mulberry32) so a failing run can be replayed from its seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
