/**
 * The memory budget's accounting on a fake clock: each category (sessions, subscriptions,
 * queued deliveries, retained messages) is charged when something is added and released
 * exactly when it goes, and the limits refuse with the right answers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokerCore } from '../../src/core/index.js';
import { COSTS, DURABLE_SHARE, MemoryBudget } from '../../src/core/memory-budget.js';
import type { ProtocolVersion } from '../../src/protocol/index.js';
import {
  connectV5,
  createTestCore,
  FakeClient,
  flush,
  publish,
  publishes,
  subscribe,
  subscribeSettled,
} from '../helpers/core-harness.js';

const session = (id: string): number => MemoryBudget.sessionCost(id);
const subscription = (filter: string): number => MemoryBudget.subscriptionCost(filter);

/** A client connected with CONNACK 0x00 taken off; v5 with `expiry`, v3 with Clean Session = !persistent. */
function connect(
  core: BrokerCore,
  version: ProtocolVersion,
  clientId: string,
  persistent: boolean,
): FakeClient {
  const client = new FakeClient(core, version);
  client.connect({
    clientId,
    clean: !persistent,
    ...(version === 5 && persistent ? { properties: { sessionExpiryInterval: 3600 } } : {}),
  });
  const connack = client.received.shift();
  assert.ok(
    connack?.type === 'connack' && connack.reasonCode === 0,
    `CONNACK 0x00 for ${clientId}`,
  );
  return client;
}

function usage(core: BrokerCore) {
  return core.metrics.memory;
}

/** The sum of the categories is what is used. */
function assertConsistent(core: BrokerCore): void {
  const u = usage(core);
  assert.equal(
    u.usedBytes,
    u.retainedBytes + u.sessionBytes + u.subscriptionBytes + u.queuedBytes,
    'usedBytes is the sum of the categories',
  );
}

describe('memory budget: accounting', () => {
  it('sessions: charged with their client id; released when a clean session ends, when a session expires, and on clean start', async () => {
    const { core, clock, admin } = createTestCore();
    const clean = connect(core, 4, 'clean-one', false);
    assert.equal(usage(core).sessionBytes, session('clean-one'));
    clean.send({ type: 'disconnect' });
    assert.equal(usage(core).sessionBytes, 0, 'a clean session ends with its connection');

    const durable = connect(core, 5, 'durable-one', true);
    durable.send({ type: 'disconnect' });
    assert.equal(usage(core).sessionBytes, session('durable-one'), 'kept while offline');
    const again = new FakeClient(core, 5);
    again.connect({
      clientId: 'durable-one',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    assert.equal(
      usage(core).sessionBytes,
      session('durable-one'),
      'a resumed session costs nothing new',
    );
    again.send({ type: 'disconnect' });
    clock.advance(60_000);
    assert.equal((await admin.counters()).sessions, 0, '[MQTT-3.1.2-23] expired');
    assert.equal(usage(core).sessionBytes, 0, 'released at expiry');

    connect(core, 5, 'restarted', true).send({ type: 'disconnect' });
    connect(core, 5, 'restarted', false); // clean start discards the old session [MQTT-3.1.2-4]
    assert.equal(usage(core).sessionBytes, session('restarted'), 'one session charged, not two');
    assertConsistent(core);
  });

  it('subscriptions: charged once per filter (a replacement is not charged again), released by UNSUBSCRIBE and when the session ends', () => {
    const { core } = createTestCore();
    const client = connectV5(core, 'subscriber');
    subscribe(client, 'a/+/c', 1);
    subscribe(client, 'a/+/c', 0); // [MQTT-3.8.4-3] replaces
    subscribe(client, '$share/g/x/#', 1);
    assert.equal(
      usage(core).subscriptionBytes,
      subscription('a/+/c') + subscription('$share/g/x/#'),
    );
    client.send({ type: 'unsubscribe', packetId: 2, filters: ['a/+/c', 'never/subscribed'] });
    assert.equal(usage(core).subscriptionBytes, subscription('$share/g/x/#'));
    client.send({ type: 'disconnect' });
    assert.equal(usage(core).subscriptionBytes, 0, 'released with the session');
    assert.equal(usage(core).usedBytes, 0);
  });

  // The queues of offline sessions are in memory here: a store keeps them out of the heap.
  it('queued: each entry charged, each payload once however many sessions queue it; released as the queue drains and when the session ends', () => {
    const { core } = createTestCore({}, { store: 'none' });
    const offline = ['q1', 'q2', 'q3'].map((id) => {
      const c = connect(core, 5, id, true);
      subscribe(c, 'q/#', 1);
      c.send({ type: 'disconnect' });
      return id;
    });
    const before = usage(core).usedBytes;
    const publisher = connectV5(core, 'publisher');
    const afterPublisher = usage(core).usedBytes;
    assert.equal(afterPublisher - before, session('publisher'));
    const payload = Buffer.alloc(300, 1);
    for (let i = 1; i <= 4; i++) publish(publisher, { topic: 'q/x', qos: 1, packetId: i, payload });
    const entries = 4 * offline.length;
    assert.equal(usage(core).queuedMessages, entries);
    assert.equal(usage(core).queuedBytes, entries * COSTS.queuedEntry + 4 * 300);

    // q1 comes back and acknowledges everything: its entries go, the payloads stay (q2, q3).
    const back = new FakeClient(core, 5);
    back.connect({ clientId: 'q1', clean: false, properties: { sessionExpiryInterval: 3600 } });
    const sent = publishes(back.take());
    assert.equal(sent.length, 4);
    for (const p of sent) back.send({ type: 'puback', packetId: p.packetId! });
    assert.equal(usage(core).queuedMessages, 8);
    assert.equal(usage(core).queuedBytes, 8 * COSTS.queuedEntry + 4 * 300);

    // q2 ends (clean start): its queue goes back too.
    connect(core, 5, 'q2', false);
    assert.equal(usage(core).queuedMessages, 4);
    assert.equal(usage(core).queuedBytes, 4 * COSTS.queuedEntry + 4 * 300, 'q3 still holds them');
    connect(core, 5, 'q3', false);
    assert.equal(usage(core).queuedMessages, 0);
    assert.equal(usage(core).queuedBytes, 0, 'the last holder releases the payloads');
    assertConsistent(core);
  });

  it('queued: an entry with subscription identifiers has a delivery object of its own and is charged for it', () => {
    const { core } = createTestCore({}, { store: 'none' });
    const sub = connect(core, 5, 'with-ids', true);
    sub.send({
      type: 'subscribe',
      packetId: 1,
      properties: { subscriptionIdentifiers: [7] },
      subscriptions: [
        { filter: 'ids/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    sub.send({ type: 'disconnect' });
    const publisher = connectV5(core, 'publisher');
    publish(publisher, { topic: 'ids/1', qos: 1, packetId: 1, payload: Buffer.alloc(10) });
    assert.equal(usage(core).queuedBytes, COSTS.queuedEntry + COSTS.queuedOwnDelivery + 10);
  });

  it('retained: a replacement charges the difference, an empty payload and the expiry release it [MQTT-3.3.1-10] [MQTT-3.3.2-5]', async () => {
    const { core, clock, admin } = createTestCore();
    const client = connectV5(core, 'retainer');
    const base = usage(core).usedBytes;
    const retain = (topic: string, size: number, expiry?: number): void =>
      publish(client, {
        topic,
        payload: Buffer.alloc(size, 1),
        retain: true,
        ...(expiry === undefined ? {} : { properties: { messageExpiryInterval: expiry } }),
      });
    retain('r/one', 100);
    retain('r/two', 50, 5);
    const cost = (topic: string, size: number): number => MemoryBudget.retainedCost(topic, size);
    assert.equal(usage(core).retainedBytes, cost('r/one', 100) + cost('r/two', 50));
    retain('r/one', 400);
    assert.equal(usage(core).retainedBytes, cost('r/one', 400) + cost('r/two', 50));
    retain('r/one', 0);
    assert.equal(usage(core).retainedBytes, cost('r/two', 50));
    assert.equal(core.retained.expiring, 1);
    clock.advance(5_000);
    assert.equal(
      (await admin.counters()).retainedMessages,
      0,
      'removed on time with no subscription to match it',
    );
    assert.equal(core.retained.expiring, 0);
    assert.equal(usage(core).retainedBytes, 0);
    assert.equal(usage(core).usedBytes, base);
  });

  it('retained: a replacement without expiry leaves no stale deadline behind', async () => {
    const { core, clock, admin } = createTestCore();
    const client = connectV5(core, 'retainer');
    publish(client, {
      topic: 'r/x',
      payload: Buffer.from('old'),
      retain: true,
      properties: { messageExpiryInterval: 2 },
    });
    publish(client, { topic: 'r/x', payload: Buffer.from('new'), retain: true });
    assert.equal(core.retained.expiring, 0);
    clock.advance(3_000);
    const kept = await admin.retainedMessage('r/x');
    assert.equal(
      Buffer.from(kept!.payloadBase64, 'base64').toString(),
      'new',
      'the new value stays',
    );
  });

  it('expired retained messages never count: a new topic is accepted at maxRetainedMessages once the others expired', () => {
    const { core, clock } = createTestCore({ maxRetainedMessages: 3 });
    const client = connectV5(core, 'retainer');
    for (const topic of ['e/1', 'e/2', 'e/3']) {
      publish(client, {
        topic,
        payload: Buffer.from('v'),
        retain: true,
        properties: { messageExpiryInterval: 1 },
      });
    }
    // The moment they expire, before the sweep's timer: the set still sweeps them first.
    (clock as unknown as { time: number }).time += 1_000;
    publish(client, { topic: 'fresh', payload: Buffer.from('v'), retain: true });
    assert.deepEqual(
      core.retained.all().map((m) => m.topic),
      ['fresh'],
    );
    assert.equal(core.metrics.dropped['retained-limit'], 0);
  });

  it('v3 Clean Session 0 sessions end after v3SessionExpiry offline (default one day); 4294967295 keeps them', async () => {
    const { core, clock, admin } = createTestCore();
    connect(core, 4, 'v3-device', true).send({ type: 'disconnect' });
    clock.advance(86_400_000 - 1);
    assert.equal((await admin.counters()).sessions, 1, 'still there just before a day');
    clock.advance(1);
    assert.equal((await admin.counters()).sessions, 0, 'gone after a day offline');
    assert.equal(usage(core).usedBytes, 0);

    const forever = createTestCore({ v3SessionExpiry: 0xffffffff });
    connect(forever.core, 4, 'v3-device', true).send({ type: 'disconnect' });
    forever.clock.advance(365 * 86_400_000);
    assert.equal((await forever.admin.counters()).sessions, 1);
  });
});

describe('memory budget: limits', () => {
  const BUDGET = 100_000;
  const DURABLE = Math.floor(BUDGET * DURABLE_SHARE);

  /** Fills the durable share with one retained message, leaving `room` bytes in it. */
  function fill(core: BrokerCore, client: FakeClient, room: number): void {
    const free = DURABLE - core.metrics.memory.usedBytes;
    const size = free - room - MemoryBudget.retainedCost('fill', 0);
    publish(client, { topic: 'fill', payload: Buffer.alloc(size), retain: true });
    assert.equal(DURABLE - core.metrics.memory.usedBytes, room);
  }

  /** Subscribes; a persistent session's SUBACK waits for the store's commit, if any. */
  async function subscribeAll(client: FakeClient, filters: string[]): Promise<number[]> {
    client.send({
      type: 'subscribe',
      packetId: 3,
      subscriptions: filters.map((filter) => ({
        filter,
        qos: 1 as const,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0 as const,
      })),
    });
    await flush();
    const suback = client.take().find((p) => p.type === 'suback');
    assert.ok(suback?.type === 'suback');
    return suback.reasonCodes;
  }

  it('a new persistent session over the durable share (7/8): CONNACK 0x97, v3 0x03, closed; a clean session still fits [MQTT-3.2.2-6] [MQTT-3.2.2-7] (5.0) [MQTT-3.2.2-4] [MQTT-3.2.2-5]', async () => {
    const { core, admin } = createTestCore({ memoryBudget: BUDGET });
    fill(core, connectV5(core, 'filler'), 100);
    for (const [version, code] of [
      [5, 0x97],
      [4, 0x03],
    ] as const) {
      const refused = new FakeClient(core, version);
      refused.connect({
        clientId: `persistent-v${version}`,
        clean: false,
        ...(version === 5 ? { properties: { sessionExpiryInterval: 60 } } : {}),
      });
      const [connack] = refused.take();
      assert.ok(connack?.type === 'connack');
      assert.equal(connack.reasonCode, code);
      assert.equal(connack.sessionPresent, false, 'Session Present 0 with a failure');
      assert.equal(refused.ended, true, 'then closed');
      assert.equal(await admin.session(`persistent-v${version}`), undefined);
    }
    assert.equal(core.metrics.refused['budget-session'], 2);
    connect(core, 5, 'clean-v5', false);
    connect(core, 4, 'clean-v3', false);
  });

  it('subscriptions of a persistent session over the durable share: SUBACK 0x97 (v3 0x80), the filters that fit are granted; a clean session still subscribes [MQTT-3.9.3-1] [MQTT-3.8.4-5]', async () => {
    const { core, admin } = createTestCore({ memoryBudget: BUDGET });
    const v5 = connect(core, 5, 'persistent-v5', true);
    const v3 = connect(core, 4, 'persistent-v3', true);
    fill(core, v5, MemoryBudget.subscriptionCost('fits') + 10);
    assert.deepEqual(await subscribeAll(v5, ['fits', 'no/room']), [1, 0x97]);
    assert.deepEqual(await subscribeAll(v3, ['no/room/either']), [0x80]);
    assert.equal(core.metrics.refused['budget-subscription'], 2);
    assert.equal((await admin.counters()).subscriptions, 1);
    const clean = connect(core, 5, 'clean', false);
    assert.deepEqual(await subscribeAll(clean, ['in/the/reserve']), [1]);
  });

  // An offline session's queue in memory: a store keeps it out of the heap (and the budget).
  it('a message to queue for an offline session over the budget is dropped and counted; the publisher is acknowledged', () => {
    const { core } = createTestCore({ memoryBudget: BUDGET }, { store: 'none' });
    const offline = connect(core, 5, 'offline', true);
    subscribe(offline, 'q/#', 1);
    offline.send({ type: 'disconnect' });
    const publisher = connectV5(core, 'publisher');
    fill(core, publisher, COSTS.queuedEntry + 10);
    publish(publisher, { topic: 'q/1', qos: 1, packetId: 1, payload: Buffer.alloc(10) });
    publish(publisher, { topic: 'q/2', qos: 1, packetId: 2, payload: Buffer.alloc(10) });
    assert.deepEqual(
      publisher.take().map((p) => (p.type === 'puback' ? (p.reasonCode ?? 0) : -1)),
      [0, 0],
      'PUBACK success: the drop is the subscriber side',
    );
    assert.equal(core.metrics.memory.queuedMessages, 1);
    assert.equal(core.metrics.dropped['memory-budget'], 1);
    assert.equal(core.metrics.refused['budget-queued'], 1);
  });

  it('a retained message over the budget is not kept but delivered; counted', async () => {
    const { core, admin } = createTestCore({ memoryBudget: BUDGET });
    const subscriber = connectV5(core, 'subscriber');
    subscribe(subscriber, 'r/#', 0);
    const publisher = connectV5(core, 'publisher');
    fill(core, publisher, 10);
    publish(publisher, { topic: 'r/1', payload: Buffer.from('v'), retain: true });
    assert.equal(publishes(subscriber.take()).length, 1, 'delivered');
    assert.equal((await admin.counters()).retainedMessages, 1, 'only the filler is retained');
    assert.equal(core.metrics.dropped['memory-budget'], 1);
    assert.equal(core.metrics.refused['budget-retained'], 1);
  });

  it('maxQueuedMessagesTotal counts every session queue; past it a message to queue is dropped (queued-total)', async () => {
    const { core } = createTestCore({ maxQueuedMessagesTotal: 5 });
    for (const id of ['a', 'b']) {
      const c = connect(core, 5, id, true);
      await subscribeSettled(c, 't/#', 1);
      c.send({ type: 'disconnect' });
    }
    const publisher = connectV5(core, 'publisher');
    for (let i = 1; i <= 3; i++) publish(publisher, { topic: 't/x', qos: 1, packetId: i });
    assert.equal(core.metrics.memory.queuedMessages, 5);
    assert.equal(core.metrics.dropped['queued-total'], 1);
    assert.equal(core.metrics.refused['queued-total'], 1);
  });
});
