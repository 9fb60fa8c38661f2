/**
 * Test helper: the steps of test/core/session-resync.test.ts and its Redis twin
 * (test/storage/redis-session-resync.test.ts): a persistent session whose store batches fail
 * on demand, over a core with a fake clock.
 */
import assert from 'node:assert/strict';
import { BrokerCore } from '../../src/core/index.js';
import { RESYNC_DELAY_MS } from '../../src/core/session-resync.js';
import type { BrokerStore } from '../../src/ports/index.js';
import type { Packet } from '../../src/protocol/index.js';
import { capturingLogger } from './capturing-logger.js';
import { FakeClient, flush, publishes } from './core-harness.js';
import type { FakeClock } from './fake-clock.js';

/**
 * A store whose session writes are dropped and whose commits fail while `failing` (a batch
 * the store did not take), or whose writes land and commits fail while `failingCommits` (a
 * `WAIT` answered short).
 */
export interface Flaky {
  failing: boolean;
  failingCommits: boolean;
}

export async function startCore(store: BrokerStore, clock: FakeClock): Promise<BrokerCore> {
  const core = new BrokerCore({ options: {}, clock, store, logger: capturingLogger([]) });
  await core.start();
  return core;
}

/**
 * Waits until `check` holds (a store in another process answers in its own time), at most
 * 2 s; throws if it never does.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await flush();
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`never happened: ${what}`);
}

/** Takes the first `count` packets `client` receives (waiting for them), and no more. */
export async function receive(client: FakeClient, count: number): Promise<Packet[]> {
  await until(() => client.received.length >= count, `${count} packets received`);
  return client.received.splice(0, count);
}

/** Connects a persistent v5 client (session expiry 1 h); CONNACK taken off. */
export async function connect(core: BrokerCore, clientId: string): Promise<FakeClient> {
  const client = new FakeClient(core, 5);
  client.connect({ clientId, clean: false, properties: { sessionExpiryInterval: 3600 } });
  const [connack] = await receive(client, 1);
  assert.equal(connack?.type, 'connack');
  return client;
}

export async function subscribe(client: FakeClient, filter: string, qos: 1 | 2): Promise<void> {
  client.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [{ filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
  });
  const [suback] = await receive(client, 1);
  assert.equal(suback?.type, 'suback');
}

/** Publishes from the host; resolves once the store's commit settled (failed or not). */
export async function publishFromHost(
  core: BrokerCore,
  payload: string,
  qos: 1 | 2,
): Promise<void> {
  await core.publishFromHost({ topic: 'q/a', payload, qos });
  await core.persistence!.commit().catch(() => {});
  await flush();
}

/** Packets as [type, packet id, DUP] (DUP for PUBLISH only). */
export function summary(packets: Packet[]): [string, number | undefined, boolean?][] {
  return packets.map((p) =>
    p.type === 'publish'
      ? [p.type, p.packetId, p.dup]
      : [p.type, 'packetId' in p ? (p.packetId as number) : undefined],
  );
}

/**
 * The store works again; the pause before sessions are written again passes; resolves once
 * `written` holds (a store in another process) and what was written is committed.
 */
export async function storeBack(
  store: Flaky,
  core: BrokerCore,
  clock: FakeClock,
  written: () => boolean | Promise<boolean> = () => true,
): Promise<void> {
  store.failing = false;
  store.failingCommits = false;
  clock.advance(RESYNC_DELAY_MS);
  await flush();
  await until(written, 'the session written again');
  await core.persistence!.commit();
  await flush();
}

/**
 * A subscriber of `q/#` at QoS 2 that received three messages (ids in `ids`), then, while
 * the store failed, completed the first exchange (PUBREC, PUBREL, PUBCOMP) and took the
 * second to PUBREL.
 */
export async function qos2DuringFailure(
  store: Flaky,
  core: BrokerCore,
  mode: 'failing' | 'failingCommits',
): Promise<{ sub: FakeClient; ids: number[] }> {
  const sub = await connect(core, 'sub');
  await subscribe(sub, 'q/#', 2);
  for (const n of ['1', '2', '3']) await publishFromHost(core, n, 2);
  const ids = publishes(await receive(sub, 3)).map((p) => p.packetId!);
  assert.equal(ids.length, 3);
  store[mode] = true;
  sub.send({ type: 'pubrec', packetId: ids[0]! });
  sub.send({ type: 'pubrec', packetId: ids[1]! });
  // A failed commit still sends the PUBREL (inflight.ts whenDurable).
  assert.deepEqual(summary(await receive(sub, 2)), [
    ['pubrel', ids[0]],
    ['pubrel', ids[1]],
  ]);
  sub.send({ type: 'pubcomp', packetId: ids[0]! });
  await flush();
  return { sub, ids };
}
