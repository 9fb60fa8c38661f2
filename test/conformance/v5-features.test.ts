/**
 * Conformance over TCP, MQTT 5.0: server capabilities in CONNACK, failure acknowledgements,
 * message expiry during QoS 2, shared subscriptions and enhanced authentication.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrokerOptions } from '../../src/index.js';
import type { TestBroker } from '../helpers/broker.js';
import { startBroker, waitFor } from '../helpers/broker.js';
import { connectBytes, RawClient } from '../helpers/raw-client.js';
import {
  connectRaw,
  gone,
  publishesUntil,
  publishPacket,
  settle,
  sub,
  subscribe,
  takePublishes,
} from './wire.js';

const SENTINEL = 'sentinel/v5-features';
const persistent = { clean: false, properties: { sessionExpiryInterval: 60 } };
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A broker for one test, closed when it ends. */
async function withBroker(options: BrokerOptions, body: (tb: TestBroker) => Promise<void>) {
  const tb = await startBroker(options);
  try {
    await body(tb);
  } finally {
    await tb.close();
  }
}

describe('conformance v5: capabilities announced in CONNACK', () => {
  it('[MQTT-3.2.2-9] [MQTT-3.2.2-10] [MQTT-3.2.2-12] (5.0) Maximum QoS 1: announced, a QoS 2 SUBSCRIBE is granted QoS 1, a QoS 2 will is refused with 0x9B', async () => {
    await withBroker({ maximumQoS: 1 }, async (tb) => {
      const { client, connack } = await connectRaw(tb.port, 5, 'max-qos');
      assert.equal(connack.properties?.maximumQoS, 1);
      assert.deepEqual((await subscribe(client, [sub('maxqos/t', 2)])).reasonCodes, [1]);
      client.destroy();
      const will = {
        topic: 'maxqos/will',
        payload: Buffer.from('w'),
        qos: 2 as const,
        retain: false,
      };
      const refused = await connectRaw(tb.port, 5, 'max-qos-will', { will });
      assert.equal(refused.connack.reasonCode, 0x9b);
      await refused.client.waitClose();
    });
  });

  it('[MQTT-3.2.2-13] (5.0) without retained messages, a retained will is refused with 0x9A', async () => {
    await withBroker({ retainAvailable: false }, async (tb) => {
      const will = {
        topic: 'noretain/will',
        payload: Buffer.from('w'),
        qos: 0 as const,
        retain: true,
      };
      const { client, connack } = await connectRaw(tb.port, 5, 'no-retain', { will });
      assert.equal(connack.reasonCode, 0x9a);
      await client.waitClose();
    });
  });

  it('[MQTT-3.1.2-28] (5.0) Response Information only for a client that asked with Request Response Information 1', async () => {
    await withBroker({ responseInformation: (id) => `replies/${id}` }, async (tb) => {
      const silent = await connectRaw(tb.port, 5, 'no-ask');
      const zero = await connectRaw(tb.port, 5, 'ask-0', {
        properties: { requestResponseInformation: 0 },
      });
      const asked = await connectRaw(tb.port, 5, 'ask-1', {
        properties: { requestResponseInformation: 1 },
      });
      assert.equal(silent.connack.properties?.responseInformation, undefined);
      assert.equal(zero.connack.properties?.responseInformation, undefined);
      assert.equal(asked.connack.properties?.responseInformation, 'replies/ask-1');
      for (const c of [silent, zero, asked]) c.client.destroy();
    });
  });
});

describe('conformance v5: failure acknowledgements and expiry in QoS 2', () => {
  let tb: TestBroker;
  before(async () => {
    tb = await startBroker();
    tb.broker.addHook({
      name: 'deny-some',
      authorizePublish: (_client, p) => (p.topic.startsWith('deny/') ? 'deny' : 'allow'),
    });
  });
  after(async () => {
    await tb.close();
  });

  it('[MQTT-4.3.3-9] (5.0) after a PUBREC with a failure code, the packet id starts a new message', async () => {
    const watcher = await RawClient.connected(tb.port, 5, 'refused-watch');
    await subscribe(watcher, [sub('ok/#', 2), sub(SENTINEL)]);
    const pub = await RawClient.connected(tb.port, 5, 'refused-pub');
    pub.send(publishPacket('deny/t', 'refused', 2, { packetId: 5 }));
    assert.equal((await pub.next('pubrec')).reasonCode, 0x87);
    pub.send(publishPacket('ok/t', 'accepted', 2, { packetId: 5 }));
    assert.equal((await pub.next('pubrec')).reasonCode, 0x00);
    pub.send({ type: 'pubrel', packetId: 5 });
    await pub.next('pubcomp');
    pub.send(publishPacket(SENTINEL, 'end'));
    const got = await publishesUntil(watcher, SENTINEL);
    assert.deepEqual(
      got.map((p) => p.payload.toString()),
      ['accepted'],
    );
    watcher.destroy();
    pub.destroy();
  });

  it('[MQTT-4.4.0-2] (5.0) a PUBACK or PUBREC of 0x80 or above from the client ends the delivery: no PUBREL, nothing resent when the session resumes', async () => {
    const client = await RawClient.connected(tb.port, 5, 'nack', persistent);
    await subscribe(client, [sub('nack/#', 2)]);
    const pub = await RawClient.connected(tb.port, 5, 'nack-pub');
    pub.send(publishPacket('nack/1', 'one', 1, { packetId: 1 }));
    pub.send(publishPacket('nack/2', 'two', 2, { packetId: 2 }));
    const one = await client.next('publish');
    const two = await client.next('publish');
    client.send({ type: 'puback', packetId: one.packetId!, reasonCode: 0x80 });
    client.send({ type: 'pubrec', packetId: two.packetId!, reasonCode: 0x80 });
    await settle(client);
    assert.deepEqual(client.received, [], 'no PUBREL for the failed PUBREC');
    client.destroy();
    await gone(tb, 'nack');
    const again = await RawClient.connected(tb.port, 5, 'nack', persistent);
    await settle(again);
    assert.deepEqual(again.received, []);
    again.destroy();
    pub.destroy();
  });

  it('[MQTT-4.3.3-7] (5.0) a QoS 2 PUBLISH sent before its message expired is sent again after the expiry when the session resumes', async () => {
    const client = await RawClient.connected(tb.port, 5, 'late-q2', persistent);
    await subscribe(client, [sub('lateq2/t', 2)]);
    const pub = await RawClient.connected(tb.port, 5, 'late-q2-pub');
    const expiring = { properties: { messageExpiryInterval: 1 } };
    pub.send(publishPacket('lateq2/t', 'in flight', 2, { packetId: 3, ...expiring }));
    const first = await client.next('publish');
    client.destroy();
    await gone(tb, 'late-q2');
    await pause(1500);
    const again = await RawClient.connected(tb.port, 5, 'late-q2', persistent);
    const resent = await again.next('publish');
    assert.deepEqual(
      [resent.payload.toString(), resent.packetId, resent.dup],
      ['in flight', first.packetId, true],
    );
    again.destroy();
    pub.destroy();
  });

  it('[MQTT-4.3.3-13] (5.0) the server completes a QoS 2 exchange whose message expired meanwhile', async () => {
    const pub = await RawClient.connected(tb.port, 5, 'expired-in-exchange');
    pub.send(
      publishPacket('expiredq2/t', 'x', 2, {
        packetId: 4,
        properties: { messageExpiryInterval: 1 },
      }),
    );
    await pub.next('pubrec');
    await pause(1500);
    pub.send({ type: 'pubrel', packetId: 4 });
    const comp = await pub.next('pubcomp');
    assert.deepEqual([comp.packetId, comp.reasonCode ?? 0], [4, 0x00]);
    pub.destroy();
  });
});

describe('conformance v5: shared subscriptions', () => {
  let tb: TestBroker;
  before(async () => {
    tb = await startBroker();
  });
  after(async () => {
    await tb.close();
  });

  it('[MQTT-4.8.2-3] (5.0) each member of a shared subscription gets messages at the QoS it was granted', async () => {
    const low = await RawClient.connected(tb.port, 5, 'share-low');
    const high = await RawClient.connected(tb.port, 5, 'share-high');
    await subscribe(low, [sub('$share/g3/shq/t', 0)]);
    await subscribe(high, [sub('$share/g3/shq/t', 2)]);
    const pub = await RawClient.connected(tb.port, 5, 'share-qos-pub');
    for (let i = 0; i < 6; i++) pub.send(publishPacket('shq/t', String(i), 2, { packetId: i + 1 }));
    await waitFor(() => low.received.length + high.received.length === 6, 5000, 'six deliveries');
    const lowQos = takePublishes(low).map((p) => p.qos);
    const highQos = takePublishes(high).map((p) => p.qos);
    assert.ok(lowQos.length > 0 && highQos.length > 0, 'both members take messages');
    assert.ok(lowQos.every((q) => q === 0) && highQos.every((q) => q === 2));
    for (const c of [low, high, pub]) c.destroy();
  });

  it('[MQTT-4.8.2-6] (5.0) a shared delivery refused with PUBACK 0x80 is dropped, not given to another member', async () => {
    const first = await RawClient.connected(tb.port, 5, 'share-nack-a');
    await subscribe(first, [sub('$share/g6/shn/t', 1), sub(SENTINEL)]);
    const pub = await RawClient.connected(tb.port, 5, 'share-nack-pub');
    pub.send(publishPacket('shn/t', 'refused', 1, { packetId: 1 }));
    const refused = await first.next('publish');
    first.send({ type: 'puback', packetId: refused.packetId!, reasonCode: 0x80 });
    await settle(first);
    const second = await RawClient.connected(tb.port, 5, 'share-nack-b');
    await subscribe(second, [sub('$share/g6/shn/t', 1), sub(SENTINEL)]);
    first.destroy();
    await gone(tb, 'share-nack-a');
    pub.send(publishPacket(SENTINEL, 'end'));
    assert.deepEqual(await publishesUntil(second, SENTINEL), []);
    second.destroy();
    pub.destroy();
  });

  it('[MQTT-4.8.2-4] (5.0) deviation: a QoS 2 shared delivery cut off by a disconnect goes to another member, not back to the member when it reconnects', async () => {
    const first = await RawClient.connected(tb.port, 5, 'share-q2-a', persistent);
    const second = await RawClient.connected(tb.port, 5, 'share-q2-b');
    await subscribe(first, [sub('$share/g4/shq2/t', 2)]);
    const pub = await RawClient.connected(tb.port, 5, 'share-q2-pub');
    pub.send(publishPacket('shq2/t', 'exactly once', 2, { packetId: 1 }));
    const cut = await first.next('publish');
    assert.equal(cut.payload.toString(), 'exactly once');
    await subscribe(second, [sub('$share/g4/shq2/t', 2)]);
    first.destroy();
    const moved = await second.next('publish');
    assert.equal(moved.payload.toString(), 'exactly once', 'sent to the other member');
    await gone(tb, 'share-q2-a');
    const back = await RawClient.connected(tb.port, 5, 'share-q2-a', persistent);
    await settle(back);
    assert.deepEqual(takePublishes(back), [], 'not completed with the member that reconnected');
    for (const c of [back, second, pub]) c.destroy();
  });
  it('[MQTT-4.8.2-5] (5.0) deviation: a QoS 2 shared delivery whose member session ends goes to another member', async () => {
    const first = await RawClient.connected(tb.port, 5, 'share-end-a');
    const second = await RawClient.connected(tb.port, 5, 'share-end-b');
    await subscribe(first, [sub('$share/g5/shend/t', 2)]);
    const pub = await RawClient.connected(tb.port, 5, 'share-end-pub');
    pub.send(publishPacket('shend/t', 'exactly once', 2, { packetId: 1 }));
    assert.equal((await first.next('publish')).payload.toString(), 'exactly once');
    await subscribe(second, [sub('$share/g5/shend/t', 2)]);
    first.destroy(); // Session Expiry 0: the session ends with the connection
    const moved = await second.next('publish');
    assert.equal(moved.payload.toString(), 'exactly once');
    second.destroy();
    pub.destroy();
  });
});

describe('conformance v5: enhanced authentication', () => {
  let tb: TestBroker;
  before(async () => {
    tb = await startBroker();
    tb.broker.addHook({
      name: 'challenge',
      authenticate: ({ authenticationMethod, authenticationData }) => {
        if (authenticationMethod !== 'CHAL') return 'allow';
        // No data opens an exchange (CONNECT, or AUTH 0x19 to re-authenticate).
        if (authenticationData === undefined) {
          return { result: 'continue', authenticationData: Buffer.from('question') };
        }
        return authenticationData.toString() === 'answer' ? 'allow' : 'deny';
      },
    });
  });
  after(async () => {
    await tb.close();
  });

  const method = { properties: { authenticationMethod: 'CHAL' } };
  const answer = { authenticationMethod: 'CHAL', authenticationData: Buffer.from('answer') };

  it('[MQTT-3.14.0-1] (5.0) a PUBLISH during enhanced authentication is refused with CONNACK 0x82, never a DISCONNECT', async () => {
    const client = await RawClient.open(tb.port, 5);
    client.write(connectBytes(5, 'early-publish', method));
    await client.next('auth');
    client.send(publishPacket('early/t', 'too soon'));
    await client.waitClose();
    assert.deepEqual(
      client.received.map((p) => [p.type, 'reasonCode' in p ? p.reasonCode : undefined]),
      [['connack', 0x82]],
    );
  });

  it('[MQTT-3.15.2-1] (5.0) AUTH packets use Authenticate Reason Codes: 0x18 to continue, 0x00 when re-authentication succeeds', async () => {
    const client = await RawClient.open(tb.port, 5);
    client.write(connectBytes(5, 'auth-codes', method));
    const codes = [(await client.next('auth')).reasonCode];
    client.send({ type: 'auth', reasonCode: 0x18, properties: answer });
    assert.equal((await client.next('connack')).reasonCode, 0);
    client.send({ type: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'CHAL' } });
    codes.push((await client.next('auth')).reasonCode);
    client.send({ type: 'auth', reasonCode: 0x18, properties: answer });
    codes.push((await client.next('auth')).reasonCode);
    assert.deepEqual(codes, [0x18, 0x18, 0x00]);
    client.destroy();
  });
});
