/**
 * Where and when a reconnecting client connects next: the server list it fails over along
 * (try the next address after a failed attempt, start from the first after a loss, and go
 * back to the first once it is reachable again, as Mosquitto's bridge does with
 * `round_robin false`), and the jittered exponential backoff between attempts.
 */
import net from 'node:net';

/** One server address. */
export interface ServerAddress {
  host: string;
  port: number;
}

/** How the delay between attempts grows. */
export interface BackoffPolicy {
  /** Delay before the first attempt after a loss, in ms. */
  initialDelayMs: number;
  /** The delay doubles per failed attempt up to this, in ms. */
  maxDelayMs: number;
  /**
   * Fraction of each delay that is random, 0-1: the delay is `d * (1 - jitter * r)` for a
   * random r in [0, 1), so that many clients cut off together do not come back together.
   */
  jitter: number;
  /** A random number in [0, 1) (Math.random; a test passes its own). */
  random: () => number;
}

/**
 * The random share of each delay used by Pipit's bridges and by `pipit pub -l` / `pipit sub`:
 * half, so that clients cut off together spread their returns over half the delay.
 */
export const RECONNECT_JITTER = 0.5;

/** The delay before attempt `attempt` (1 is the first after a loss). */
export function backoffDelay(policy: BackoffPolicy, attempt: number): number {
  const exponential = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
  return Math.round(exponential * (1 - policy.jitter * policy.random()));
}

/** The failover position in a list of servers. */
export class ServerList {
  private index = 0;

  constructor(readonly servers: readonly ServerAddress[]) {
    if (servers.length === 0) throw new Error('a server list needs at least one address');
  }

  /** The address the next attempt goes to. */
  get current(): ServerAddress {
    return this.servers[this.index]!;
  }

  /** True while the current address is not the first (the preferred one). */
  get onFallback(): boolean {
    return this.index !== 0;
  }

  /** An attempt failed: the next one goes to the next address (after the last, the first). */
  failed(): void {
    this.index = (this.index + 1) % this.servers.length;
  }

  /** Start again from the first address. */
  rewind(): void {
    this.index = 0;
  }
}

/**
 * Resolves true when a TCP connection to `address` opens within `timeoutMs` (then closed at
 * once: only a probe that the preferred server is back, no MQTT session is touched).
 */
export function probe(address: ServerAddress, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address.host, port: address.port });
    const done = (up: boolean): void => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
