/**
 * MQTT 3.1.1 publish/subscribe over real TCP with MQTT.js: wildcards, $-topics, QoS in both
 * directions, delivery QoS, ordering, retained messages and persistent-session queueing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  collectFor,
  collectUntil,
  connectClient,
  endClient,
  nextMessages,
  startBroker,
  type TestBroker,
} from '../helpers/broker.js';

const v4: IClientOptions = { protocolVersion: 4 };

describe('integration v3.1.1: publish and subscribe', { timeout: 60_000 }, () => {
  let b: TestBroker;
  let sub: MqttClient;
  let pub: MqttClient;
  before(async () => {
    b = await startBroker();
    sub = await connectClient(b.url, { ...v4, clientId: 'sub' });
    pub = await connectClient(b.url, { ...v4, clientId: 'pub' });
  });
  after(async () => {
    await Promise.all([endClient(sub), endClient(pub)]);
    await b.close();
  });

  it('+ matches one level, # matches the rest (parent included)', async () => {
    await sub.subscribeAsync(['wc/+/x', 'deep/#']);
    // The sentinel (matched by deep/#) comes last: everything before it has arrived.
    const got = collectUntil(sub, 'deep/zz-sentinel');
    for (const topic of ['wc/a/x', 'wc/a/b/x', 'wc/x', 'deep', 'deep/1', 'deep/1/2', 'other']) {
      await pub.publishAsync(topic, topic, { qos: 1 });
    }
    await pub.publishAsync('deep/zz-sentinel', 'end', { qos: 1 });
    assert.deepEqual((await got).map((m) => m.topic).sort(), [
      'deep',
      'deep/1',
      'deep/1/2',
      'wc/a/x',
    ]);
    await sub.unsubscribeAsync(['wc/+/x', 'deep/#']);
  });

  it('[MQTT-4.7.2-1] $-topics are not matched by filters starting with a wildcard', async () => {
    await sub.subscribeAsync(['#', '+/sys']);
    const got = collectUntil(sub, 'zz-sentinel');
    await pub.publishAsync('$SYS/x', 'hidden', { qos: 1 });
    await pub.publishAsync('$x/sys', 'hidden', { qos: 1 });
    await pub.publishAsync('seen', 'seen', { qos: 1 });
    await pub.publishAsync('zz-sentinel', 'end', { qos: 1 });
    assert.deepEqual(
      (await got).map((m) => m.topic),
      ['seen'],
    );
    await sub.unsubscribeAsync(['#', '+/sys']);
    await sub.subscribeAsync('$x/+');
    const explicit = nextMessages(sub, 1);
    await pub.publishAsync('$x/sys', 'shown', { qos: 1 });
    assert.equal((await explicit)[0]?.topic, '$x/sys');
    await sub.unsubscribeAsync('$x/+');
  });

  it('[MQTT-3.8.4-5] [MQTT-3.9.3-1] SUBACK grants the requested QoS per filter', async () => {
    const granted = await sub.subscribeAsync({
      'g/0': { qos: 0 },
      'g/1': { qos: 1 },
      'g/2': { qos: 2 },
    });
    assert.deepEqual(
      granted.map((g) => [g.topic, g.qos]),
      [
        ['g/0', 0],
        ['g/1', 1],
        ['g/2', 2],
      ],
    );
    await sub.unsubscribeAsync(['g/0', 'g/1', 'g/2']);
  });

  it('SUBACK grants at most the broker maximum QoS', async () => {
    const capped = await startBroker({ maximumQoS: 1 });
    try {
      const client = await connectClient(capped.url, { ...v4, clientId: 'cap' });
      const granted = await client.subscribeAsync('t', { qos: 2 });
      assert.equal(granted[0]?.qos, 1);
      await endClient(client);
    } finally {
      await capped.close();
    }
  });

  for (const publishQos of [0, 1, 2] as const) {
    for (const grantedQos of [0, 1, 2] as const) {
      it(`[MQTT-3.8.4-6] publish QoS ${publishQos}, granted ${grantedQos}: delivered at QoS ${Math.min(publishQos, grantedQos)}`, async () => {
        const topic = `q/${publishQos}/${grantedQos}`;
        await sub.subscribeAsync(topic, { qos: grantedQos });
        const got = nextMessages(sub, 1);
        await pub.publishAsync(topic, 'm', { qos: publishQos });
        const [msg] = await got;
        assert.equal(msg?.packet.qos, Math.min(publishQos, grantedQos));
        await sub.unsubscribeAsync(topic);
      });
    }
  }

  it('[MQTT-3.3.5-1] overlapping subscriptions deliver one copy at the highest QoS', async () => {
    await sub.subscribeAsync({ 'ov/+': { qos: 0 }, 'ov/#': { qos: 2 }, 'ov/a': { qos: 1 } });
    const got = collectUntil(sub, 'ov/zz-sentinel');
    await pub.publishAsync('ov/a', 'once', { qos: 2 });
    await pub.publishAsync('ov/zz-sentinel', 'end', { qos: 2 });
    assert.equal((await got).length, 1);
    await sub.unsubscribeAsync(['ov/+', 'ov/#', 'ov/a']);
  });

  it('[MQTT-4.6.0-6] 500 QoS 1 messages arrive in publish order', async () => {
    await sub.subscribeAsync('order/1', { qos: 1 });
    const got = nextMessages(sub, 500, 15_000);
    for (let i = 0; i < 500; i++) pub.publish('order/1', String(i), { qos: 1 });
    const messages = await got;
    assert.deepEqual(
      messages.map((m) => m.payload.toString()),
      Array.from({ length: 500 }, (_, i) => String(i)),
    );
    await sub.unsubscribeAsync('order/1');
  });

  it('[MQTT-4.3.3-2] [MQTT-4.6.0-6] 300 QoS 2 messages published back to back arrive once each, in order', async () => {
    await sub.subscribeAsync('order/2', { qos: 2 });
    const got = nextMessages(sub, 300, 15_000);
    for (let i = 0; i < 300; i++) pub.publish('order/2', String(i), { qos: 2 });
    const messages = await got;
    assert.deepEqual(
      messages.map((m) => m.payload.toString()),
      Array.from({ length: 300 }, (_, i) => String(i)),
    );
    assert.deepEqual(await collectFor(sub, 50), []);
    assert.equal(pub.connected, true);
    await sub.unsubscribeAsync('order/2');
  });

  it('[MQTT-3.3.1-5] [MQTT-3.3.1-6] retained: stored, replaced, sent on subscribe with RETAIN set', async () => {
    await pub.publishAsync('ret/a', 'first', { qos: 1, retain: true });
    await pub.publishAsync('ret/a', 'second', { qos: 1, retain: true });
    const late = await connectClient(b.url, { ...v4, clientId: 'late' });
    const got = nextMessages(late, 1);
    await late.subscribeAsync('ret/+', { qos: 1 });
    const [msg] = await got;
    assert.equal(msg?.payload.toString(), 'second');
    assert.equal(msg?.packet.retain, true, '[MQTT-3.3.1-8]');
    await endClient(late);
  });

  it('[MQTT-3.3.1-10] [MQTT-3.3.1-11] an empty retained payload clears the topic', async () => {
    await pub.publishAsync('ret/b', 'kept', { qos: 1, retain: true });
    await pub.publishAsync('ret/b', '', { qos: 1, retain: true });
    const late = await connectClient(b.url, { ...v4, clientId: 'late2' });
    const got = collectFor(late, 150);
    await late.subscribeAsync('ret/b', { qos: 1 });
    assert.deepEqual(await got, []);
    await endClient(late);
  });

  it('[MQTT-3.3.1-9] live messages reach existing subscribers with RETAIN 0', async () => {
    await sub.subscribeAsync('ret/live', { qos: 1 });
    const got = nextMessages(sub, 1);
    await pub.publishAsync('ret/live', 'x', { qos: 1, retain: true });
    assert.equal((await got)[0]?.packet.retain, false);
    await sub.unsubscribeAsync('ret/live');
  });

  it('[MQTT-3.10.4-4] [MQTT-3.10.4-5] UNSUBSCRIBE stops delivery (and is acknowledged even for unknown filters)', async () => {
    await sub.subscribeAsync('un/t');
    await sub.unsubscribeAsync(['un/t', 'never/subscribed']);
    const got = collectFor(sub, 150);
    await pub.publishAsync('un/t', 'x', { qos: 1 });
    assert.deepEqual(await got, []);
  });

  it('[MQTT-3.1.2-5] a persistent session queues QoS 1/2 while offline and delivers on reconnect', async () => {
    const first = await connectClient(b.url, { ...v4, clientId: 'persist', clean: false });
    await first.subscribeAsync('persist/t', { qos: 2 });
    await endClient(first);
    await pub.publishAsync('persist/t', 'q0', { qos: 0 });
    await pub.publishAsync('persist/t', 'q1', { qos: 1 });
    await pub.publishAsync('persist/t', 'q2', { qos: 2 });
    // Listen before the CONNACK: queued messages follow it at once.
    const again = mqtt.connect(b.url, {
      ...v4,
      clientId: 'persist',
      clean: false,
      reconnectPeriod: 0,
    });
    const got = nextMessages(again, 2);
    const messages = await got;
    assert.deepEqual(
      messages.map((m) => [m.payload.toString(), m.packet.qos]),
      [
        ['q1', 1],
        ['q2', 2],
      ],
    );
    await endClient(again);
  });
});
