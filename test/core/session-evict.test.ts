/**
 * Letting go of a session another node holds now (`SessionRegistry.evict`, a takeover across
 * a cluster), and a start on a store shared with other nodes (`BrokerCore.start(heldElsewhere)`):
 * the core with a memory store and a fake clock, no sockets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokerCore } from '../../src/core/index.js';
import { MemoryStore } from '../../src/storage/index.js';
import { FakeClient, flush, publishes, subscribeSettled } from '../helpers/core-harness.js';
import { FakeClock } from '../helpers/fake-clock.js';

async function startCore(store: MemoryStore, clock: FakeClock): Promise<BrokerCore> {
  const core = new BrokerCore({ options: {}, clock, store });
  await core.start();
  return core;
}

/** A persistent v5 client with a will delayed 60 s, subscribed to `ev/#`, then gone. */
async function leaveOfflineSession(core: BrokerCore, clientId: string): Promise<void> {
  const client = new FakeClient(core, 5);
  client.connect({
    clientId,
    clean: false,
    properties: { sessionExpiryInterval: 3600 },
    will: {
      topic: 'will/ev',
      payload: Buffer.from('gone'),
      qos: 0,
      retain: false,
      properties: { willDelayInterval: 60 },
    },
  });
  await flush();
  client.take();
  await subscribeSettled(client, 'ev/#', 1);
  client.connection.transportClosed();
  await core.persistence!.commit();
}

describe('a session let go to another node', () => {
  it('leaves memory and the router, stays in the store, and its delayed will is not sent', async () => {
    const store = new MemoryStore();
    const clock = new FakeClock();
    const core = await startCore(store, clock);
    const watcher = new FakeClient(core, 5);
    watcher.connect({ clientId: 'watcher' });
    await flush();
    watcher.take();
    watcher.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter: 'will/#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    await flush();
    watcher.take();
    await leaveOfflineSession(core, 'ev');

    assert.equal(core.registry.evict('ev'), true);
    assert.equal(core.sessions.has('ev'), false);
    assert.equal(await core.publishFromHost({ topic: 'ev/x', payload: 'p', qos: 1 }), 0);
    const stored = await store.loadSession('ev');
    assert.deepEqual(
      stored?.subscriptions.map((s) => s.filter),
      ['ev/#'],
    );
    clock.advance(61_000);
    await flush();
    assert.deepEqual(publishes(watcher.take()), []);
    assert.equal(core.registry.evict('ev'), false, 'nothing left to let go');
  });

  it('is refused while a connection holds the session', async () => {
    const core = await startCore(new MemoryStore(), new FakeClock());
    const client = new FakeClient(core, 5);
    client.connect({ clientId: 'held', clean: false, properties: { sessionExpiryInterval: 60 } });
    await flush();
    assert.equal(core.registry.evict('held'), false);
    assert.equal(core.sessions.get('held')?.output !== undefined, true);
  });

  it('a core started with heldElsewhere leaves the sessions another node holds in the store', async () => {
    const store = new MemoryStore();
    const clock = new FakeClock();
    const first = await startCore(store, clock);
    await leaveOfflineSession(first, 'mine');
    await leaveOfflineSession(first, 'theirs');
    first.close();
    const second = new BrokerCore({ options: {}, clock, store });
    await second.start((clientId) => clientId === 'theirs');
    assert.equal(second.sessions.has('mine'), true);
    assert.equal(second.sessions.has('theirs'), false);
    assert.notEqual(await store.loadSession('theirs'), undefined);
  });
});
