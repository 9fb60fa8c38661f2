/**
 * MQTT 5 publish/subscribe over real TCP with MQTT.js: QoS in both directions, overlapping
 * subscriptions with subscription identifiers, SUBACK / UNSUBACK reason codes, Retain
 * Handling and Retain As Published.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IClientOptions, MqttClient } from 'mqtt';
import {
  collectFor,
  connectClient,
  endClient,
  nextMessages,
  startBroker,
  type TestBroker,
} from '../helpers/broker.js';

const v5: IClientOptions = { protocolVersion: 5 };

describe('integration v5: publish and subscribe', { timeout: 60_000 }, () => {
  let b: TestBroker;
  let sub: MqttClient;
  let pub: MqttClient;
  before(async () => {
    b = await startBroker();
    sub = await connectClient(b.url, { ...v5, clientId: 'sub5' });
    pub = await connectClient(b.url, { ...v5, clientId: 'pub5' });
  });
  after(async () => {
    await Promise.all([endClient(sub), endClient(pub)]);
    await b.close();
  });

  for (const qos of [0, 1, 2] as const) {
    it(`[MQTT-4.3] QoS ${qos} client -> broker -> client`, async () => {
      const topic = `v5q/${qos}`;
      await sub.subscribeAsync(topic, { qos });
      const got = nextMessages(sub, 1);
      await pub.publishAsync(topic, `m${qos}`, { qos });
      const [msg] = await got;
      assert.equal(msg?.payload.toString(), `m${qos}`);
      assert.equal(msg?.packet.qos, qos);
      await sub.unsubscribeAsync(topic);
    });
  }

  it('[MQTT-3.4.2-1] a QoS 1 publish nobody subscribed to is acknowledged with 0x10', async () => {
    const puback = new Promise<number | undefined>((resolve) => {
      const onPacket = (packet: { cmd: string; reasonCode?: number }): void => {
        if (packet.cmd !== 'puback') return;
        pub.off('packetreceive', onPacket);
        resolve(packet.reasonCode);
      };
      pub.on('packetreceive', onPacket);
    });
    await pub.publishAsync('nobody/here', 'x', { qos: 1 });
    assert.equal(await puback, 0x10);
  });

  it('[MQTT-3.3.4-2] [MQTT-3.3.4-4] overlapping subscriptions: one copy, highest QoS, every subscription id', async () => {
    await sub.subscribeAsync('ovl/+', { qos: 0, properties: { subscriptionIdentifier: 11 } });
    await sub.subscribeAsync('ovl/#', { qos: 2, properties: { subscriptionIdentifier: 22 } });
    await sub.subscribeAsync('ovl/a', { qos: 1 });
    const first = nextMessages(sub, 1);
    const all = collectFor(sub, 200);
    await pub.publishAsync('ovl/a', 'x', { qos: 2 });
    const [msg] = await first;
    assert.equal((await all).length, 1, 'one copy');
    assert.equal(msg?.packet.qos, 2, 'the highest granted QoS');
    const ids = msg?.packet.properties?.subscriptionIdentifier;
    assert.deepEqual([ids].flat().sort(), [11, 22]);
    await sub.unsubscribeAsync(['ovl/+', 'ovl/#', 'ovl/a']);
  });

  it('[MQTT-3.3.4-3] subscription identifiers of all matching subscriptions are sent', async () => {
    await sub.subscribeAsync('sid/+', { qos: 1, properties: { subscriptionIdentifier: 5 } });
    await sub.subscribeAsync('sid/#', { qos: 2, properties: { subscriptionIdentifier: 6 } });
    const got = nextMessages(sub, 1);
    await pub.publishAsync('sid/a', 'x', { qos: 2 });
    const [msg] = await got;
    assert.equal(msg?.packet.qos, 2);
    const ids = msg?.packet.properties?.subscriptionIdentifier;
    assert.deepEqual([ids].flat().sort(), [5, 6]);
    await sub.unsubscribeAsync(['sid/+', 'sid/#']);
  });

  it('[MQTT-3.9.3-1] SUBACK reason codes: granted QoS per filter, 0x87 when not authorized', async () => {
    const other = await startBroker();
    other.broker.addHook({
      authorizeSubscribe: (_client, request) =>
        request.filter.startsWith('secret') ? 'deny' : 'allow',
    });
    try {
      const client = await connectClient(other.url, { ...v5, clientId: 'sa' });
      // MQTT.js rejects a SUBACK holding a failure code; the packet carries every code.
      const codes = await client
        .subscribeAsync({ 'open/0': { qos: 0 }, 'open/2': { qos: 2 }, 'secret/x': { qos: 1 } })
        .then(
          (granted) => granted.map((g) => g.qos),
          (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
        );
      assert.deepEqual(codes, [0, 2, 0x87]);
      await endClient(client);
    } finally {
      await other.close();
    }
  });

  it('[MQTT-3.11.3-1] UNSUBACK: 0x00 for a removed filter, 0x11 when there was no subscription', async () => {
    await sub.subscribeAsync('un5/t');
    const unsuback = (await sub.unsubscribeAsync(['un5/t', 'un5/none'])) as unknown as {
      granted?: number[];
      reasonCode?: number | number[];
    };
    const codes = unsuback.granted ?? [unsuback.reasonCode].flat();
    assert.deepEqual(codes, [0x00, 0x11]);
  });

  it('[MQTT-4.7.2-1] $-topics are not matched by a leading wildcard', async () => {
    await sub.subscribeAsync('#');
    const got = collectFor(sub, 150);
    await pub.publishAsync('$dollar/x', 'hidden', { qos: 1 });
    await pub.publishAsync('plain/x', 'seen', { qos: 1 });
    assert.deepEqual(
      (await got).map((m) => m.topic),
      ['plain/x'],
    );
    await sub.unsubscribeAsync('#');
  });

  describe('retained', () => {
    before(async () => {
      await pub.publishAsync('r5/a', 'kept', { qos: 1, retain: true });
    });

    it('[MQTT-3.3.1-9] Retain Handling 0 sends retained messages on every SUBSCRIBE', async () => {
      const client = await connectClient(b.url, { ...v5, clientId: 'rh0' });
      const got = nextMessages(client, 2);
      await client.subscribeAsync('r5/+', { qos: 1, rh: 0 });
      await client.subscribeAsync('r5/+', { qos: 1, rh: 0 });
      const messages = await got;
      assert.deepEqual(
        messages.map((m) => [m.payload.toString(), m.packet.retain]),
        [
          ['kept', true],
          ['kept', true],
        ],
      );
      await endClient(client);
    });

    it('[MQTT-3.3.1-10] Retain Handling 1 sends them only for a new subscription', async () => {
      const client = await connectClient(b.url, { ...v5, clientId: 'rh1' });
      const got = collectFor(client, 200);
      await client.subscribeAsync('r5/+', { qos: 1, rh: 1 });
      await client.subscribeAsync('r5/+', { qos: 1, rh: 1 });
      assert.equal((await got).length, 1);
      await endClient(client);
    });

    it('[MQTT-3.3.1-11] Retain Handling 2 never sends them', async () => {
      const client = await connectClient(b.url, { ...v5, clientId: 'rh2' });
      const got = collectFor(client, 150);
      await client.subscribeAsync('r5/+', { qos: 1, rh: 2 });
      assert.deepEqual(await got, []);
      await endClient(client);
    });

    it('[MQTT-3.3.1-12] [MQTT-3.3.1-13] Retain As Published keeps RETAIN on live messages; without it RETAIN is 0', async () => {
      const rap = await connectClient(b.url, { ...v5, clientId: 'rap1' });
      const plain = await connectClient(b.url, { ...v5, clientId: 'rap0' });
      await rap.subscribeAsync('r5/live', { qos: 1, rap: true });
      await plain.subscribeAsync('r5/live', { qos: 1, rap: false });
      const gotRap = nextMessages(rap, 1);
      const gotPlain = nextMessages(plain, 1);
      await pub.publishAsync('r5/live', 'now', { qos: 1, retain: true });
      assert.equal((await gotRap)[0]?.packet.retain, true);
      assert.equal((await gotPlain)[0]?.packet.retain, false);
      await Promise.all([endClient(rap), endClient(plain)]);
    });

    it('[MQTT-3.3.1-6] an empty retained payload clears the topic', async () => {
      await pub.publishAsync('r5/gone', 'x', { qos: 1, retain: true });
      await pub.publishAsync('r5/gone', '', { qos: 1, retain: true });
      const client = await connectClient(b.url, { ...v5, clientId: 'rclr' });
      const got = collectFor(client, 150);
      await client.subscribeAsync('r5/gone', { qos: 1 });
      assert.deepEqual(await got, []);
      await endClient(client);
    });
  });
});
