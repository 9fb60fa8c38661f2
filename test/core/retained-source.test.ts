/**
 * checkRetainSource in the core: the publisher kept with a retained message (in the store
 * too) is what the authorizePublish hooks see when the message is served on subscribe.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokerCore, ClientInfo, Hook } from '../../src/core/index.js';
import { BrokerCore as Core } from '../../src/core/index.js';
import type { StoredMessage } from '../../src/ports/index.js';
import { MemoryStore } from '../../src/storage/index.js';
import { FakeClient, flush, openTestStore, publishes } from '../helpers/core-harness.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** Users alice and bob (password `<name>-pw`); publishing allowed unless `revoked` says no. */
function hooks(revoked: Set<string>, seen: ClientInfo[], async = false): Hook {
  return {
    name: 'test-auth',
    authenticate: ({ client, password }) =>
      password?.toString() === `${client.username}-pw` ? 'allow' : 'deny',
    authorizePublish: (client) => {
      seen.push(client);
      const verdict = revoked.has(client.username ?? '(anonymous)') ? 'deny' : 'allow';
      return async ? Promise.resolve(verdict) : verdict;
    },
  };
}

async function login(core: BrokerCore, username: string): Promise<FakeClient> {
  const client = new FakeClient(core, 5);
  client.connect({ clientId: `${username}-c`, username, password: Buffer.from(`${username}-pw`) });
  await flush();
  assert.equal(client.take()[0]?.type, 'connack');
  return client;
}

async function retain(core: BrokerCore, username: string, topic: string): Promise<void> {
  const client = await login(core, username);
  client.send({
    type: 'publish',
    topic,
    payload: Buffer.from('v'),
    qos: 0,
    retain: true,
    dup: false,
  });
  await flush();
  client.send({ type: 'disconnect', reasonCode: 0 });
}

async function topicsOnSubscribe(core: BrokerCore): Promise<string[]> {
  const bob = await login(core, 'bob');
  bob.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [
      { filter: 'r/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
    ],
  });
  await flush();
  const received = bob.take();
  assert.equal(received[0]?.type, 'suback');
  return publishes(received)
    .map((p) => p.topic)
    .sort();
}

describe('checkRetainSource (core)', () => {
  it('the publisher survives a restart: a right revoked while the broker was down still counts', async () => {
    const store = new MemoryStore();
    const revoked = new Set<string>();
    const seen: ClientInfo[] = [];
    const first = new Core({ clock: new FakeClock(), store });
    first.addHook(hooks(revoked, seen));
    await first.start();
    await retain(first, 'alice', 'r/alice');
    await first.persistence!.commit();
    first.close();
    const stored: StoredMessage[] = [];
    await store.loadRetained(0, (message) => stored.push(message) > 0);
    assert.deepEqual(stored[0]?.publisher, {
      listener: 'test',
      username: 'alice',
    });

    revoked.add('alice');
    const second = new Core({ clock: new FakeClock(), store });
    second.addHook(hooks(revoked, seen));
    await second.start();
    seen.length = 0;
    assert.deepEqual(await topicsOnSubscribe(second), []);
    assert.equal(seen[0].clientId, 'alice-c');
    assert.equal(seen[0].listener, 'test');
    assert.equal(seen[0].usernameVerified, true);
    assert.equal(second.metrics.dropped['retained-source'], 1);
    revoked.clear();
    assert.deepEqual(await topicsOnSubscribe(second), ['r/alice']);
  });

  it('asynchronous hooks: the check is awaited, then the allowed messages are sent', async () => {
    const revoked = new Set(['alice']);
    const core = new Core({ clock: new FakeClock(), store: openTestStore() });
    core.addHook(hooks(revoked, [], true));
    await retain(core, 'alice', 'r/alice');
    await retain(core, 'bob', 'r/bob');
    assert.deepEqual(await topicsOnSubscribe(core), ['r/bob']);
  });

  it('checkRetainSource: false skips the check', async () => {
    const seen: ClientInfo[] = [];
    const core = new Core({
      clock: new FakeClock(),
      options: { checkRetainSource: false },
      store: openTestStore(),
    });
    core.addHook(hooks(new Set(['alice']), seen));
    await retain(core, 'bob', 'r/bob');
    seen.length = 0;
    assert.deepEqual(await topicsOnSubscribe(core), ['r/bob']);
    assert.deepEqual(seen, [], 'no authorizePublish call on subscribe');
  });
});
