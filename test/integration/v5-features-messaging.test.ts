/**
 * MQTT 5 message features over real TCP with MQTT.js (protocolVersion 5): expiry, properties
 * forwarded unchanged, payload format checks, subscription options and identifiers, topic
 * aliases, response information and the client's Maximum Packet Size.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import type { TestBroker } from '../helpers/broker.js';
import { endClient, nextMessages, startBroker, waitFor } from '../helpers/broker.js';

const V5: IClientOptions = { protocolVersion: 5 };

function connectV5(
  url: string,
  options: IClientOptions = {},
): Promise<{ client: MqttClient; connack: IConnackPacket }> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      ...V5,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...options,
    });
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('connect', (connack) => resolve({ client, connack }));
  });
}

async function client(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return (await connectV5(url, options)).client;
}

describe('integration v5: messages', () => {
  let tb: TestBroker;
  const open: MqttClient[] = [];
  const track = (c: MqttClient): MqttClient => {
    open.push(c);
    return c;
  };

  before(async () => {
    tb = await startBroker({ responseInformation: (id) => `reply/${id}` });
  });
  after(async () => {
    await Promise.all(open.map((c) => endClient(c, true)));
    await tb.close();
  });

  it('[MQTT-3.3.2-6] forwards the Message Expiry Interval (never higher than sent)', async () => {
    const sub = track(await client(tb.url));
    await sub.subscribeAsync('exp/t', { qos: 1 });
    const pub = track(await client(tb.url));
    const got = nextMessages(sub, 1);
    await pub.publishAsync('exp/t', 'x', { qos: 1, properties: { messageExpiryInterval: 60 } });
    const [m] = await got;
    const interval = m!.packet.properties?.messageExpiryInterval;
    assert.ok(interval !== undefined && interval > 0 && interval <= 60, `interval ${interval}`);
  });

  it('[MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-20] request/response properties and user properties arrive unchanged', async () => {
    const sub = track(await client(tb.url));
    await sub.subscribeAsync('req/t');
    const pub = track(await client(tb.url));
    const got = nextMessages(sub, 1);
    const correlation = Buffer.from([0, 1, 2, 0xff]);
    await pub.publishAsync('req/t', 'ask', {
      properties: {
        responseTopic: 'resp/abc',
        correlationData: correlation,
        contentType: 'text/plain',
        userProperties: { a: '1', b: ['2', '3'] },
      },
    });
    const [m] = await got;
    const p = m!.packet.properties;
    assert.equal(p?.responseTopic, 'resp/abc');
    assert.deepEqual(Buffer.from(p?.correlationData ?? []), correlation);
    assert.equal(p?.contentType, 'text/plain');
    assert.deepEqual({ ...p?.userProperties }, { a: '1', b: ['2', '3'] });
  });

  it('request/response round trip: the responder answers on the response topic with the correlation data', async () => {
    const responder = track(await client(tb.url));
    await responder.subscribeAsync('svc/echo');
    responder.on('message', (_t, payload, packet) => {
      const props = packet.properties;
      if (!props?.responseTopic) return;
      responder.publish(props.responseTopic, Buffer.concat([Buffer.from('re:'), payload]), {
        properties: { correlationData: props.correlationData },
      });
    });
    const requester = track(await client(tb.url));
    await requester.subscribeAsync('svc/reply/me');
    const got = nextMessages(requester, 1);
    await requester.publishAsync('svc/echo', 'ping', {
      properties: { responseTopic: 'svc/reply/me', correlationData: Buffer.from('id-7') },
    });
    const [m] = await got;
    assert.equal(m!.payload.toString(), 're:ping');
    assert.equal(Buffer.from(m!.packet.properties?.correlationData ?? []).toString(), 'id-7');
  });

  it('§3.1.2.11.6 Response Information in CONNACK when requested', async () => {
    const asked = await connectV5(tb.url, {
      clientId: 'resp-info',
      properties: { requestResponseInformation: true },
    });
    track(asked.client);
    assert.equal(asked.connack.properties?.responseInformation, 'reply/resp-info');
    const plain = await connectV5(tb.url);
    track(plain.client);
    assert.equal(plain.connack.properties?.responseInformation, undefined);
  });

  it('§3.3.2.3.2 Payload Format Indicator 1 with invalid UTF-8 is refused with PUBACK 0x99', async () => {
    const sub = track(await client(tb.url));
    await sub.subscribeAsync('pfi/t', { qos: 1 });
    const pub = track(await client(tb.url));
    await assert.rejects(
      pub.publishAsync('pfi/t', Buffer.from([0xc3, 0x28]), {
        qos: 1,
        properties: { payloadFormatIndicator: true },
      }),
      (err: Error & { code?: number }) => err.code === 0x99,
    );
    const got = nextMessages(sub, 1);
    await pub.publishAsync('pfi/t', 'ok', { qos: 1, properties: { payloadFormatIndicator: true } });
    const [m] = await got;
    assert.equal(m!.payload.toString(), 'ok', 'only the valid message was routed');
    assert.equal(m!.packet.properties?.payloadFormatIndicator, true);
  });

  it('[MQTT-3.8.3-3] No Local over TCP', async () => {
    const self = track(await client(tb.url));
    await self.subscribeAsync('nl/t', { qos: 0, nl: true });
    await self.subscribeAsync('nl/echo', { qos: 0 });
    const got = nextMessages(self, 1);
    self.publish('nl/t', 'mine');
    self.publish('nl/echo', 'marker'); // arrives after 'mine' would have: order is kept
    const [m] = await got;
    assert.equal(m!.topic, 'nl/echo');
  });

  it('[MQTT-3.3.4-4] Subscription Identifiers: several on one delivery for overlapping filters', async () => {
    const sub = track(await client(tb.url));
    await sub.subscribeAsync('sid/#', { qos: 0, properties: { subscriptionIdentifier: 11 } });
    await sub.subscribeAsync('sid/+', { qos: 0, properties: { subscriptionIdentifier: 22 } });
    const got = nextMessages(sub, 1);
    sub.publish('sid/x', 'y');
    const [m] = await got;
    const ids = m!.packet.properties?.subscriptionIdentifier;
    assert.deepEqual([ids].flat().sort(), [11, 22]);
  });

  it('[MQTT-3.3.1-12] [MQTT-3.3.1-13] Retain As Published over TCP', async () => {
    const keep = track(await client(tb.url));
    await keep.subscribeAsync('rap/t', { qos: 0, rap: true });
    const clear = track(await client(tb.url));
    await clear.subscribeAsync('rap/t', { qos: 0 });
    const a = nextMessages(keep, 1);
    const b = nextMessages(clear, 1);
    const pub = track(await client(tb.url));
    await pub.publishAsync('rap/t', 'r', { retain: true });
    assert.equal((await a)[0]!.packet.retain, true);
    assert.equal((await b)[0]!.packet.retain, false);
    await pub.publishAsync('rap/t', '', { retain: true }); // clear the retained message
  });

  it('[MQTT-3.3.2-12] topic aliases from MQTT.js (autoUseTopicAlias) are resolved', async () => {
    const sub = track(await client(tb.url));
    await sub.subscribeAsync('alias/in/#');
    const pub = track(
      await client(tb.url, { autoUseTopicAlias: true, autoAssignTopicAlias: true }),
    );
    const got = nextMessages(sub, 4);
    for (let i = 0; i < 4; i++) await pub.publishAsync(`alias/in/${i % 2}`, String(i));
    const msgs = await got;
    assert.deepEqual(
      msgs.map((m) => `${m.topic}=${m.payload.toString()}`),
      ['alias/in/0=0', 'alias/in/1=1', 'alias/in/0=2', 'alias/in/1=3'],
    );
  });

  it('[MQTT-3.3.2-11] topic aliases to a client that accepts them, never above its maximum', async () => {
    const sub = track(await client(tb.url, { properties: { topicAliasMaximum: 2 } }));
    const aliases: (number | undefined)[] = [];
    sub.on('packetreceive', (packet) => {
      if (packet.cmd === 'publish') aliases.push(packet.properties?.topicAlias);
    });
    await sub.subscribeAsync('alias/out/#');
    const got = nextMessages(sub, 6);
    const pub = track(await client(tb.url));
    for (const t of ['a', 'b', 'c', 'a', 'b', 'c']) await pub.publishAsync(`alias/out/${t}`, t);
    const msgs = await got;
    assert.deepEqual(
      msgs.map((m) => m.topic),
      ['a', 'b', 'c', 'a', 'b', 'c'].map((t) => `alias/out/${t}`),
      'MQTT.js resolved every alias to the right topic',
    );
    assert.ok(
      aliases.some((a) => a !== undefined),
      'aliases were used',
    );
    assert.ok(aliases.every((a) => a === undefined || (a >= 1 && a <= 2)));
  });

  it('[MQTT-3.1.2-24] a message larger than the client Maximum Packet Size is dropped for it and counted', async () => {
    const before = tb.broker.core.metrics.dropped['packet-too-large'];
    const small = track(await client(tb.url, { properties: { maximumPacketSize: 128 } }));
    await small.subscribeAsync('mps/t');
    const big = track(await client(tb.url));
    await big.subscribeAsync('mps/t');
    const smallGot = nextMessages(small, 1);
    const bigGot = nextMessages(big, 2);
    const pub = track(await client(tb.url));
    await pub.publishAsync('mps/t', Buffer.alloc(1000, 1));
    await pub.publishAsync('mps/t', 'small');
    assert.equal((await smallGot)[0]!.payload.toString(), 'small');
    assert.equal((await bigGot).length, 2);
    await waitFor(() => tb.broker.core.metrics.dropped['packet-too-large'] === before + 1);
    assert.equal(small.connected, true);
  });
});
