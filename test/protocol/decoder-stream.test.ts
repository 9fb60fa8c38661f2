/**
 * The Decoder as a stream: fragmentation, buffering, size limits, failure state, version
 * learning and buffer ownership.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Decoder, encode, isMqttError, type Packet } from '../../src/protocol/index.js';
import { connectHex, decodeAll, hex, pkt, str } from './helpers.js';

const publish = (topic: string, payload: Buffer, packetId?: number): Packet =>
  packetId === undefined
    ? { type: 'publish', topic, payload, qos: 0, retain: false, dup: false }
    : { type: 'publish', topic, payload, qos: 1, retain: false, dup: false, packetId };

describe('Decoder stream', () => {
  const stream = Buffer.concat([
    connectHex(4),
    encode(publish('a/b', Buffer.from('one')), 4),
    encode(publish('big', Buffer.alloc(40_000, 7), 9), 4),
    hex('c0 00'),
    encode(
      {
        type: 'subscribe',
        packetId: 3,
        subscriptions: [
          { filter: 'x/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        ],
      },
      4,
    ),
  ]);
  const expected = decodeAll(stream);

  it('decodes several packets from one chunk, in order', () => {
    assert.deepEqual(
      expected.map((p) => p.type),
      ['connect', 'publish', 'publish', 'pingreq', 'subscribe'],
    );
  });

  it('decodes the same packets when fed one byte at a time', () => {
    const decoder = new Decoder();
    const out: Packet[] = [];
    for (let i = 0; i < stream.length; i++)
      decoder.push(stream.subarray(i, i + 1), (p) => out.push(p));
    assert.deepEqual(out, expected);
    assert.equal(decoder.bufferedBytes, 0);
  });

  it('decodes the same packets in 7-byte and 4096-byte chunks', () => {
    for (const size of [7, 4096]) {
      const decoder = new Decoder();
      const out: Packet[] = [];
      for (let i = 0; i < stream.length; i += size)
        decoder.push(stream.subarray(i, i + size), (p) => out.push(p));
      assert.deepEqual(out, expected);
    }
  });

  it('reads only the given length of a reused buffer, in any fragmentation', () => {
    // A transport reading into one buffer it reuses (src/transport/shared-read-buffer.ts):
    // each push names how many bytes are new, the rest is an earlier read's leftovers.
    for (const size of [1, 7, 4096, 65536]) {
      const decoder = new Decoder();
      const out: Packet[] = [];
      const reused = Buffer.alloc(65536, 0xee);
      for (let i = 0; i < stream.length; i += size) {
        const n = stream.copy(reused, 0, i, Math.min(i + size, stream.length));
        decoder.push(reused, (p) => out.push(p), n);
        reused.fill(0xee); // what the decoder kept must not depend on the buffer afterwards
      }
      assert.deepEqual(out, expected);
      assert.equal(decoder.bufferedBytes, 0);
    }
  });

  it('reports buffered bytes of an incomplete packet', () => {
    const decoder = new Decoder({ protocolVersion: 4 });
    const bytes = encode(publish('t', Buffer.alloc(100)), 4);
    decoder.push(bytes.subarray(0, 1), () => assert.fail('no packet yet'));
    assert.equal(decoder.bufferedBytes, 1);
    decoder.push(bytes.subarray(1, 50), () => assert.fail('no packet yet'));
    assert.equal(decoder.bufferedBytes, 50);
    let got = 0;
    decoder.push(bytes.subarray(50), () => got++);
    assert.equal(got, 1);
    assert.equal(decoder.bufferedBytes, 0);
  });

  it('rejects an oversized packet from its fixed header, before buffering the body (0x95)', () => {
    const decoder = new Decoder({ protocolVersion: 4, maximumPacketSize: 1000 });
    // Remaining length 200000: only the 4 header bytes are pushed.
    assert.throws(
      () => decoder.push(hex('30 c0 9a 0c'), () => {}),
      (err) => isMqttError(err) && err.reasonCode === 0x95,
    );
    assert.equal(decoder.bufferedBytes, 0);
  });

  it('counts the fixed header in maximumPacketSize', () => {
    const bytes = encode(publish('t', Buffer.alloc(10)), 4); // 2 + 13 bytes
    assert.equal(
      decodeAll(bytes, { protocolVersion: 4, maximumPacketSize: bytes.length }).length,
      1,
    );
    const decoder = new Decoder({ protocolVersion: 4, maximumPacketSize: bytes.length - 1 });
    assert.throws(() => decoder.push(bytes, () => {}), /maximum packet size/);
  });

  it('applies a maximumPacketSize changed between packets', () => {
    const decoder = new Decoder({ protocolVersion: 4 });
    const bytes = encode(publish('t', Buffer.alloc(10)), 4);
    decoder.push(bytes, () => {});
    decoder.maximumPacketSize = 5;
    assert.throws(
      () => decoder.push(bytes, () => {}),
      (e) => isMqttError(e) && e.reasonCode === 0x95,
    );
  });

  it('does not allocate the announced size of a packet that has not arrived', () => {
    const decoder = new Decoder({ protocolVersion: 4 });
    // 200 MB announced, 10 bytes sent: the decoder holds about what it was given.
    decoder.push(Buffer.concat([hex('30 80 80 80 60'), hex(str('t')), Buffer.alloc(7)]), () => {});
    assert.equal(decoder.bufferedBytes, 15);
  });

  it('delivers the packets before an invalid one, then stays failed with the same error', () => {
    const decoder = new Decoder({ protocolVersion: 4 });
    const out: Packet[] = [];
    let first: unknown;
    try {
      decoder.push(Buffer.concat([hex('c0 00 d0 00'), hex('41 02 0001'), hex('c0 00')]), (p) =>
        out.push(p),
      );
    } catch (err) {
      first = err;
    }
    assert.deepEqual(out, [{ type: 'pingreq' }, { type: 'pingresp' }]);
    assert.ok(isMqttError(first));
    assert.throws(
      () => decoder.push(hex('c0 00'), () => assert.fail('failed decoder')),
      (e) => e === first,
    );
  });

  it('fails the decoder when onPacket throws', () => {
    const decoder = new Decoder({ protocolVersion: 4 });
    const boom = new Error('handler failed');
    assert.throws(
      () =>
        decoder.push(hex('c0 00 c0 00'), () => {
          throw boom;
        }),
      (e) => e === boom,
    );
    assert.throws(
      () => decoder.push(hex('c0 00'), () => {}),
      (e) => e === boom,
    );
  });

  it('a decoder that only saw whole packets handles split headers and bodies, again and again', () => {
    // The split-packet state is made on the first split and then reused: check a split
    // after whole packets, whole packets after a split, and several splits in a row.
    const decoder = new Decoder({ protocolVersion: 4 });
    const out: Packet[] = [];
    const onPacket = (p: Packet): void => {
      out.push(p);
    };
    const a = encode(publish('a', Buffer.from('first')), 4);
    const b = encode(publish('b', Buffer.alloc(300, 2), 5), 4);
    decoder.push(Buffer.concat([a, a]), onPacket);
    assert.equal(decoder.bufferedBytes, 0);
    decoder.push(b.subarray(0, 1), onPacket); // a split fixed header
    decoder.push(b.subarray(1, 100), onPacket); // then a split body
    assert.equal(decoder.bufferedBytes, 100);
    decoder.push(Buffer.concat([b.subarray(100), a, b.subarray(0, 2)]), onPacket);
    decoder.push(b.subarray(2), onPacket);
    decoder.push(a, onPacket);
    assert.deepEqual(
      out.map((p) => (p.type === 'publish' ? `${p.topic}:${p.payload.length}` : p.type)),
      ['a:5', 'a:5', 'b:300', 'a:5', 'b:300', 'a:5'],
    );
    assert.equal(decoder.bufferedBytes, 0);
  });

  it('a handler that throws undefined still fails the decoder', () => {
    const decoder = new Decoder({ protocolVersion: 4 });
    let calls = 0;
    assert.throws(() =>
      decoder.push(hex('c0 00'), () => {
        calls++;
        throw undefined;
      }),
    );
    assert.throws(() => decoder.push(hex('c0 00'), () => calls++));
    assert.equal(calls, 1, 'no packet after the failure');
  });

  it('[MQTT-3.1.0-1] learns the protocol version from CONNECT', () => {
    for (const level of [3, 4, 5] as const) {
      const decoder = new Decoder();
      assert.equal(decoder.protocolVersion, undefined);
      decoder.push(connectHex(level), () => {});
      assert.equal(decoder.protocolVersion, level);
    }
  });

  it('decodes packets after CONNECT in the same chunk at the learned version', () => {
    const v5pub = hex('30 07 0003 612f62 00 78');
    const out = decodeAll(Buffer.concat([connectHex(5), v5pub]));
    assert.deepEqual(out[1], {
      type: 'publish',
      topic: 'a/b',
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: {},
    });
  });

  it('payloads do not alias the pushed chunk (in-chunk and assembled packets)', () => {
    const bytes = pkt(0x30, `${str('t')} 616263`);
    const decoder = new Decoder({ protocolVersion: 4 });
    const out: Packet[] = [];
    const chunk = Buffer.from(bytes);
    decoder.push(chunk, (p) => out.push(p));
    chunk.fill(0);
    const split = Buffer.from(bytes);
    decoder.push(split.subarray(0, 4), (p) => out.push(p));
    decoder.push(split.subarray(4), (p) => out.push(p));
    split.fill(0);
    for (const p of out) assert.equal((p as { payload: Buffer }).payload.toString(), 'abc');
  });

  it('binary fields (password, will payload, correlation data) do not alias the chunk', () => {
    const connect = encode(
      {
        type: 'connect',
        protocolName: 'MQTT',
        protocolVersion: 5,
        clean: true,
        keepAlive: 0,
        clientId: 'c',
        username: 'u',
        password: Buffer.from('pw'),
        will: {
          topic: 'w',
          payload: Buffer.from('wp'),
          qos: 0,
          retain: false,
          properties: { correlationData: Buffer.from('cd') },
        },
      },
      5,
    );
    const chunk = Buffer.from(connect);
    let packet: Packet | undefined;
    new Decoder().push(chunk, (p) => {
      packet = p;
    });
    chunk.fill(0);
    assert.ok(packet?.type === 'connect');
    assert.equal(packet.password?.toString(), 'pw');
    assert.equal(packet.will?.payload.toString(), 'wp');
    assert.equal(packet.will?.properties?.correlationData?.toString(), 'cd');
  });

  it('a second CONNECT is decoded and does not change the learned version', () => {
    const decoder = new Decoder();
    const out: Packet[] = [];
    decoder.push(Buffer.concat([connectHex(4), connectHex(5)]), (p) => out.push(p));
    assert.equal(out.length, 2);
    assert.equal(decoder.protocolVersion, 4);
  });
});
