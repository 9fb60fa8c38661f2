/**
 * The flags of `pub -l` and `sub` for staying connected, with the bridge's reconnect policy
 * (ReconnectingClient): the first delay and its cap (Mosquitto's bridge `restart_timeout`),
 * and further broker addresses to fail over to (`--failover`, repeatable).
 */
import type { Command } from 'commander';
import {
  type ClientOptions,
  RECONNECT_JITTER,
  type ReconnectOptions,
  type ServerAddress,
} from '../client/index.js';
import { parseSecondsFlag, UsageError } from './flag-values.js';

/** The reconnect flags as commander hands them over. */
export interface ReconnectFlags {
  reconnectDelay?: string;
  maxReconnectDelay?: string;
  failover?: string[];
}

/** How to reconnect, from the flags. */
export interface ReconnectPlan {
  reconnect: ReconnectOptions;
  /** The broker of -h/-p/-L first, then the --failover ones; undefined without --failover. */
  servers?: ServerAddress[];
}

const repeatable = (v: string, prev: string[] = []): string[] => [...prev, v];

/** Adds --reconnect-delay, --max-reconnect-delay and --failover. */
export function addReconnectFlags(cmd: Command): Command {
  return cmd
    .option('--reconnect-delay <seconds>', 'first delay before reconnecting (default 1)')
    .option('--max-reconnect-delay <seconds>', 'the delay doubles up to this (default 30)')
    .option(
      '--failover <host[:port]>',
      'another broker to try when the first fails (repeatable; port as -p)',
      repeatable,
    );
}

/** Parses one --failover address: `host`, `host:port` or `[v6]:port`. */
function parseAddress(value: string, defaultPort: number): ServerAddress {
  const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d+))?$/.exec(value);
  if (!m) throw new UsageError(`--failover: "${value}" is not host or host:port`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65535) {
    throw new UsageError(`--failover: port must be 1 to 65535 in "${value}"`);
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/**
 * Resolves the reconnect flags against the resolved connection options.
 * @throws UsageError naming the flag that is wrong.
 */
export function resolveReconnect(f: ReconnectFlags, options: ClientOptions): ReconnectPlan {
  const first =
    f.reconnectDelay === undefined ? 1 : parseSecondsFlag('--reconnect-delay', f.reconnectDelay);
  const cap =
    f.maxReconnectDelay === undefined
      ? Math.max(30, first)
      : parseSecondsFlag('--max-reconnect-delay', f.maxReconnectDelay);
  if (cap < first) {
    throw new UsageError(
      `--max-reconnect-delay (${cap} s) must not be below --reconnect-delay (${first} s)`,
    );
  }
  const reconnect: ReconnectOptions = {
    initialDelayMs: Math.round(first * 1000),
    maxDelayMs: Math.round(cap * 1000),
    jitter: RECONNECT_JITTER,
  };
  const failover = f.failover ?? [];
  if (failover.length === 0) return { reconnect };
  if (options.socketPath !== undefined) {
    throw new UsageError('--failover needs a TCP broker (-h/-p or -L), not --unix');
  }
  const defaultPort = options.port ?? (options.tls ? 8883 : 1883);
  const primary = { host: options.host ?? '127.0.0.1', port: defaultPort };
  return {
    reconnect,
    servers: [primary, ...failover.map((a) => parseAddress(a, defaultPort))],
  };
}
