/**
 * Test helper: a persistent session whose stored queue holds its own deliveries interleaved
 * with shared ones in the page held in memory (test/core/stored-queue-shared.test.ts and the
 * Redis variant in test/storage), and a restart on the same store.
 */
import assert from 'node:assert/strict';
import { BrokerCore } from '../../src/core/index.js';
import type { BrokerStore } from '../../src/ports/index.js';
import { FakeClient, flush, publishes } from './core-harness.js';
import { FakeClock } from './fake-clock.js';
import { until } from './resync-scenario.js';

/** A core on `store` with a fake clock, started. */
export async function startCore(store: BrokerStore): Promise<BrokerCore> {
  const core = new BrokerCore({ options: {}, clock: new FakeClock(), store });
  await core.start();
  return core;
}

/** Connects a persistent v5 client (session expiry 1 h) with an inflight window of 1. */
export async function connect(core: BrokerCore, clientId: string): Promise<FakeClient> {
  const client = new FakeClient(core, 5);
  client.connect({
    clientId,
    clean: false,
    properties: { sessionExpiryInterval: 3600, receiveMaximum: 1 },
  });
  await flush();
  return client;
}

/** Subscribes `client` to `filters` at QoS 1. */
export async function subscribe(client: FakeClient, filters: string[]): Promise<void> {
  client.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: filters.map((filter) => ({
      filter,
      qos: 1 as const,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0 as const,
    })),
  });
  await flush();
  client.take();
}

/** Publishes at QoS 1 from the host and waits for the commit. */
export async function publishQos1(core: BrokerCore, topic: string, payload: string): Promise<void> {
  await core.publishFromHost({ topic, payload, qos: 1 });
  await core.persistence!.commit();
  await flush();
}

/**
 * Everything `client` receives, acknowledging each, until its session on `core` has nothing
 * queued or inflight (a store in another process answers in its own time: polled).
 */
export async function receiveAll(core: BrokerCore, client: FakeClient): Promise<string[]> {
  const got: string[] = [];
  const take = (): void => {
    const packets = publishes(client.take());
    for (const p of packets) client.send({ type: 'puback', packetId: p.packetId! });
    got.push(...packets.map((p) => p.payload.toString()));
  };
  await until(async () => {
    await flush();
    take();
    const session = core.sessions.get('sub');
    return session !== undefined && session.queuedCount === 0 && session.inflightCount === 0;
  }, "the session's queue drained");
  await flush();
  take();
  return got;
}

/**
 * Starts a core on `store` with a persistent subscriber 'sub' of `t/own/#` and `$share/g/t/s`
 * (and another member 'other' of the group) that acknowledges nothing: its window of 1 is
 * full after the first PUBLISH and the rest queue up in the page held in memory, its own
 * deliveries interleaved with shared ones. Returns the core and its own payloads, in order.
 */
export async function interleavedQueue(
  store: BrokerStore,
): Promise<{ core: BrokerCore; sub: FakeClient; own: string[] }> {
  const core = await startCore(store);
  const sub = await connect(core, 'sub');
  sub.take(); // CONNACK
  await subscribe(sub, ['t/own/#', '$share/g/t/s']);
  const other = await connect(core, 'other');
  other.take(); // CONNACK
  await subscribe(other, ['$share/g/t/s']);
  const own: string[] = [];
  for (let i = 1; i <= 4; i++) {
    await publishQos1(core, 't/own/x', `own ${i}`);
    own.push(`own ${i}`);
    for (let j = 0; j < 4; j++) await publishQos1(core, 't/s', `shared ${i}.${j}`);
  }
  const first = publishes(sub.take()).map((p) => p.payload.toString());
  assert.deepEqual(first, ['own 1'], 'the window of 1 holds the first delivery');
  return { core, sub, own };
}

/** Restarts on `store` (SQLite after kill -9; Redis: another node) and returns what 'sub' gets. */
export async function afterRestart(store: BrokerStore): Promise<string[]> {
  const restarted = await startCore(store);
  const back = await connect(restarted, 'sub');
  const got = await receiveAll(restarted, back);
  restarted.close();
  return got;
}
