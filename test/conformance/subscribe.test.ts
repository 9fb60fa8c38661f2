/**
 * Conformance over TCP: SUBSCRIBE, UNSUBSCRIBE and their acknowledgements, in MQTT 3.1.1 and
 * 5.0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encode } from '../../src/protocol/index.js';
import type { TestBroker } from '../helpers/broker.js';
import { startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import {
  publishesUntil,
  publishPacket,
  settle,
  sub,
  subscribe,
  takePublishes,
  unsubscribe,
} from './wire.js';

const SENTINEL = 'sentinel/subscribe';
/** Subscribe Reason Codes of MQTT 5.0 (section 3.9.3). */
const SUBSCRIBE_CODES = new Set([0, 1, 2, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2]);
/** Unsubscribe Reason Codes of MQTT 5.0 (section 3.11.3). */
const UNSUBSCRIBE_CODES = new Set([0, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91]);

describe('conformance: SUBSCRIBE and UNSUBSCRIBE', () => {
  let tb: TestBroker;
  let pub: RawClient;
  before(async () => {
    // A short topic limit makes one filter of a SUBSCRIBE fail on its own.
    tb = await startBroker({ maxTopicLength: 32 });
    pub = await RawClient.connected(tb.port, 4, 'subscribe-publisher');
  });
  after(async () => {
    pub.destroy();
    await tb.close();
  });

  /** PUBLISH packets `client` gets before a sentinel sent after `payloads` on `topic`. */
  async function deliveries(client: RawClient, topic: string, payloads: string[], qos: 0 | 1 = 0) {
    for (const p of payloads) pub.send(publishPacket(topic, p, qos, { packetId: 1 }));
    pub.send(publishPacket(SENTINEL, 'end'));
    return publishesUntil(client, SENTINEL);
  }

  for (const v of [4, 5] as const) {
    it(`[MQTT-2.3.1-7] (3.1.1) [MQTT-2.2.1-6] [MQTT-3.10.4-5] (5.0) [MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.10.4-4] pipelined SUBSCRIBE and UNSUBSCRIBE packets each get their own acknowledgement with their packet id (v${v})`, async () => {
      const client = await RawClient.connected(tb.port, v, `acks-${v}`);
      const packets = [
        encode({ type: 'subscribe', packetId: 41, subscriptions: [sub('acks/a')] }, v),
        encode({ type: 'subscribe', packetId: 42, subscriptions: [sub('acks/b', 1)] }, v),
        encode({ type: 'unsubscribe', packetId: 43, filters: ['acks/a'] }, v),
        encode({ type: 'unsubscribe', packetId: 44, filters: ['acks/none'] }, v),
      ];
      client.write(Buffer.concat(packets));
      await client.until(() => client.received.length === 4, 5000, 'four acknowledgements');
      assert.deepEqual(
        client.received.map((p) => [p.type, 'packetId' in p ? p.packetId : 0]),
        [
          ['suback', 41],
          ['suback', 42],
          ['unsuback', 43],
          ['unsuback', 44],
        ],
      );
      client.destroy();
    });

    it(`[MQTT-3.8.4-4] [MQTT-3.8.4-5] [MQTT-3.9.3-1] [MQTT-3.9.3-2] (3.1.1) [MQTT-3.8.4-5] [MQTT-3.8.4-6] [MQTT-3.8.4-7] [MQTT-3.9.3-1] [MQTT-3.9.3-2] (5.0) several filters in one SUBSCRIBE: each handled on its own, one SUBACK with a code per filter in order (v${v})`, async () => {
      const client = await RawClient.connected(tb.port, v, `multi-${v}`);
      const tooLong = `multi/${'x'.repeat(40)}`;
      const ack = await subscribe(client, [
        sub(`multi/${v}/a`, 2),
        sub(tooLong, 1),
        sub(`multi/${v}/b`, 1),
      ]);
      const failure = v === 5 ? 0x8f : 0x80;
      assert.deepEqual(ack.reasonCodes, [2, failure, 1]);
      if (v === 5) assert.ok(ack.reasonCodes.every((c) => SUBSCRIBE_CODES.has(c)));
      await subscribe(client, [sub(SENTINEL)], 2);
      const a = await deliveries(client, `multi/${v}/a`, ['to a']);
      const b = await deliveries(client, `multi/${v}/b`, ['to b']);
      assert.deepEqual(
        [...a, ...b].map((p) => p.payload.toString()),
        ['to a', 'to b'],
      );
      client.destroy();
    });

    it(`[MQTT-3.8.4-4] (5.0) [MQTT-3.8.4-3] a SUBSCRIBE repeating a filter replaces the subscription: new QoS, retained messages again, and no message lost or doubled (v${v})`, async () => {
      const topic = `replace/${v}`;
      const p = await RawClient.connected(tb.port, v, `replace-pub-${v}`);
      p.send(publishPacket(topic, 'retained', 1, { retain: true }));
      await p.next('puback');
      const client = await RawClient.connected(tb.port, v, `replace-${v}`);
      await subscribe(client, [sub(topic, 1), sub(SENTINEL)]);
      assert.equal((await client.next('publish')).payload.toString(), 'retained');
      for (let i = 0; i < 30; i++) p.send(publishPacket(topic, String(i), 1, { packetId: i + 2 }));
      const again = await subscribe(client, [sub(topic, 0)], 2);
      assert.deepEqual(again.reasonCodes, [0]);
      for (let i = 30; i < 60; i++) p.send(publishPacket(topic, String(i), 1, { packetId: i + 2 }));
      p.send(publishPacket(SENTINEL, 'end'));
      const got = await publishesUntil(client, SENTINEL);
      const live = got.filter((p) => p.payload.toString() !== 'retained');
      assert.deepEqual(
        live.map((p) => Number(p.payload.toString())),
        Array.from({ length: 60 }, (_, i) => i),
      );
      assert.equal(got.length - live.length, 1, 'the retained message came again');
      assert.equal(live.at(-1)?.qos, 0, 'the new QoS applies');
      client.destroy();
      p.destroy();
    });

    it(`[MQTT-3.11.3-2] (5.0) [MQTT-3.10.4-1] [MQTT-3.10.4-2] UNSUBSCRIBE deletes only a subscription whose filter is the same, character for character; no new messages come for it (v${v})`, async () => {
      const client = await RawClient.connected(tb.port, v, `unsub-${v}`);
      await subscribe(client, [sub(`unsub/${v}/+`, 0), sub(`unsub/${v}/b`, 1), sub(SENTINEL)]);
      const before = await deliveries(client, `unsub/${v}/b`, ['before'], 1);
      assert.equal(before[0]?.qos, 1, 'the QoS 1 subscription is there');
      const ack = await unsubscribe(client, [`unsub/${v}/b`, `UNSUB/${v}/+`]);
      if (v === 5) {
        assert.deepEqual(ack.reasonCodes, [0x00, 0x11]);
        assert.ok(ack.reasonCodes.every((c) => UNSUBSCRIBE_CODES.has(c)));
      }
      const rest = await deliveries(client, `unsub/${v}/b`, ['after'], 1);
      assert.deepEqual(
        rest.map((p) => [p.payload.toString(), p.qos]),
        [['after', 0]],
        'only the wildcard subscription is left',
      );
      client.destroy();
    });

    it(`[MQTT-3.10.4-3] a QoS 2 delivery started before the UNSUBSCRIBE is completed (v${v})`, async () => {
      const client = await RawClient.connected(tb.port, v, `unsub-q2-${v}`);
      await subscribe(client, [sub(`unsub-q2/${v}`, 2)]);
      const p = await RawClient.connected(tb.port, v, `unsub-q2-pub-${v}`);
      p.send(publishPacket(`unsub-q2/${v}`, 'started', 2, { packetId: 77 }));
      const got = await client.next('publish');
      await unsubscribe(client, [`unsub-q2/${v}`]);
      client.send({ type: 'pubrec', packetId: got.packetId! });
      assert.equal((await client.next('pubrel')).packetId, got.packetId);
      client.send({ type: 'pubcomp', packetId: got.packetId! });
      await settle(client);
      assert.deepEqual(client.received, []);
      await p.next('pubrec');
      p.send({ type: 'pubrel', packetId: 77 });
      await p.next('pubcomp');
      client.destroy();
      p.destroy();
    });

    it(`[MQTT-3.10.4-6] (3.1.1) [MQTT-3.10.4-6] [MQTT-3.11.3-1] (5.0) several filters in one UNSUBSCRIBE: each removed on its own, one UNSUBACK (v${v})`, async () => {
      const client = await RawClient.connected(tb.port, v, `unsub-multi-${v}`);
      await subscribe(client, [sub(`um/${v}/a`), sub(`um/${v}/b`), sub(SENTINEL)]);
      const ack = await unsubscribe(client, [`um/${v}/a`, `um/${v}/none`, `um/${v}/b`], 9);
      assert.equal(ack.packetId, 9);
      if (v === 5) assert.deepEqual(ack.reasonCodes, [0x00, 0x11, 0x00]);
      await settle(client);
      assert.deepEqual(takePublishes(client), []);
      assert.deepEqual(await deliveries(client, `um/${v}/a`, ['x']), []);
      assert.deepEqual(await deliveries(client, `um/${v}/b`, ['y']), []);
      client.destroy();
    });
  }

  it('[MQTT-3.3.2-3] (3.1.1) deviation: a 3.1.1 filter starting with $share/ is an MQTT 5 shared subscription, so the client gets topics its filter does not match', async () => {
    const client = await RawClient.connected(tb.port, 4, 'share-311');
    await subscribe(client, [sub('$share/g/share311/t'), sub(SENTINEL)]);
    pub.send(publishPacket('share311/t', 'shared'));
    pub.send(publishPacket('$share/g/share311/t', 'literal'));
    pub.send(publishPacket(SENTINEL, 'end'));
    const got = await publishesUntil(client, SENTINEL);
    assert.deepEqual(
      got.map((p) => [p.topic, p.payload.toString()]),
      [['share311/t', 'shared']],
    );
    const strict = await RawClient.connected(tb.port, 4, 'share-311-empty');
    strict.send({ type: 'subscribe', packetId: 1, subscriptions: [sub('$share//a')] });
    await strict.waitClose();
    assert.deepEqual(strict.received, [], 'a valid 3.1.1 filter closes the connection');
    client.destroy();
  });
});
