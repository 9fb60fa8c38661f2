/**
 * Core tests of retained messages: store, replace, clear, delivery on subscribe, Retain
 * Handling, Retain As Published, and message expiry on a fake clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokerCore } from '../../src/core/index.js';
import type {
  ProtocolVersion,
  PublishPacket,
  QoS,
  SubscriptionRequest,
} from '../../src/protocol/index.js';
import { createTestCore, FakeClient, flush } from '../helpers/core-harness.js';

function connect(core: BrokerCore, version: ProtocolVersion, clientId: string): FakeClient {
  const client = new FakeClient(core, version);
  client.connect({ clientId });
  const connack = client.received.shift();
  assert.ok(connack?.type === 'connack' && connack.reasonCode === 0);
  return client;
}

/** Subscribes; returns the retained messages sent with the SUBACK. */
function subscribe(
  client: FakeClient,
  filter: string,
  options: Partial<SubscriptionRequest> = {},
): PublishPacket[] {
  sendSubscribe(client, filter, options);
  return takeSubackAndPublishes(client);
}

/**
 * {@link subscribe}, reading once what waits for a store commit went out: with a store, a
 * message published at QoS 2 goes onward only after a commit [MQTT-4.3.3-9].
 */
async function subscribeSettled(
  client: FakeClient,
  filter: string,
  options: Partial<SubscriptionRequest> = {},
): Promise<PublishPacket[]> {
  sendSubscribe(client, filter, options);
  await flush();
  return takeSubackAndPublishes(client);
}

function sendSubscribe(
  client: FakeClient,
  filter: string,
  options: Partial<SubscriptionRequest>,
): void {
  client.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [
      {
        filter,
        qos: 1,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
        ...options,
      },
    ],
  });
}

function takeSubackAndPublishes(client: FakeClient): PublishPacket[] {
  const [suback, ...rest] = client.take();
  assert.equal(suback?.type, 'suback', '[MQTT-3.8.4-1] SUBACK comes first');
  return rest.filter((p): p is PublishPacket => p.type === 'publish');
}

function retain(
  client: FakeClient,
  topic: string,
  payload: string,
  qos: QoS = 0,
  expiry?: number,
): void {
  client.send({
    type: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos,
    retain: true,
    dup: false,
    packetId: qos > 0 ? 1 : undefined,
    properties: expiry === undefined ? undefined : { messageExpiryInterval: expiry },
  });
  client.take();
}

function publishes(client: FakeClient): PublishPacket[] {
  return client.take().filter((p): p is PublishPacket => p.type === 'publish');
}

describe('core: retained messages', () => {
  it('[MQTT-3.3.1-6] [MQTT-3.3.1-8] (3.1.1) a new subscription gets the retained message with RETAIN set', () => {
    const { core } = createTestCore();
    retain(connect(core, 4, 'p'), 'a/b', 'r', 1);
    const got = subscribe(connect(core, 4, 's'), 'a/+');
    assert.deepEqual(
      got.map((p) => [p.topic, p.payload.toString(), p.retain, p.qos]),
      [['a/b', 'r', true, 1]],
    );
  });

  it('[MQTT-3.3.1-5] (3.1.1) a retained message replaces the previous one on its topic', () => {
    const { core } = createTestCore();
    const pub = connect(core, 4, 'p');
    retain(pub, 't', 'old');
    retain(pub, 't', 'new');
    assert.deepEqual(
      subscribe(connect(core, 4, 's'), 't').map((p) => p.payload.toString()),
      ['new'],
    );
  });

  it('[MQTT-3.3.1-10] [MQTT-3.3.1-11] (3.1.1 ids) an empty retained payload clears the topic (and is still delivered)', async () => {
    const { core, admin } = createTestCore();
    const pub = connect(core, 4, 'p');
    const live = connect(core, 4, 'live');
    subscribe(live, 't');
    retain(pub, 't', 'r');
    retain(pub, 't', '');
    assert.deepEqual(
      publishes(live).map((p) => p.payload.toString()),
      ['r', ''],
    );
    assert.equal((await admin.counters()).retainedMessages, 0);
    assert.deepEqual(subscribe(connect(core, 4, 's'), 't'), []);
  });

  it('[MQTT-3.3.1-9] (3.1.1) a live message is forwarded with RETAIN 0 to existing subscribers', () => {
    const { core } = createTestCore();
    const live = connect(core, 4, 'live');
    subscribe(live, 't');
    retain(connect(core, 4, 'p'), 't', 'r');
    assert.deepEqual(
      publishes(live).map((p) => p.retain),
      [false],
    );
  });

  it('[MQTT-3.3.1-13] Retain As Published keeps the RETAIN flag on live messages (v5)', () => {
    const { core } = createTestCore();
    const live = connect(core, 5, 'live');
    subscribe(live, 't', { retainAsPublished: true });
    retain(connect(core, 5, 'p'), 't', 'r');
    assert.deepEqual(
      publishes(live).map((p) => p.retain),
      [true],
    );
  });

  it('[MQTT-3.3.1-9] (v5) Retain Handling 0 sends retained messages on every subscribe', () => {
    const { core } = createTestCore();
    retain(connect(core, 5, 'p'), 't', 'r');
    const s = connect(core, 5, 's');
    assert.equal(subscribe(s, 't', { retainHandling: 0 }).length, 1);
    assert.equal(subscribe(s, 't', { retainHandling: 0 }).length, 1);
  });

  it('[MQTT-3.3.1-10] (v5) Retain Handling 1 sends them only when the subscription is new', () => {
    const { core } = createTestCore();
    retain(connect(core, 5, 'p'), 't', 'r');
    const s = connect(core, 5, 's');
    assert.equal(subscribe(s, 't', { retainHandling: 1 }).length, 1);
    assert.equal(subscribe(s, 't', { retainHandling: 1 }).length, 0);
  });

  it('[MQTT-3.3.1-11] (v5) Retain Handling 2 never sends them', () => {
    const { core } = createTestCore();
    retain(connect(core, 5, 'p'), 't', 'r');
    assert.equal(subscribe(connect(core, 5, 's'), 't', { retainHandling: 2 }).length, 0);
  });

  it('[MQTT-3.8.4-8] retained messages go out at min(stored QoS, granted QoS)', async () => {
    const { core } = createTestCore();
    retain(connect(core, 5, 'p'), 't', 'r', 2);
    const got = await subscribeSettled(connect(core, 5, 's'), 't', { qos: 1 });
    assert.deepEqual(
      got.map((p) => p.qos),
      [1],
    );
  });

  it('[MQTT-3.3.2-5] a retained message expires; before that its remaining interval is sent [MQTT-3.3.2-6]', async () => {
    const { core, clock, admin } = createTestCore();
    retain(connect(core, 5, 'p'), 't', 'r', 0, 10);
    clock.advance(4_000);
    const early = subscribe(connect(core, 5, 's1'), 't');
    assert.equal(early.length, 1);
    assert.equal(early[0]?.properties?.messageExpiryInterval, 6);
    clock.advance(6_000);
    assert.deepEqual(subscribe(connect(core, 5, 's2'), 't'), []);
    assert.equal((await admin.counters()).retainedMessages, 0, 'the expired message was removed');
  });

  it('[MQTT-4.7.2-1] wildcard subscriptions do not receive retained $-topics', () => {
    const { core } = createTestCore();
    const pub = connect(core, 4, 'p');
    retain(pub, '$app/x', 'hidden');
    retain(pub, 'app/x', 'shown');
    const s = connect(core, 4, 's');
    assert.deepEqual(
      subscribe(s, '#').map((p) => p.topic),
      ['app/x'],
    );
    assert.deepEqual(
      subscribe(s, '+/x').map((p) => p.topic),
      ['app/x'],
    );
    assert.deepEqual(
      subscribe(s, '$app/#').map((p) => p.topic),
      ['$app/x'],
    );
  });
});
