/**
 * Conformance over TCP: PUBLISH, the QoS flows and packet identifiers, retained messages and
 * topics, in MQTT 3.1.1 and 5.0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PublishPacket } from '../../src/protocol/packets.js';
import type { TestBroker } from '../helpers/broker.js';
import { startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import {
  gone,
  publishesUntil,
  publishPacket,
  rawPackets,
  recordBytes,
  settle,
  sub,
  subscribe,
  takePublishes,
} from './wire.js';

const SENTINEL = 'sentinel/publish';
const versions = [4, 5] as const;

describe('conformance: PUBLISH and the QoS flows', () => {
  let tb: TestBroker;
  before(async () => {
    tb = await startBroker();
  });
  after(async () => {
    await tb.close();
  });

  async function subscriber(v: 4 | 5, id: string, filters: string[], qos: 0 | 1 | 2 = 2) {
    const client = await RawClient.connected(tb.port, v, id);
    await subscribe(client, [...filters.map((f) => sub(f, qos)), sub(SENTINEL)]);
    await settle(client);
    client.received.length = 0; // retained messages of earlier tests
    return client;
  }

  for (const v of versions) {
    it(`[MQTT-2.3.1-5] (3.1.1) [MQTT-2.2.1-2] (5.0) [MQTT-4.3.1-1] [MQTT-3.3.1-2] a QoS 0 delivery is a PUBLISH with QoS 0, DUP 0 and no packet identifier (v${v})`, async () => {
      const client = await subscriber(v, `q0-${v}`, [`q0/${v}`], 0);
      const bytes = recordBytes(client);
      const pub = await RawClient.connected(tb.port, v, `q0-pub-${v}`);
      pub.send(publishPacket(`q0/${v}`, 'abc', 1));
      await client.next('publish');
      const [raw] = rawPackets(bytes(), 3);
      assert.equal(raw![0], 0x30, 'QoS 0, DUP 0, RETAIN 0');
      const topicLength = raw!.readUInt16BE(2);
      const propertyLength = v === 5 ? 1 : 0;
      assert.equal(raw![1], 2 + topicLength + propertyLength + 3, 'no room for a packet id');
      client.destroy();
      pub.destroy();
    });

    it(`[MQTT-4.3.2-2] (5.0) [MQTT-3.3.1-3] a PUBLISH received with DUP 1 goes to subscribers with DUP 0 (v${v})`, async () => {
      const client = await subscriber(v, `dup-in-${v}`, [`dup-in/${v}`]);
      const pub = await RawClient.connected(tb.port, v, `dup-in-pub-${v}`);
      pub.send(publishPacket(`dup-in/${v}`, 'x', 1, { dup: true, packetId: 3 }));
      const got = await client.next('publish');
      assert.equal(got.dup, false);
      assert.equal(got.qos, 1);
      client.destroy();
      pub.destroy();
    });

    it(`[MQTT-2.3.1-6] [MQTT-4.3.2-2] [MQTT-4.3.3-2] (3.1.1) [MQTT-2.2.1-5] [MQTT-4.3.2-4] [MQTT-4.3.3-8] [MQTT-4.3.3-11] (5.0) [MQTT-3.3.4-1] a PUBLISH is answered as its QoS requires, with its packet id: nothing, PUBACK, PUBREC then PUBCOMP (v${v})`, async () => {
      const pub = await RawClient.connected(tb.port, v, `answers-${v}`);
      pub.send(publishPacket(`answers/${v}`, 'zero', 0));
      pub.send(publishPacket(`answers/${v}`, 'one', 1, { packetId: 11 }));
      pub.send(publishPacket(`answers/${v}`, 'two', 2, { packetId: 12 }));
      const rec = await pub.next('pubrec');
      pub.send({ type: 'pubrel', packetId: 12 });
      const comp = await pub.next('pubcomp');
      const ack = await pub.next('puback');
      await settle(pub);
      assert.deepEqual([ack.packetId, rec.packetId, comp.packetId], [11, 12, 12]);
      assert.deepEqual(pub.received, [], 'nothing for the QoS 0 PUBLISH');
      pub.destroy();
    });

    it(`[MQTT-4.3.3-1] [MQTT-2.3.1-6] (3.1.1) [MQTT-4.3.3-2] [MQTT-4.3.3-4] [MQTT-2.2.1-5] (5.0) a QoS 2 delivery: PUBLISH with DUP 0, then a PUBREL with its id for the PUBREC, then done on PUBCOMP (v${v})`, async () => {
      const client = await subscriber(v, `q2-out-${v}`, [`q2-out/${v}`]);
      const pub = await RawClient.connected(tb.port, v, `q2-out-pub-${v}`);
      pub.send(publishPacket(`q2-out/${v}`, 'x', 2, { packetId: 5 }));
      const got = await client.next('publish');
      assert.equal(got.qos, 2);
      assert.equal(got.dup, false);
      assert.ok(got.packetId! > 0);
      client.send({ type: 'pubrec', packetId: got.packetId! });
      const rel = await client.next('pubrel');
      assert.equal(rel.packetId, got.packetId);
      client.send({ type: 'pubcomp', packetId: got.packetId! });
      await settle(client);
      assert.deepEqual(client.received, []);
      client.destroy();
      pub.destroy();
    });

    it(`[MQTT-2.3.1-4] (3.1.1) [MQTT-2.2.1-4] [MQTT-4.3.2-1] [MQTT-4.3.3-1] (5.0) each QoS 1 and 2 PUBLISH in flight to a client has its own non-zero identifier (v${v})`, async () => {
      const client = await subscriber(v, `ids-${v}`, [`ids/${v}/+`]);
      const pub = await RawClient.connected(tb.port, v, `ids-pub-${v}`);
      for (let i = 0; i < 10; i++) {
        pub.send(
          publishPacket(`ids/${v}/${i % 2 === 0 ? 'one' : 'two'}`, String(i), 1, {
            packetId: i + 1,
          }),
        );
      }
      pub.send(publishPacket(SENTINEL, 'end'));
      const got = (await publishesUntil(client, SENTINEL)).map((p) => p.packetId!);
      assert.equal(got.length, 10);
      assert.ok(got.every((id) => id > 0));
      assert.equal(new Set(got).size, 10);
      client.destroy();
      pub.destroy();
    });

    it(`[MQTT-2.3.1-4] [MQTT-4.1.0-1] (3.1.1) [MQTT-4.3.2-3] [MQTT-4.3.3-3] [MQTT-4.3.3-5] [MQTT-4.3.3-6] (5.0) [MQTT-4.4.0-1] [MQTT-3.3.1-1] a resumed session gets its unacknowledged PUBLISH again with DUP 1 and the same id, and only the PUBREL of a PUBREC'd one (v${v})`, async () => {
      const id = `resend-${v}`;
      const fields =
        v === 5 ? { clean: false, properties: { sessionExpiryInterval: 60 } } : { clean: false };
      const first = await RawClient.connected(tb.port, v, id, fields);
      await subscribe(first, [sub(`resend/${v}/+`, 2)]);
      const pub = await RawClient.connected(tb.port, v, `resend-pub-${v}`);
      pub.send(publishPacket(`resend/${v}/one`, 'one', 1, { packetId: 1 }));
      pub.send(publishPacket(`resend/${v}/two`, 'two', 2, { packetId: 2 }));
      const one = await first.next('publish');
      const two = await first.next('publish');
      first.send({ type: 'pubrec', packetId: two.packetId! });
      await first.next('pubrel');
      first.destroy();
      await gone(tb, id);
      const again = await RawClient.connected(tb.port, v, id, fields);
      const resent = await again.next('publish');
      const rel = await again.next('pubrel');
      await settle(again);
      assert.deepEqual(
        [resent.payload.toString(), resent.dup, resent.packetId],
        ['one', true, one.packetId],
      );
      assert.equal(rel.packetId, two.packetId);
      assert.deepEqual(takePublishes(again), [], "the PUBREC'd message is not sent again");
      again.destroy();
      pub.destroy();
    });

    it(`[MQTT-4.3.2-2] (3.1.1) [MQTT-4.3.2-5] (5.0) after its PUBACK, a PUBLISH reusing the id is a new message, DUP or not (v${v})`, async () => {
      const client = await subscriber(v, `reuse1-${v}`, [`reuse1/${v}`]);
      const pub = await RawClient.connected(tb.port, v, `reuse1-pub-${v}`);
      pub.send(publishPacket(`reuse1/${v}`, 'first', 1, { packetId: 7 }));
      await pub.next('puback');
      pub.send(publishPacket(`reuse1/${v}`, 'second', 1, { packetId: 7, dup: true }));
      await pub.next('puback');
      pub.send(publishPacket(SENTINEL, 'end'));
      const got = await publishesUntil(client, SENTINEL);
      assert.deepEqual(
        got.map((p) => p.payload.toString()),
        ['first', 'second'],
      );
      client.destroy();
      pub.destroy();
    });

    it(`[MQTT-4.3.3-2] (3.1.1) [MQTT-4.3.3-10] [MQTT-4.3.3-12] (5.0) a QoS 2 PUBLISH repeated before PUBREL is answered but delivered once; after PUBCOMP the id starts a new message (v${v})`, async () => {
      const client = await subscriber(v, `reuse2-${v}`, [`reuse2/${v}`]);
      const pub = await RawClient.connected(tb.port, v, `reuse2-pub-${v}`);
      const message = publishPacket(`reuse2/${v}`, 'once', 2, { packetId: 9 });
      pub.send(message);
      pub.send({ ...message, dup: true });
      await pub.next('pubrec');
      await pub.next('pubrec');
      pub.send({ type: 'pubrel', packetId: 9 });
      await pub.next('pubcomp');
      pub.send(publishPacket(`reuse2/${v}`, 'new', 2, { packetId: 9 }));
      await pub.next('pubrec');
      pub.send(publishPacket(SENTINEL, 'end'));
      const got = await publishesUntil(client, SENTINEL);
      assert.deepEqual(
        got.map((p) => p.payload.toString()),
        ['once', 'new'],
      );
      client.destroy();
      pub.destroy();
    });

    it(`[MQTT-3.3.1-12] (3.1.1) [MQTT-3.3.1-8] (5.0) a PUBLISH with RETAIN 0 is not stored and leaves the retained message alone (v${v})`, async () => {
      const pub = await RawClient.connected(tb.port, v, `keep-${v}`);
      pub.send(publishPacket(`keep/${v}`, 'retained', 1, { retain: true }));
      await pub.next('puback');
      pub.send(publishPacket(`keep/${v}`, 'live', 1, { packetId: 2 }));
      await pub.next('puback');
      const late = await RawClient.connected(tb.port, v, `keep-late-${v}`);
      await subscribe(late, [sub(`keep/${v}`)]);
      await settle(late);
      assert.deepEqual(
        takePublishes(late).map((p) => p.payload.toString()),
        ['retained'],
      );
      late.destroy();
      pub.destroy();
    });

    it(`[MQTT-3.3.2-1] [MQTT-3.3.2-3] a delivered PUBLISH starts with its topic name, which matches the wildcard filter (v${v})`, async () => {
      const client = await subscriber(v, `topic-${v}`, [`tm/+/x/#`]);
      const bytes = recordBytes(client);
      const pub = await RawClient.connected(tb.port, v, `topic-pub-${v}`);
      pub.send(publishPacket(`tm/a/x/b/c`, 'p', 0));
      await client.next('publish');
      const [raw] = rawPackets(bytes(), 3);
      const length = raw!.readUInt16BE(2);
      assert.equal(raw!.subarray(4, 4 + length).toString('utf8'), 'tm/a/x/b/c');
      client.destroy();
      pub.destroy();
    });

    it(`[MQTT-1.5.3-3] (3.1.1) [MQTT-1.5.4-3] (5.0) the bytes EF BB BF (U+FEFF) in a topic reach the subscriber untouched (v${v})`, async () => {
      const topic = `bom/\uFEFFx/${v}`;
      const client = await subscriber(v, `bom-${v}`, [topic, `bom/+/${v}/#`]);
      const bytes = recordBytes(client);
      const pub = await RawClient.connected(tb.port, v, `bom-pub-${v}`);
      pub.send(publishPacket(topic, 'p', 0));
      await client.next('publish');
      const [raw] = rawPackets(bytes(), 3);
      const length = raw!.readUInt16BE(2);
      assert.deepEqual(raw!.subarray(4, 4 + length), Buffer.from(topic, 'utf8'));
      assert.ok(raw!.includes(Buffer.from([0xef, 0xbb, 0xbf])));
      client.destroy();
      pub.destroy();
    });

    it(`[MQTT-4.5.0-1] a message goes to the session of every matching subscriber, connected or not (v${v})`, async () => {
      const fields =
        v === 5 ? { clean: false, properties: { sessionExpiryInterval: 60 } } : { clean: false };
      const away = await RawClient.connected(tb.port, v, `away-${v}`, fields);
      await subscribe(away, [sub(`fan/${v}/+`, 1)]);
      away.destroy();
      await gone(tb, `away-${v}`);
      const here = await subscriber(v, `here-${v}`, [`fan/${v}/#`], 1);
      const pub = await RawClient.connected(tb.port, v, `fan-pub-${v}`);
      pub.send(publishPacket(`fan/${v}/t`, 'for all', 1));
      assert.equal((await here.next('publish')).payload.toString(), 'for all');
      const back = await RawClient.connected(tb.port, v, `away-${v}`, fields);
      assert.equal((await back.next('publish')).payload.toString(), 'for all');
      back.destroy();
      here.destroy();
      pub.destroy();
    });

    it(`[MQTT-4.6.0-5] [MQTT-4.6.0-6] one publisher's messages reach a subscriber in order on every topic and QoS, topics interleaved (v${v})`, async () => {
      const client = await subscriber(v, `order-${v}`, [`order/${v}/+`]);
      const pub = await RawClient.connected(tb.port, v, `order-pub-${v}`);
      for (let i = 0; i < 60; i++) {
        const qos = (i % 3) as 0 | 1 | 2;
        pub.send(publishPacket(`order/${v}/${i % 2}`, String(i), qos, { packetId: i + 1 }));
      }
      pub.send(publishPacket(SENTINEL, 'end'));
      const got = await publishesUntil(client, SENTINEL);
      const key = (p: PublishPacket) => `${p.topic} ${p.qos}`;
      for (const k of new Set(got.map(key))) {
        const sequence = got.filter((p) => key(p) === k).map((p) => Number(p.payload.toString()));
        assert.deepEqual(
          sequence,
          [...sequence].sort((a, b) => a - b),
          k,
        );
      }
      assert.equal(got.length, 60);
      client.destroy();
      pub.destroy();
    });
  }

  it('[MQTT-3.3.1-7] (3.1.1) a QoS 0 retained message replaces the retained message of its topic', async () => {
    const pub = await RawClient.connected(tb.port, 4, 'q0-retain');
    pub.send(publishPacket('q0retain/t', 'old', 1, { retain: true }));
    await pub.next('puback');
    pub.send(publishPacket('q0retain/t', 'new', 0, { retain: true }));
    await settle(pub);
    const late = await RawClient.connected(tb.port, 4, 'q0-retain-late');
    await subscribe(late, [sub('q0retain/t', 1)]);
    await settle(late);
    assert.deepEqual(
      takePublishes(late).map((p) => [p.payload.toString(), p.qos]),
      [['new', 0]],
    );
    late.destroy();
    pub.destroy();
  });

  it('[MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-7] (5.0) a retained message replaces the previous one; a zero-byte one is delivered, clears the topic and is not stored', async () => {
    const live = await subscriber(5, 'retain5-live', ['retain5/t'], 1);
    const pub = await RawClient.connected(tb.port, 5, 'retain5-pub');
    pub.send(publishPacket('retain5/t', 'old', 1, { retain: true }));
    pub.send(publishPacket('retain5/t', 'new', 1, { retain: true, packetId: 2 }));
    await pub.next('puback');
    await pub.next('puback');
    const late = await RawClient.connected(tb.port, 5, 'retain5-late');
    await subscribe(late, [sub('retain5/t')]);
    await settle(late);
    assert.deepEqual(
      takePublishes(late).map((p) => p.payload.toString()),
      ['new'],
    );
    pub.send(publishPacket('retain5/t', '', 1, { retain: true, packetId: 3 }));
    await pub.next('puback');
    pub.send(publishPacket(SENTINEL, 'end'));
    const seen = await publishesUntil(live, SENTINEL);
    assert.deepEqual(
      seen.map((p) => p.payload.toString()),
      ['old', 'new', ''],
    );
    const after = await RawClient.connected(tb.port, 5, 'retain5-after');
    await subscribe(after, [sub('retain5/t')]);
    await settle(after);
    assert.deepEqual(takePublishes(after), []);
    for (const c of [live, pub, late, after]) c.destroy();
  });
});
