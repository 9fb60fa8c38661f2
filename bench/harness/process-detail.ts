/**
 * What the cluster benchmark's `--detail` prints per run (bench/cluster.bench.ts): each
 * broker process's user and system CPU and context switches, and the Redis commands the run
 * cost (`INFO commandstats`), all per delivered message. Where a cross-node message's CPU
 * goes: in the kernel or in JavaScript, on which process, and in which Redis command.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { clockTicks } from './proc-stats.js';

/** A process's counters so far (Linux /proc). */
export interface ProcessCounters {
  userMs: number;
  systemMs: number;
  /** Context switches of its main thread: it blocked (epoll), or was preempted. */
  voluntary: number;
  involuntary: number;
}

/** Reads a process's CPU time (all threads) and its main thread's context switches. */
export function readProcessCounters(pid: number): ProcessCounters {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const count = (name: string): number =>
    Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  const ms = 1000 / clockTicks();
  return {
    userMs: Number(fields[11]) * ms,
    systemMs: Number(fields[12]) * ms,
    voluntary: count('voluntary_ctxt_switches'),
    involuntary: count('nonvoluntary_ctxt_switches'),
  };
}

/** Calls and microseconds per Redis command so far, by command name. */
export type CommandStats = Map<string, { calls: number; usec: number }>;

/** Reads `INFO commandstats` of the redis-server on `port` (127.0.0.1). */
export async function readCommandStats(port: number): Promise<CommandStats> {
  const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('commandstats');
    const stats: CommandStats = new Map();
    for (const line of info.split('\n')) {
      const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
      if (m) stats.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
    }
    return stats;
  } finally {
    redis.disconnect();
  }
}

/**
 * `user / system µs, voluntary / involuntary switches` per message for each process, e.g.
 * `redis 4.7u 5.0s 0.20v 0.02i | A ...`.
 */
export function formatProcesses(
  names: readonly string[],
  before: readonly ProcessCounters[],
  after: readonly ProcessCounters[],
  messages: number,
): string {
  return names
    .map((name, i) => {
      const [b, a] = [before[i]!, after[i]!];
      const us = (ms: number) => ((ms * 1000) / messages).toFixed(1);
      const per = (n: number) => (n / messages).toFixed(2);
      return `${name} ${us(a.userMs - b.userMs)}u ${us(a.systemMs - b.systemMs)}s ${per(a.voluntary - b.voluntary)}v ${per(a.involuntary - b.involuntary)}i`;
    })
    .join(' | ');
}

/** The commands of the window, per message: `xread 0.126 (1.47 µs)`, most called first. */
export function formatCommands(
  before: CommandStats,
  after: CommandStats,
  messages: number,
): string {
  const rows: { name: string; calls: number; usec: number }[] = [];
  for (const [name, a] of after) {
    const b = before.get(name) ?? { calls: 0, usec: 0 };
    // The benchmark's own INFO is not the brokers'.
    if (a.calls > b.calls && name !== 'info') {
      rows.push({ name, calls: a.calls - b.calls, usec: a.usec - b.usec });
    }
  }
  rows.sort((x, y) => y.calls - x.calls);
  return rows
    .map(
      (r) => `${r.name} ${(r.calls / messages).toFixed(3)} (${(r.usec / messages).toFixed(2)} µs)`,
    )
    .join(', ');
}

/** The counters of one measured window: read at its start and its end. */
export class WindowDetail {
  private processes: ProcessCounters[][] = [];
  private commands: CommandStats[] = [];

  /** `pids` named by `names`; `redisPort`: the redis-server to read commandstats of. */
  constructor(
    private readonly pids: readonly number[],
    private readonly names: readonly string[],
    private readonly redisPort: number | undefined,
  ) {}

  /** Reads the counters (call at the window's start, then at its end). */
  async read(): Promise<void> {
    this.processes.push(this.pids.map(readProcessCounters));
    if (this.redisPort !== undefined) this.commands.push(await readCommandStats(this.redisPort));
  }

  /** The lines to print, per message of the window. */
  lines(messages: number): string[] {
    const [p0, p1] = this.processes;
    if (p0 === undefined || p1 === undefined || messages === 0) return [];
    const lines = [
      `  CPU per message (user, system µs; context switches: voluntary, involuntary): ${formatProcesses(this.names, p0, p1, messages)}`,
    ];
    const [c0, c1] = this.commands;
    if (c0 !== undefined && c1 !== undefined) {
      lines.push(
        `  Redis commands per message (their µs in Redis): ${formatCommands(c0, c1, messages)}`,
      );
    }
    return lines;
  }
}
