/**
 * `pipit broker --cluster` as a child process, for the cluster tests that need a real CLI
 * node (SIGTERM, kill -9).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cliEntry } from '../helpers/cli-entry.js';
import { onFreePort } from '../helpers/ports.js';

/** A `pipit broker` child process. */
export interface CliNode {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/**
 * Starts `pipit broker --cluster <url>` (no storage flags: the Redis store on the cluster's
 * Redis) on a free port, with `args` after; resolves once it listens. A port taken after all
 * is not the node's failure: it starts again on another (test/helpers/ports.ts).
 */
export function startCliNode(redisUrl: string | undefined, args: string[] = []): Promise<CliNode> {
  return onFreePort((port) => startOnce(port, redisUrl, args));
}

async function startOnce(
  port: number,
  redisUrl: string | undefined,
  args: string[],
): Promise<CliNode> {
  const child = spawn(
    process.execPath,
    [
      cliEntry(),
      'broker',
      '--port',
      String(port),
      // Without a URL the configuration file names the cluster (args: -c file).
      ...(redisUrl === undefined ? [] : ['--cluster', redisUrl]),
      '--sys-interval',
      '0',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node did not start:\n${out}`));
    }, 20_000);
    child.stdout!.on('data', () => {
      if (/"address":"mqtt:\/\/[^\n]*"msg":"listening"/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    // 'close', not 'exit': its output is all read then ("cannot listen: listen EADDRINUSE").
    child.once('close', () => {
      clearTimeout(timer);
      reject(new Error(`node exited:\n${out}`));
    });
  });
  return { child, url: `mqtt://127.0.0.1:${port}`, output: () => out };
}

/** Sends SIGTERM (a cluster node drains) and waits for the exit. */
export async function stopNode(node: CliNode): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  const exited = once(node.child, 'exit');
  node.child.kill('SIGTERM');
  await exited;
}

/** Kills the node (SIGKILL: as if its machine went away) and waits for the exit. */
export async function killNode(node: CliNode): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  const exited = once(node.child, 'exit');
  node.child.kill('SIGKILL');
  await exited;
}

/**
 * Runs `pipit broker <args>` to its exit (for start-up refusals: bad flags, bad URLs);
 * returns its exit status and stderr.
 */
export function runBrokerToExit(args: string[]): { status: number | null; stderr: string } {
  const run = spawnSync(process.execPath, [cliEntry(), 'broker', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, stderr: run.stderr };
}
