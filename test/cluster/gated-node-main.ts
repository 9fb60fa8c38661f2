/**
 * A cluster node in a child process (run with `node --import tsx`) whose recovery of a dead
 * node stops half-way, at one of two gates:
 * - `GATE_CLIENTS` (comma-separated client ids): the Redis store's `loadSession` of the
 *   second of them that it reads never resolves. The node adopts the first such session,
 *   takes the second one's owner key (before reading it) and stops there;
 * - `GATE_CURSOR` (a store cursor name, the dead node's inbox position): the second time that
 *   cursor is set, the position is dropped and every commit asked from then on never
 *   resolves. The node delivered the dead node's inbox's first page and committed it with
 *   the position, routed the second page (whose writes the store may still flush on its
 *   own, without the position), then stops.
 * - `GATE_RELEASED` (any value): the answers to its session moves' releases are dropped, as if
 *   the old node had died right after it let go: the node keeps its stand-ins parked and
 *   waits, so a test can kill it in the middle of a session move into it.
 * Its heartbeat still runs. It prints `listening <port> <node id>` once it listens and
 * `gated <what>` at the gate, so that a test can kill it (SIGKILL) in the middle of that
 * recovery. `REDIS_URL` names the cluster's Redis; `LEASE_MS` its lease (1000 ms unless set).
 */
import { createBroker } from '../../src/index.js';
import { type BrokerStore, silentLogger } from '../../src/ports/index.js';
import { RedisStore } from '../../src/storage/redis/redis-store.js';

const url = process.env.REDIS_URL;
if (url === undefined) throw new Error('REDIS_URL is not set');
const gated = new Set((process.env.GATE_CLIENTS ?? '').split(','));
const gatedCursor = process.env.GATE_CURSOR;
const real = new RedisStore({ url });
let reads = 0;
let cursorSets = 0;
const never = (what: string) => {
  process.stdout.write(`gated ${what}\n`);
  return new Promise<never>(() => {});
};
const cursors = new Proxy(real.cursors, {
  get(target, key) {
    const value = Reflect.get(target, key, target);
    if (key !== 'set') return typeof value === 'function' ? value.bind(target) : value;
    return (name: string, position: string, committed?: () => void) => {
      if (name === gatedCursor && ++cursorSets >= 2) return;
      target.set(name, position, committed);
    };
  },
});
const store = new Proxy(real, {
  get(target, key) {
    if (key === 'cursors') return cursors;
    if (key === 'commit' && cursorSets >= 2) return () => never(gatedCursor!);
    if (key === 'loadSession') {
      return async (clientId: string) => {
        if (gated.has(clientId) && ++reads === 2) {
          await never(clientId);
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
  cluster: { url, leaseMs: Number(process.env.LEASE_MS ?? 1000), heartbeatMs: 100 },
});
if (process.env.GATE_RELEASED !== undefined) {
  // The node's handler of its control channel (ClusterNode -> ClientOwnership.onControl).
  const cluster = broker.cluster as unknown as {
    parts: { ownership: { onControl(t: string): void } };
  };
  const ownership = cluster.parts.ownership;
  const onControl = ownership.onControl.bind(ownership);
  const isReleased = (text: string): boolean => {
    try {
      return (JSON.parse(text) as { t?: unknown }).t === 'released';
    } catch {
      return false; // not JSON: the node counts it as malformed
    }
  };
  ownership.onControl = (text: string) => {
    if (isReleased(text)) process.stdout.write('gated released\n');
    else onControl(text);
  };
}
const address = await broker.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`listening ${address.port} ${broker.cluster!.nodeId}\n`);
