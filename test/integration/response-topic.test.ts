/**
 * [MQTT-3.3.2-14] A Response Topic is the Topic Name of the answer and must not contain
 * wildcards. A PUBLISH that carries one is a Protocol Error (v5 DISCONNECT 0x82, nothing
 * routed); a will that carries one makes the CONNECT invalid (closed without CONNACK, as
 * every CONNECT that does not decode [MQTT-3.1.4-1]).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { connectBytes, RawClient } from '../helpers/raw-client.js';

let server: TestBroker;
before(async () => {
  server = await startBroker();
});
after(() => server.close());

/** A v5 raw subscriber on `filter`. */
async function subscriber(clientId: string, filter: string): Promise<RawClient> {
  const client = await RawClient.connected(server.port, 5, clientId);
  client.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [
      { filter, qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
    ],
  });
  await client.next('suback');
  return client;
}

describe('Response Topic with wildcards', () => {
  for (const [qos, responseTopic] of [
    [0, 'replies/+'],
    [1, 'replies/#'],
  ] as const) {
    test(`[MQTT-3.3.2-14] a QoS ${qos} PUBLISH with Response Topic "${responseTopic}" gets DISCONNECT 0x82 and is not routed`, async () => {
      const sub = await subscriber(`rt-sub-${qos}`, `rt/${qos}/#`);
      const pub = await RawClient.connected(server.port, 5, `rt-pub-${qos}`);
      pub.send({
        type: 'publish',
        topic: `rt/${qos}/request`,
        payload: Buffer.from('q'),
        qos,
        retain: false,
        dup: false,
        packetId: qos === 0 ? undefined : 5,
        properties: { responseTopic },
      });
      const disconnect = await pub.next('disconnect');
      assert.equal(disconnect.reasonCode, 0x82);
      assert.equal(
        disconnect.properties?.reasonString,
        'response topic contains a wildcard [MQTT-3.3.2-14]',
      );
      await pub.waitClose();
      assert.deepEqual(pub.received, [], 'no PUBACK');
      // A valid request after it arrives alone: the invalid one was never routed.
      await server.broker.publish({ topic: `rt/${qos}/next`, payload: 'ok' });
      const first = await sub.next('publish');
      assert.equal(first.topic, `rt/${qos}/next`);
      sub.destroy();
    });
  }

  test('[MQTT-3.3.2-15] a Response Topic without wildcards is forwarded unaltered', async () => {
    const sub = await subscriber('rt-sub-ok', 'rt/ok/#');
    const pub = await RawClient.connected(server.port, 5, 'rt-pub-ok');
    pub.send({
      type: 'publish',
      topic: 'rt/ok/request',
      payload: Buffer.from('q'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { responseTopic: 'replies/rt-pub-ok' },
    });
    const message = await sub.next('publish');
    assert.equal(message.properties?.responseTopic, 'replies/rt-pub-ok');
    pub.destroy();
    sub.destroy();
  });

  test('[MQTT-3.3.2-14] a will with a wildcard Response Topic: the CONNECT is closed without CONNACK', async () => {
    const client = await RawClient.open(server.port, 5);
    client.write(
      connectBytes(5, 'rt-will', {
        will: {
          topic: 'wills/rt',
          payload: Buffer.from('gone'),
          qos: 0,
          retain: false,
          properties: { responseTopic: 'replies/#' },
        },
      }),
    );
    await client.waitClose();
    assert.deepEqual(client.received, []);
    assert.equal(await server.broker.admin.session('rt-will'), undefined);
  });

  test('[MQTT-3.3.2-14] the host application cannot publish a wildcard Response Topic either', async () => {
    await assert.rejects(
      server.broker.publish({
        topic: 'rt/host',
        payload: 'x',
        properties: { responseTopic: 'r/+' },
      }),
      /response topic contains a wildcard/,
    );
  });
});
