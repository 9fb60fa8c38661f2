/**
 * `pipit broker --cluster <url> --nodes auto|N`: one cluster node per core on one machine,
 * all on the same listening ports.
 *
 * Node 20 has no `reusePort` for net servers (it came in Node 22.12 / 23.1, and only on
 * Linux and the BSDs), so this uses `node:cluster` on every runtime: the primary process
 * forks N workers, which share its listening sockets (the primary accepts and hands each
 * connection to the next worker, round-robin). Each worker is a full `pipit broker`
 * cluster node with its own node id, claimed in Redis like any node's; the nodes share
 * subscriptions, sessions and retained messages through Redis as nodes on different
 * machines do. The primary runs no broker: it starts the workers, starts another when one
 * dies (later and later when they die soon after starting: restart-backoff.ts), forwards
 * SIGTERM/SIGINT/SIGHUP to them and exits once all have exited (0 when every one exited 0).
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { MAX_NODE_ID } from '../core/index.js';
import type { Logger } from '../ports/index.js';
import { RestartBackoff } from './restart-backoff.js';

/** The most nodes one `--nodes` may start: one node id each (0-255). */
export const MAX_NODES = MAX_NODE_ID + 1;

/** The message a worker sends the primary once it listens. */
const READY = 'pipit:ready';

/**
 * Parses `--nodes`: `auto` (one per core: `os.availableParallelism()`) or a whole number.
 * @throws Error naming the flag and the value.
 */
export function parseNodesFlag(value: string): number {
  if (value === 'auto') return Math.min(availableParallelism(), MAX_NODES);
  const count = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES) {
    throw new Error(
      `--nodes: "${value}" is not "auto" or a whole number of nodes from 1 to ${MAX_NODES}`,
    );
  }
  return count;
}

/**
 * Why a plan cannot run `--nodes` (undefined when it can): nodes need a cluster to share
 * state, and a fixed node id names one node only.
 */
export function nodesRefusal(
  nodes: number,
  cluster: { nodeId?: number } | undefined,
): string | undefined {
  if (cluster === undefined) {
    return '--nodes needs --cluster <url> (or cluster.url in the configuration file): nodes without a cluster would not share subscriptions, sessions or retained messages';
  }
  if (cluster.nodeId !== undefined && nodes > 1) {
    return `--nodes ${nodes}: cluster.nodeId (${cluster.nodeId}) names one node; remove it so that each node claims a free id`;
  }
  return undefined;
}

/** True in a process `--nodes` forked: it runs one broker node. */
export function isNodeWorker(): boolean {
  return cluster.isWorker;
}

/** A worker tells the primary that it listens (a worker that dies before did not start). */
export function reportNodeReady(): void {
  if (cluster.isWorker) process.send?.(READY);
}

/** What the primary knows of its workers. */
interface SupervisorState {
  stopping: boolean;
  exitCode: number;
  /** When each worker that listened became ready (ms since the epoch), by worker id. */
  readonly ready: Map<number, number>;
  readonly backoff: RestartBackoff;
}

/**
 * Runs the primary: forks `nodes` workers (the same command line; `isNodeWorker()` is true
 * in them) and supervises them until they have all exited, then exits the process.
 */
export function superviseNodes(nodes: number, logger: Logger): void {
  const state: SupervisorState = {
    stopping: false,
    exitCode: 0,
    ready: new Map(),
    backoff: new RestartBackoff(),
  };
  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (message: unknown) => {
      if (message !== READY) return;
      state.ready.set(worker.id, Date.now());
      logger.info({ pid: worker.process.pid, worker: worker.id }, 'nodes: node ready');
    });
    return worker;
  };
  // Starts waiting out a backoff: the primary is not done while one is pending; a stop
  // cancels them.
  const pendingStarts = new Set<NodeJS.Timeout>();
  const exitIfNone = (): void => {
    if (pendingStarts.size === 0 && Object.keys(cluster.workers ?? {}).length === 0) {
      process.exit(state.exitCode);
    }
  };
  const stopAll = (signal: NodeJS.Signals): void => {
    state.stopping = true;
    for (const timer of pendingStarts) clearTimeout(timer);
    pendingStarts.clear();
    exitIfNone();
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  cluster.on('exit', (worker, code, signal) => {
    const fields = { pid: worker.process.pid, worker: worker.id, code, signal };
    const readyAt = state.ready.get(worker.id);
    state.ready.delete(worker.id);
    if (state.stopping) {
      if (code !== 0) state.exitCode = 1;
      logger.info(fields, 'nodes: node exited');
    } else if (readyAt === undefined) {
      // A node that cannot start (Redis unreachable, port taken) would fail again: stop.
      logger.error(fields, 'nodes: a node exited before it listened; stopping the others');
      state.exitCode = 1;
      stopAll('SIGTERM');
    } else {
      // A drained node (POST /api/v1/drain) exits 0: another takes its place (a restart).
      const restartInMs = state.backoff.delayAfter(Date.now() - readyAt);
      const what = code === 0 ? 'a node exited' : 'a node died';
      logger.warn({ ...fields, restartInMs }, `nodes: ${what}; starting another`);
      const timer = setTimeout(() => {
        pendingStarts.delete(timer);
        fork();
      }, restartInMs);
      pendingStarts.add(timer);
    }
    exitIfNone();
  });
  // A terminal's Ctrl+C reaches the workers too (one process group); they stop once.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      logger.info({ signal }, 'nodes: stopping every node');
      stopAll(signal);
    });
  }
  process.on('SIGHUP', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
  });
  logger.info({ nodes, pid: process.pid }, `nodes: starting ${nodes} cluster nodes`);
  for (let i = 0; i < nodes; i++) fork();
}
