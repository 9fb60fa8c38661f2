/**
 * A cluster node in a child process (run with `node --import tsx`) whose recovery of a dead
 * node stops half-way: the Redis store's `loadSession` of the second client id of
 * `GATE_CLIENTS` (comma-separated) that it reads never resolves. The node adopts the first
 * such session, takes the second one's owner key (before reading it) and stops there, with
 * its heartbeat still running. It prints `listening <port>` once it listens and
 * `gated <client id>` at the gate, so that a test can kill it (SIGKILL) in the middle of
 * that recovery. `REDIS_URL` names the cluster's Redis.
 */
import { createBroker } from '../../src/index.js';
import { type BrokerStore, silentLogger } from '../../src/ports/index.js';
import { RedisStore } from '../../src/storage/redis/redis-store.js';

const url = process.env.REDIS_URL;
if (url === undefined) throw new Error('REDIS_URL is not set');
const gated = new Set((process.env.GATE_CLIENTS ?? '').split(','));
const real = new RedisStore({ url });
let reads = 0;
const store = new Proxy(real, {
  get(target, key) {
    if (key === 'loadSession') {
      return async (clientId: string) => {
        if (gated.has(clientId) && ++reads === 2) {
          process.stdout.write(`gated ${clientId}\n`);
          await new Promise<never>(() => {});
        }
        return target.loadSession(clientId);
      };
    }
    const value = Reflect.get(target, key, target);
    return typeof value === 'function' ? value.bind(target) : value;
  },
}) as BrokerStore;

const broker = createBroker({
  store,
  logger: silentLogger,
  sysInterval: 0,
  cluster: { url, leaseMs: 1000, heartbeatMs: 100 },
});
const address = await broker.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`listening ${address.port} ${broker.cluster!.nodeId}\n`);
