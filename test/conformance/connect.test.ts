/**
 * Conformance over TCP: CONNECT and CONNACK, in MQTT 3.1.1 and 5.0. Each test names the
 * statements it checks; '(3.1.1)' and '(5.0)' after a run of ids say which version's ids they
 * are (docs/conformance.md, "How to read this").
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encode } from '../../src/protocol/index.js';
import type { TestBroker } from '../helpers/broker.js';
import { startBroker } from '../helpers/broker.js';
import { connectBytes, hex, pkt, RawClient, str } from '../helpers/raw-client.js';
import {
  connectRaw,
  gone,
  publishPacket,
  rawPackets,
  recordBytes,
  settle,
  sub,
  subscribe,
  types,
} from './wire.js';

/** Connect Reason Codes of MQTT 5.0 (table 3-6). */
const CONNECT_REASON_CODES = new Set([
  0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97,
  0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9f,
]);

describe('conformance: CONNECT and CONNACK', () => {
  let tb: TestBroker;
  before(async () => {
    tb = await startBroker();
    tb.broker.addHook({
      name: 'gate',
      authenticate: ({ client }) => {
        if (client.username === 'refused') return 'deny';
        if (client.username === 'bad-id') return { result: 'deny', reasonCode: 0x85 };
        return 'allow';
      },
    });
  });
  after(async () => {
    await tb.close();
  });

  for (const v of [4, 5] as const) {
    it(`[MQTT-3.1.3-5] client ids of 1 to 23 characters from 0-9, a-z and A-Z are accepted (v${v})`, async () => {
      for (const id of ['a', 'Z9', 'abcdefghijklmnopqrstuvw', '0123456789ABCDEFGHIJKLM']) {
        const { client, connack } = await connectRaw(tb.port, v, id);
        assert.equal(connack.reasonCode, 0, id);
        client.destroy();
      }
    });

    it(`[MQTT-3.2.0-1] [MQTT-3.1.4-4] (3.1.1) [MQTT-3.1.4-5] (5.0) CONNACK 0 is the first packet, also when the client pipelines a SUBSCRIBE that has a retained message waiting (v${v})`, async () => {
      const pub = await RawClient.connected(tb.port, v, `first-pub-${v}`);
      pub.send(publishPacket(`first/${v}`, 'kept', 1, { retain: true }));
      await pub.next('puback');
      const client = await RawClient.open(tb.port, v);
      const request = encode(
        { type: 'subscribe', packetId: 1, subscriptions: [sub(`first/${v}`)] },
        v,
      );
      client.write(Buffer.concat([connectBytes(v, `first-${v}`), request]));
      await client.next('publish');
      assert.deepEqual(types(client.received).slice(0, 2), ['connack', 'suback']);
      client.destroy();
      pub.destroy();
    });

    it(`[MQTT-3.2.2-4] [MQTT-3.2.2-5] (3.1.1) [MQTT-3.2.2-6] [MQTT-3.2.2-7] [MQTT-3.1.4-2] (5.0) a refusal has Session Present 0 even with a stored session, then the connection closes (v${v})`, async () => {
      const expiry = v === 5 ? { properties: { sessionExpiryInterval: 60 } } : {};
      const kept = await RawClient.connected(tb.port, v, `stored-${v}`, {
        clean: false,
        ...expiry,
      });
      kept.destroy();
      await gone(tb, `stored-${v}`);
      const client = await RawClient.open(tb.port, v);
      const bytes = recordBytes(client);
      client.write(
        connectBytes(v, `stored-${v}`, { clean: false, username: 'refused', ...expiry }),
      );
      const connack = await client.next('connack');
      assert.notEqual(connack.reasonCode, 0);
      assert.equal(rawPackets(bytes(), 2)[0]![2], 0x00, 'Acknowledge Flags byte');
      await client.waitClose();
    });

    it(`[MQTT-3.1.3-9] (3.1.1) [MQTT-3.1.3-8] (5.0) a client id the server rejects gets return code 0x02 / reason code 0x85, then a close (v${v})`, async () => {
      const { client, connack } = await connectRaw(tb.port, v, `rejected-${v}`, {
        username: 'bad-id',
      });
      assert.equal(connack.reasonCode, v === 5 ? 0x85 : 0x02);
      await client.waitClose();
    });

    it(`[MQTT-3.1.4-5] (3.1.1) [MQTT-3.1.4-6] (5.0) after a refused CONNECT, nothing the client sent next is processed (v${v})`, async () => {
      const client = await RawClient.open(tb.port, v);
      const retained = publishPacket(`refused/${v}`, 'must not be kept', 0, { retain: true });
      client.write(
        Buffer.concat([
          connectBytes(v, `refused-${v}`, { username: 'refused' }),
          encode(retained, v),
        ]),
      );
      await client.waitClose();
      const watcher = await RawClient.connected(tb.port, v, `refused-watch-${v}`);
      await subscribe(watcher, [sub(`refused/${v}`)]);
      await settle(watcher);
      assert.deepEqual(types(watcher.received), []);
      watcher.destroy();
    });

    it(`[MQTT-3.1.4-1] a CONNECT that breaks section 3.1 is closed without a CONNACK (v${v})`, async () => {
      const name = str('MQTT');
      const props = v === 5 ? '00' : '';
      const malformed = [
        pkt(0x10, `${name} 0${v} 03 0000 ${props} ${str('r')}`), // reserved flag set
        pkt(0x10, `${name} 0${v} 0a 0000 ${props} ${str('q')}`), // Will QoS without Will Flag
        pkt(0x10, `${name} 0${v} 02 0000 ${props}`), // no client id
      ];
      for (const bytes of malformed) {
        const client = await RawClient.open(tb.port, v);
        client.write(bytes);
        await client.waitClose();
        assert.deepEqual(types(client.received), [], bytes.toString('hex'));
      }
    });
  }

  it('[MQTT-3.2.2-1] (5.0) CONNACK Acknowledge Flags bits 7-1 are 0, with Session Present 0 and 1', async () => {
    const fields = { clean: false, properties: { sessionExpiryInterval: 60 } };
    const flags: number[] = [];
    for (let i = 0; i < 2; i++) {
      const client = await RawClient.open(tb.port, 5);
      const bytes = recordBytes(client);
      client.write(connectBytes(5, 'flags-5', fields));
      await client.next('connack');
      flags.push(rawPackets(bytes(), 2)[0]![2]!);
      client.destroy();
      await gone(tb, 'flags-5');
    }
    assert.deepEqual(flags, [0x00, 0x01]);
  });

  it('[MQTT-3.2.2-8] (5.0) every refusal uses a Connect Reason Code', async () => {
    const codes: number[] = [];
    for (const username of ['refused', 'bad-id']) {
      const { connack } = await connectRaw(tb.port, 5, `codes-${username}`, { username });
      codes.push(connack.reasonCode);
    }
    assert.ok(
      codes.every((c) => CONNECT_REASON_CODES.has(c) && c >= 0x80),
      codes.join(','),
    );
  });

  it('[MQTT-3.1.2-1] (5.0) a protocol name other than MQTT closes the connection without a CONNACK', async () => {
    const client = await RawClient.open(tb.port, 5);
    client.write(pkt(0x10, `${str('MQTX')} 05 02 0000 00 ${str('n')}`));
    await client.waitClose();
    assert.deepEqual(types(client.received), []);
  });

  it('[MQTT-3.1.2-2] (5.0) a protocol version the server does not support is refused and closed', async () => {
    const client = await RawClient.open(tb.port, 4);
    const bytes = recordBytes(client);
    client.write(pkt(0x10, `${str('MQTT')} 06 02 0000 00 ${str('v6')}`));
    await client.waitClose();
    assert.deepEqual(
      bytes(),
      hex('20 02 00 01'),
      'the 3.1.1 refusal, unacceptable protocol version',
    );
  });

  it('[MQTT-3.2.0-2] [MQTT-3.14.0-1] [MQTT-3.14.2-1] [MQTT-3.14.2-2] [MQTT-3.14.4-1] [MQTT-3.14.4-2] [MQTT-4.13.2-1] (5.0) a second CONNECT gets DISCONNECT 0x82, never another CONNACK, then nothing and a close', async () => {
    const client = await RawClient.connected(tb.port, 5, 'twice-5');
    client.write(connectBytes(5, 'twice-5'));
    await client.waitClose();
    assert.deepEqual(types(client.received), ['disconnect']);
    const disconnect = client.received[0]!;
    assert.ok(disconnect.type === 'disconnect');
    assert.equal(disconnect.reasonCode, 0x82);
    assert.equal(disconnect.properties?.sessionExpiryInterval, undefined);
  });

  it('[MQTT-4.12.0-6] (5.0) without an Authentication Method the server sends no AUTH and no method in CONNACK', async () => {
    const { client, connack } = await connectRaw(tb.port, 5, 'no-method');
    assert.equal(connack.properties?.authenticationMethod, undefined);
    await settle(client);
    assert.deepEqual(types(client.received), []);
    client.destroy();
  });

  it('[MQTT-3.1.3-7] (5.0) an assigned client id comes back in CONNACK and names the session', async () => {
    const fields = { clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await connectRaw(tb.port, 5, '', fields);
    const assigned = first.connack.properties?.assignedClientIdentifier;
    assert.ok(assigned, 'Assigned Client Identifier');
    await subscribe(first.client, [sub('assigned/t', 1)]);
    first.client.destroy();
    await gone(tb, assigned);
    const again = await connectRaw(tb.port, 5, assigned, fields);
    assert.equal(again.connack.sessionPresent, true);
    again.client.destroy();
  });

  it('[MQTT-3.2.2-19] (5.0) a refusing CONNACK leaves its Reason String out when it would pass the client maximum', async () => {
    const roomy = await connectRaw(tb.port, 5, 'reason-roomy', { username: 'refused' });
    assert.ok(roomy.connack.properties?.reasonString, 'sent when it fits');
    const tight = await RawClient.open(tb.port, 5);
    const bytes = recordBytes(tight);
    tight.write(
      connectBytes(5, 'reason-tight', {
        username: 'refused',
        properties: { maximumPacketSize: 8 },
      }),
    );
    const connack = await tight.next('connack');
    assert.ok(connack.reasonCode >= 0x80);
    assert.equal(connack.properties?.reasonString, undefined);
    assert.ok(bytes().length <= 8, `${bytes().length} bytes`);
  });
});
