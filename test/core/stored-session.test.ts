/**
 * Sessions read from the store: at start (a restored session's queue is numbered on above
 * what the store holds) and one client at a time (`loadStoredSession`, for a session the
 * store holds but the core does not: one another node wrote, in a cluster).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokerCore, type SessionEnvironment, StoredSessionLoader } from '../../src/core/index.js';
import { loadStoredSession } from '../../src/core/restore.js';
import { ReasonCode } from '../../src/protocol/index.js';
import { MemoryStore } from '../../src/storage/index.js';
import { FakeClient, flush, publishes } from '../helpers/core-harness.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** A session environment as BrokerCore builds its own (drops counted in the core's metrics). */
function environmentOf(core: BrokerCore): SessionEnvironment {
  const o = core.options;
  return {
    now: () => core.clock.now(),
    maxQueuedMessages: o.maxQueuedMessages,
    maxQueuedBytes: o.maxQueuedBytes,
    queueQos0Offline: o.queueQos0Offline,
    budget: core.budget.budget,
    dropped: (session, delivery, reason) =>
      core.recordDrop(session.clientId, delivery.message, reason),
    failed: (_session, err) => {
      throw err;
    },
  };
}

async function startCore(store: MemoryStore, clock = new FakeClock()): Promise<BrokerCore> {
  const core = new BrokerCore({ options: {}, clock, store });
  await core.start();
  return core;
}

/** Connects a persistent v5 client (session expiry 1 h); resolves once CONNACK is out. */
async function connect(core: BrokerCore, clientId: string): Promise<FakeClient> {
  const client = new FakeClient(core, 5);
  client.connect({ clientId, clean: false, properties: { sessionExpiryInterval: 3600 } });
  await flush();
  return client;
}

async function publishQos1(core: BrokerCore, topic: string, payload: string): Promise<void> {
  await core.publishFromHost({ topic, payload, qos: 1 });
  await core.persistence!.commit();
}

/** Payloads of the PUBLISH packets received, acknowledging each. */
function receive(client: FakeClient): string[] {
  const got = publishes(client.take());
  for (const p of got) client.send({ type: 'puback', packetId: p.packetId! });
  return got.map((p) => p.payload.toString());
}

/** Stores a session 'big' with 20 subscriptions: more than a 4 KiB memory budget admits. */
async function storeBigSession(store: MemoryStore): Promise<void> {
  store.putSession('big', 3600, undefined);
  for (let i = 0; i < 20; i++) {
    store.putSubscription('big', {
      filter: `f/${i}`,
      qos: 0,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    });
  }
  await store.commit();
}

describe('sessions read from the store', () => {
  it('after a restart, a stored queue takes new entries above the ones it holds, in order', async () => {
    const store = new MemoryStore();
    const first = await startCore(store);
    const sub = await connect(first, 'sub');
    sub.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter: 'q/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    await flush();
    sub.send({ type: 'disconnect', reasonCode: 0 });
    for (const n of ['1', '2', '3']) await publishQos1(first, 'q/a', n);
    first.close();

    const second = await startCore(store);
    assert.equal(second.sessions.get('sub')?.queuedCount, 3);
    // The memory store refuses a seq it holds already: these two would
    // throw if the restored queue numbered its entries from 1 again.
    for (const n of ['4', '5']) await publishQos1(second, 'q/a', n);
    assert.equal(second.sessions.get('sub')?.queuedCount, 5);
    const back = await connect(second, 'sub');
    const got: string[] = [];
    for (let i = 0; i < 5 && got.length < 5; i++) {
      got.push(...receive(back));
      await flush();
    }
    assert.deepEqual(got, ['1', '2', '3', '4', '5']);
  });

  it('loadStoredSession adopts a session written by another: routed, its inflight resent, its queue sent', async () => {
    const store = new MemoryStore();
    const core = await startCore(store);
    assert.equal(core.sessions.has('remote'), false);
    // What another node left in the shared store for 'remote' (with message ids of its own:
    // the inflight message's id moves this core's ids above it, as a restore does).
    store.putSession('remote', 3600, core.clock.now() + 60_000);
    store.setSessionOwner('remote', { username: null });
    store.putSubscription('remote', {
      filter: 'r/#',
      qos: 1,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    });
    store.putMessage({
      id: 9001,
      topic: 'r/inflight',
      payload: Buffer.from('in'),
      qos: 1,
      retain: false,
    });
    store.putMessage({
      id: 9000,
      topic: 'r/queued',
      payload: Buffer.from('q'),
      qos: 1,
      retain: false,
    });
    store.putInflight('remote', {
      packetId: 7,
      state: 'publish',
      delivery: { messageId: 9001, qos: 1, retain: false },
    });
    store.enqueue('remote', 41, { messageId: 9000, qos: 1, retain: false });
    await store.commit();

    const session = await loadStoredSession(core, core.persistence!, environmentOf(core), 'remote');
    assert.ok(session !== undefined);
    assert.equal(core.sessions.get('remote'), session);
    assert.deepEqual(session.owner, { username: null });
    assert.equal(session.queuedCount, 1);
    assert.equal(session.inflightCount, 1);
    // Its subscription is routed: a new message is queued behind the stored one (at seq 42).
    await publishQos1(core, 'r/new', 'new');
    assert.equal(session.queuedCount, 2);
    assert.equal((await store.loadQueue('remote')).state.lastSeq, 42);

    const client = await connect(core, 'remote');
    const connack = client.received.shift();
    assert.ok(connack?.type === 'connack' && connack.sessionPresent, 'the session is present');
    const resent = publishes(client.received)[0];
    assert.equal(resent?.dup, true, 'the inflight PUBLISH is resent with DUP [MQTT-4.4.0-1]');
    assert.equal(resent?.packetId, 7);
    const got: string[] = [];
    for (let i = 0; i < 5 && got.length < 3; i++) {
      got.push(...receive(client));
      await flush();
    }
    assert.deepEqual(got, ['in', 'q', 'new']);
    // Asked again, the session in memory is the answer.
    assert.equal(
      await loadStoredSession(core, core.persistence!, environmentOf(core), 'remote'),
      session,
    );
  });

  it('loadStoredSession: nothing stored, or an expired session (deleted from the store), gives undefined', async () => {
    const clock = new FakeClock();
    const store = new MemoryStore();
    const core = await startCore(store, clock);
    const env = environmentOf(core);
    assert.equal(await loadStoredSession(core, core.persistence!, env, 'nobody'), undefined);
    store.putSession('old', 60, clock.now() - 1);
    store.putSubscription('old', {
      filter: 'o',
      qos: 0,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    });
    await store.commit();
    assert.equal(await loadStoredSession(core, core.persistence!, env, 'old'), undefined);
    assert.equal(core.sessions.has('old'), false);
    await core.persistence!.commit();
    assert.equal(await store.loadSession('old'), undefined, 'the expired session was deleted');
  });

  it('loadStoredSession refuses a session the memory budget has no room for (CONNACK 0x97)', async () => {
    const store = new MemoryStore();
    const core = new BrokerCore({ options: { memoryBudget: 4096 }, clock: new FakeClock(), store });
    await core.start();
    await storeBigSession(store);
    await assert.rejects(
      loadStoredSession(core, core.persistence!, environmentOf(core), 'big'),
      (err: { reasonCode?: number }) => err.reasonCode === ReasonCode.QuotaExceeded,
    );
    assert.equal(core.sessions.has('big'), false);
    assert.notEqual(await store.loadSession('big'), undefined, 'it stays stored');
  });

  it('with a StoredSessionLoader, a client whose session another wrote after start resumes it [MQTT-3.2.2-3]', async () => {
    const store = new MemoryStore();
    const core = await startCore(store);
    core.registry.loadWith(new StoredSessionLoader(core, core.persistence!));
    // Written by another node after this one started: this core has never seen it.
    store.putSession('late', 3600, undefined);
    store.setSessionOwner('late', { username: null });
    store.putSubscription('late', {
      filter: 'l/#',
      qos: 1,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    });
    store.putMessage({
      id: 7000,
      topic: 'l/q',
      payload: Buffer.from('waiting'),
      qos: 1,
      retain: false,
    });
    store.enqueue('late', 1, { messageId: 7000, qos: 1, retain: false });
    await store.commit();

    const client = await connect(core, 'late');
    const connack = client.received.shift();
    assert.ok(connack?.type === 'connack' && connack.sessionPresent, 'Session Present 1');
    assert.deepEqual(receive(client), ['waiting']);
    // Its subscription is routed here now.
    await publishQos1(core, 'l/next', 'next');
    await flush();
    assert.deepEqual(receive(client), ['next']);

    // A client id the store has nothing for gets a new session (Session Present 0).
    const fresh = await connect(core, 'nobody-stored');
    const freshAck = fresh.received.shift();
    assert.ok(freshAck?.type === 'connack' && !freshAck.sessionPresent);
    assert.equal(freshAck.reasonCode, 0);
  });

  it('with a StoredSessionLoader, a session that left memory (moved to another node) and comes back is read again: Session Present 1, its queue [MQTT-3.2.2-3]', async () => {
    const store = new MemoryStore();
    const core = await startCore(store);
    core.registry.loadWith(new StoredSessionLoader(core, core.persistence!));
    store.putSession('returning', 3600, undefined);
    store.setSessionOwner('returning', { username: null });
    store.putSubscription('returning', {
      filter: 'r/#',
      qos: 1,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    });
    await store.commit();
    const first = await connect(core, 'returning');
    const firstAck = first.received.shift();
    assert.ok(firstAck?.type === 'connack' && firstAck.sessionPresent, 'Session Present 1');
    first.send({ type: 'disconnect', reasonCode: 0 });
    await flush();
    // Another node takes the session over: it leaves this one (kept in the store), and a
    // message is queued for it there.
    assert.equal(core.registry.evict('returning'), true);
    await core.persistence!.commit();
    store.putMessage({
      id: 7100,
      topic: 'r/q',
      payload: Buffer.from('meanwhile'),
      qos: 1,
      retain: false,
    });
    store.enqueue('returning', 1, { messageId: 7100, qos: 1, retain: false });
    await store.commit();
    // The client comes back here: the session is read again, not replaced by an empty one.
    const back = await connect(core, 'returning');
    const backAck = back.received.shift();
    assert.ok(backAck?.type === 'connack' && backAck.sessionPresent, 'Session Present 1 again');
    assert.deepEqual(receive(back), ['meanwhile']);
  });

  it('with a StoredSessionLoader, a stored session over the memory budget refuses the client with 0x97, and stays stored', async () => {
    const store = new MemoryStore();
    const core = new BrokerCore({ options: { memoryBudget: 4096 }, clock: new FakeClock(), store });
    await core.start();
    core.registry.loadWith(new StoredSessionLoader(core, core.persistence!));
    await storeBigSession(store);
    const client = await connect(core, 'big');
    const connack = client.received.shift();
    assert.ok(connack?.type === 'connack');
    assert.equal(connack.reasonCode, ReasonCode.QuotaExceeded);
    assert.equal(core.sessions.has('big'), false);
    assert.notEqual(await store.loadSession('big'), undefined, 'it stays stored');
  });
});
