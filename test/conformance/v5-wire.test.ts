/**
 * Conformance over TCP, MQTT 5.0: what goes over the wire: malformed input, reason codes,
 * properties, flow control, Maximum Packet Size and Topic Aliases.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestBroker } from '../helpers/broker.js';
import { startBroker } from '../helpers/broker.js';
import { hex, pkt, RawClient, str } from '../helpers/raw-client.js';
import {
  publishesUntil,
  publishPacket,
  rawPackets,
  recordBytes,
  settle,
  splitPackets,
  sub,
  subscribe,
  takePublishes,
  unsubscribe,
} from './wire.js';

const SENTINEL = 'sentinel/v5-wire';
/** PUBACK and PUBREC reason codes (sections 3.4.2.1, 3.5.2.1). */
const PUBACK_CODES = new Set([0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]);
/** PUBREL and PUBCOMP reason codes (sections 3.6.2.1, 3.7.2.1). */
const PUBREL_CODES = new Set([0x00, 0x92]);

/** Bytes in the Variable Byte Integer at `at`, and its value. */
function varint(bytes: Buffer, at: number): { value: number; length: number } {
  let value = 0;
  let multiplier = 1;
  let length = 0;
  for (;;) {
    const b = bytes[at + length]!;
    length++;
    value += (b & 0x7f) * multiplier;
    multiplier *= 128;
    if ((b & 0x80) === 0) return { value, length };
  }
}

describe('conformance v5: the wire', () => {
  let tb: TestBroker;
  let pub: RawClient;
  before(async () => {
    tb = await startBroker();
    pub = await RawClient.connected(tb.port, 5, 'v5-wire-publisher');
  });
  after(async () => {
    pub.destroy();
    await tb.close();
  });

  /** Sends `bytes` on a fresh connection and returns what came back before the close. */
  async function answerTo(bytes: Buffer, id: string) {
    const client = await RawClient.connected(tb.port, 5, id);
    client.write(bytes);
    await client.waitClose();
    return client.received.map((p) =>
      p.type === 'disconnect' ? `disconnect 0x${(p.reasonCode ?? 0).toString(16)}` : p.type,
    );
  }

  it('[MQTT-2.1.3-1] [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1] [MQTT-3.15.1-1] [MQTT-3.3.1-2] [MQTT-4.13.1-1] [MQTT-4.13.2-1] (5.0) wrong fixed-header flags are a Malformed Packet: DISCONNECT 0x81, then a close', async () => {
    const cases: [string, Buffer][] = [
      ['PINGREQ 0001', hex('c1 00')],
      ['PUBREL 0000', hex('60 02 0001')],
      ['SUBSCRIBE 0000', pkt(0x80, `0001 00 ${str('a')} 00`)],
      ['UNSUBSCRIBE 0000', pkt(0xa0, `0001 00 ${str('a')}`)],
      ['AUTH 0001', hex('f1 00')],
      ['PUBLISH QoS 0 with DUP', pkt(0x38, `${str('a')} 00 61`)],
    ];
    for (const [name, bytes] of cases) {
      assert.deepEqual(await answerTo(bytes, `flags-${name}`), ['disconnect 0x81'], name);
    }
  });

  it('[MQTT-1.5.5-1] (5.0) a Remaining Length in more bytes than needed is malformed; the server encodes its own in the fewest', async () => {
    assert.deepEqual(await answerTo(hex('c0 80 00'), 'varint-long'), ['disconnect 0x81']);
    const client = await RawClient.connected(tb.port, 5, 'varint-short');
    await subscribe(client, [sub('varint/t')]);
    const bytes = recordBytes(client);
    pub.send(publishPacket('varint/t', Buffer.alloc(200, 0x61)));
    await client.next('publish');
    const [raw] = rawPackets(bytes(), 3);
    const { value, length } = varint(raw!, 1);
    assert.equal(length, value < 128 ? 1 : value < 16384 ? 2 : 3);
    client.destroy();
  });

  it('[MQTT-1.5.4-1] [MQTT-1.5.4-2] [MQTT-1.5.7-1] [MQTT-3.3.2-13] [MQTT-3.3.2-19] (5.0) string properties that break the UTF-8 rules are malformed: Response Topic, Content Type, User Property', async () => {
    const publishWith = (props: string) => {
      const length = hex(props).length.toString(16).padStart(2, '0');
      return pkt(0x30, `${str('a')} ${length} ${props} 61`);
    };
    const cases: [string, Buffer][] = [
      ['Response Topic not UTF-8', publishWith('08 0002 c328')],
      ['Content Type not UTF-8', publishWith('03 0002 c328')],
      ['User Property name with U+0000', publishWith('26 0002 6100 0001 62')],
      ['User Property value not UTF-8', publishWith('26 0001 61 0002 c328')],
    ];
    for (const [name, bytes] of cases) {
      assert.deepEqual(await answerTo(bytes, `utf8-${name}`), ['disconnect 0x81'], name);
    }
  });

  it('[MQTT-2.2.2-1] (5.0) SUBACK, UNSUBACK and a PUBLISH without properties carry a Property Length of 0', async () => {
    const client = await RawClient.connected(tb.port, 5, 'no-props');
    const bytes = recordBytes(client);
    await subscribe(client, [sub('noprops/t')], 3);
    pub.send(publishPacket('noprops/t', 'p'));
    await client.next('publish');
    await unsubscribe(client, ['noprops/t'], 4);
    const [suback] = rawPackets(bytes(), 9);
    const [publish] = rawPackets(bytes(), 3);
    const [unsuback] = rawPackets(bytes(), 11);
    assert.equal(suback![4], 0, 'SUBACK: after the packet id');
    assert.equal(unsuback![4], 0, 'UNSUBACK: after the packet id');
    assert.equal(publish![2 + 2 + 'noprops/t'.length], 0, 'PUBLISH QoS 0: after the topic');
    client.destroy();
  });

  it('[MQTT-3.4.2-1] [MQTT-3.5.2-1] [MQTT-3.6.2-1] [MQTT-3.7.2-1] (5.0) PUBACK, PUBREC, PUBREL and PUBCOMP use their defined reason codes', async () => {
    const client = await RawClient.connected(tb.port, 5, 'ack-codes');
    await subscribe(client, [sub('ackcodes/t', 2)]);
    const codes: [string, number][] = [];
    const p = await RawClient.connected(tb.port, 5, 'ack-codes-pub');
    p.send(publishPacket('ackcodes/none', 'x', 1, { packetId: 1 }));
    p.send(publishPacket('ackcodes/t', 'x', 2, { packetId: 2 }));
    p.send({ type: 'pubrel', packetId: 99 });
    codes.push(['puback', (await p.next('puback')).reasonCode ?? 0]);
    codes.push(['pubrec', (await p.next('pubrec')).reasonCode ?? 0]);
    codes.push(['pubcomp (unknown id)', (await p.next('pubcomp')).reasonCode ?? 0]);
    const delivery = await client.next('publish');
    client.send({ type: 'pubrec', packetId: delivery.packetId! });
    codes.push(['pubrel', (await client.next('pubrel')).reasonCode ?? 0]);
    for (const [type, code] of codes) {
      const allowed = type === 'puback' || type === 'pubrec' ? PUBACK_CODES : PUBREL_CODES;
      assert.ok(allowed.has(code), `${type} 0x${code.toString(16)}`);
    }
    assert.deepEqual(
      codes.map(([, c]) => c),
      [0x10, 0x00, 0x92, 0x00],
    );
    client.destroy();
    p.destroy();
  });

  it('[MQTT-3.3.4-9] [MQTT-3.3.4-10] [MQTT-4.9.0-1] [MQTT-4.9.0-2] [MQTT-4.9.0-3] (5.0) with Receive Maximum 2 two QoS 1 PUBLISH go out, then none until a PUBACK; QoS 0 and PINGRESP still flow', async () => {
    const client = await RawClient.connected(tb.port, 5, 'quota', {
      properties: { receiveMaximum: 2 },
    });
    await subscribe(client, [sub('quota/#', 1), sub(SENTINEL)]);
    for (let i = 1; i <= 4; i++) pub.send(publishPacket('quota/q1', String(i), 1, { packetId: i }));
    pub.send(publishPacket('quota/q0', 'zero', 0));
    pub.send(publishPacket(SENTINEL, 'end'));
    const first = await publishesUntil(client, SENTINEL);
    assert.deepEqual(
      first.map((p) => `${p.payload} q${p.qos}`),
      ['1 q1', '2 q1', 'zero q0'],
    );
    await settle(client);
    client.send({ type: 'puback', packetId: first[0]!.packetId! });
    assert.equal((await client.next('publish')).payload.toString(), '3');
    await settle(client);
    assert.deepEqual(takePublishes(client), [], 'the quota is full again');
    client.destroy();
  });

  it('[MQTT-3.1.2-25] (5.0) a PUBLISH too large for the client is dropped as if sent: with Receive Maximum 1 the next one still comes', async () => {
    const client = await RawClient.connected(tb.port, 5, 'too-large', {
      properties: { maximumPacketSize: 100, receiveMaximum: 1 },
    });
    await subscribe(client, [sub('toolarge/t', 1), sub(SENTINEL)]);
    pub.send(publishPacket('toolarge/t', Buffer.alloc(300, 0x62), 1, { packetId: 1 }));
    pub.send(publishPacket('toolarge/t', 'small', 1, { packetId: 2 }));
    pub.send(publishPacket(SENTINEL, 'end'));
    const got = await publishesUntil(client, SENTINEL);
    assert.deepEqual(
      got.map((p) => p.payload.toString()),
      ['small'],
    );
    client.destroy();
  });

  it('[MQTT-3.1.2-26] [MQTT-3.3.2-11] (5.0) the server uses Topic Aliases up to the client maximum, never above', async () => {
    const client = await RawClient.connected(tb.port, 5, 'aliases', {
      properties: { topicAliasMaximum: 2 },
    });
    await subscribe(client, [sub('alias/#'), sub(SENTINEL)]);
    for (let round = 0; round < 3; round++) {
      for (const t of ['a', 'b', 'c', 'd']) pub.send(publishPacket(`alias/${t}`, `${round}`));
    }
    pub.send(publishPacket(SENTINEL, 'end'));
    const aliases = (await publishesUntil(client, SENTINEL)).map((p) => p.properties?.topicAlias);
    assert.equal(aliases.length, 12);
    assert.ok(
      aliases.some((a) => a !== undefined),
      'aliases are used',
    );
    assert.ok(
      aliases.every((a) => a === undefined || (a >= 1 && a <= 2)),
      aliases.join(','),
    );
    client.destroy();
  });

  it('[MQTT-3.3.2-18] (5.0) a forwarded PUBLISH keeps the order of its User Properties', async () => {
    const userProperties: [string, string][] = [
      ['k', '3'],
      ['a', '1'],
      ['k', '2'],
      ['b', '0'],
    ];
    const client = await RawClient.connected(tb.port, 5, 'user-props');
    await subscribe(client, [sub('userprops/t')]);
    pub.send(publishPacket('userprops/t', 'p', 0, { properties: { userProperties } }));
    assert.deepEqual((await client.next('publish')).properties?.userProperties, userProperties);
    client.destroy();
  });

  it('[MQTT-3.1.2-24] (5.0) a SUBACK larger than the client Maximum Packet Size is not sent: DISCONNECT 0x95 instead', async () => {
    const client = await RawClient.connected(tb.port, 5, 'big-suback', {
      properties: { maximumPacketSize: 20 },
    });
    const bytes = recordBytes(client);
    const filters = Array.from({ length: 30 }, (_, i) => sub(`bigsuback/${i}`));
    client.send({ type: 'subscribe', packetId: 9, subscriptions: filters });
    assert.equal((await client.next('disconnect')).reasonCode, 0x95);
    await client.waitClose();
    assert.ok(
      splitPackets(bytes()).every((p) => p.length <= 20),
      'every packet within the limit',
    );
    assert.equal(
      client.received.some((p) => p.type === 'suback'),
      false,
    );
  });

  it('[MQTT-3.3.2-14] (5.0) a Response Topic with a wildcard is a Protocol Error: DISCONNECT 0x82, nothing routed', async () => {
    const client = await RawClient.connected(tb.port, 5, 'wild-response');
    await subscribe(client, [sub('wildresp/t')]);
    const p = await RawClient.connected(tb.port, 5, 'wild-response-pub');
    p.send(publishPacket('wildresp/t', 'p', 1, { properties: { responseTopic: 'replies/#' } }));
    assert.equal((await p.next('disconnect')).reasonCode, 0x82);
    await p.waitClose();
    // A PUBLISH sent after it on another connection arrives first and alone.
    const q = await RawClient.connected(tb.port, 5, 'wild-response-pub2');
    q.send(publishPacket('wildresp/t', 'q', 0));
    const got = await client.next('publish');
    assert.equal(got.payload.toString(), 'q');
    client.destroy();
    q.destroy();
  });
});
