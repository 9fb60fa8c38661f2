/**
 * Brokers for the client, bench and CLI tests: a real Mosquitto process on a free port,
 * and Aedes in-process.
 */
import { once } from 'node:events';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import { type BrokerProcess, startBroker } from '../../bench/harness/brokers.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Starts `/usr/sbin/mosquitto` with a generated config on a free loopback port. */
export function startMosquitto(): Promise<BrokerProcess> {
  return startBroker('mosquitto', { cwd: repoRoot, startTimeoutMs: 10_000 });
}

/** An Aedes broker listening on a free loopback port in this process. */
export interface InProcessAedes {
  aedes: Aedes;
  port: number;
  stop(): Promise<void>;
}

/** Starts Aedes in-process; `setup` may install hooks (authenticate, ...) before listening. */
export async function startAedes(setup?: (a: Aedes) => void): Promise<InProcessAedes> {
  const aedes = await Aedes.createBroker();
  setup?.(aedes);
  const server = net.createServer({ noDelay: true }, aedes.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    aedes,
    port,
    stop: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Waits for one event, failing after `ms` (tests never hang). Unlike events.once, an
 * 'error' event does not reject: the client reports errors through 'close' as well.
 */
export function nextEvent<T extends unknown[]>(
  emitter: NodeJS.EventEmitter,
  event: string,
  ms = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no '${event}' event within ${ms} ms`));
    }, ms);
    const listener = (...args: unknown[]): void => {
      clearTimeout(timer);
      resolve(args as T);
    };
    emitter.once(event, listener);
  });
}
