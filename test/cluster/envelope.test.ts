/**
 * The forwarded-batch format (src/cluster/envelope.ts): every field a message carries between
 * nodes comes back as it was sent, batches of the earlier V8 format are still read, and bytes
 * that are not a batch (cut anywhere, counts or lengths that lie, a QoS of 3) are an error
 * that names the problem, never a crash or a wrong message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serialize } from 'node:v8';
import { decodeBatch, encodeBatch, type ForwardedMessage } from '../../src/cluster/envelope.js';
import { detachPayload, type Message } from '../../src/core/index.js';
import { testMessage } from '../helpers/message.js';

function message(overrides: Partial<Message> = {}): Message {
  return testMessage({
    id: 0x0102_0304_0506,
    topic: 'sensors/ünïcode/1',
    payload: Buffer.from('21.5'),
    ...overrides,
  });
}

/** The fields that travel, for comparison (a decoded message has no publisher or refs). */
function wire({ message: m, shareFilters }: ForwardedMessage) {
  return {
    id: m.id,
    topic: m.topic,
    payload: m.payload.toString('hex'),
    qos: m.qos,
    retain: m.retain,
    properties: m.properties,
    expiresAt: m.expiresAt,
    origin: m.origin,
    shareFilters,
  };
}

const full: ForwardedMessage[] = [
  { message: message(), shareFilters: undefined },
  {
    message: message({
      id: 7,
      topic: 'a',
      payload: Buffer.alloc(0),
      qos: 2,
      retain: true,
      properties: {
        contentType: 'text/plain',
        correlationData: Buffer.from([0, 1, 2, 255]),
        userProperties: [
          ['k', 'v1'],
          ['k', 'v2'],
        ],
        payloadFormatIndicator: 1,
      },
      expiresAt: 1_765_000_000_123,
      origin: 'publisher-ü',
    }),
    shareFilters: ['$share/g1/a', '$share/g2/#'],
  },
  { message: message({ qos: 0, payload: Buffer.alloc(70_000, 0xab) }), shareFilters: [] },
];

describe('cluster: the forwarded-batch format', () => {
  it('brings back every field of every message of a batch', () => {
    const decoded = decodeBatch(encodeBatch(full));
    assert.deepEqual(decoded.map(wire), full.map(wire));
    assert.ok(decoded.every((f) => f.message.publisher === undefined && f.message.queueRefs === 0));
  });

  it('writes ASCII and non-ASCII strings of every length the fast paths split on, payloads of views into larger buffers', () => {
    // Strings up to 23 ASCII characters are copied character by character, longer ones natively,
    // non-ASCII ones as UTF-8 (src/protocol/utf8.ts): each must come back as it was.
    const slab = Buffer.alloc(256, 0x5a);
    slab.write('payload', 100);
    const batch: ForwardedMessage[] = [];
    for (const n of [1, 22, 23, 24, 25, 200]) {
      for (const topic of ['t'.repeat(n), `${'t'.repeat(n - 1)}é`, `${'t'.repeat(n - 1)}😀`]) {
        batch.push({
          message: message({ topic, origin: topic, payload: slab.subarray(100, 107) }),
          shareFilters: [`$share/${topic}/#`],
        });
      }
    }
    assert.deepEqual(decodeBatch(encodeBatch(batch)).map(wire), batch.map(wire));
  });

  it('refuses to encode a string longer than its u16 length can say', () => {
    const topic = 'é'.repeat(32_768); // 65,536 bytes of UTF-8
    assert.throws(
      () => encodeBatch([{ message: message({ topic }), shareFilters: undefined }]),
      RangeError,
    );
  });

  it('reads an empty batch', () => {
    assert.deepEqual(decodeBatch(encodeBatch([])), []);
  });

  it('reads payloads as views of the entry, which a message kept for long does not keep alive', () => {
    const bytes = encodeBatch(full);
    const [first] = decodeBatch(bytes);
    assert.equal(first!.message.payload.buffer, bytes.buffer); // no copy on the way through
    // What the core keeps (a queued delivery, a retained message) gets memory of its own.
    const kept = detachPayload(first!.message);
    assert.notEqual(kept.payload.buffer, bytes.buffer);
    bytes.fill(0);
    assert.equal(kept.payload.toString(), '21.5');
  });

  it('reads batches in the V8 format nodes of the earlier version write (rolling upgrade)', () => {
    const legacy = serialize([
      {
        i: 9,
        t: 'old/topic',
        p: Buffer.from('x'),
        q: 1,
        r: true,
        o: undefined,
        e: 5,
        c: 'c1',
        g: ['$share/g/old/#'],
      },
    ]);
    const [decoded] = decodeBatch(legacy);
    assert.deepEqual(wire(decoded!), {
      id: 9,
      topic: 'old/topic',
      payload: Buffer.from('x').toString('hex'),
      qos: 1,
      retain: true,
      properties: undefined,
      expiresAt: 5,
      origin: 'c1',
      shareFilters: ['$share/g/old/#'],
    });
  });

  it('refuses every truncation of a batch with an error, never a wrong message', () => {
    const bytes = encodeBatch(full);
    for (let n = 0; n < bytes.length; n++) {
      assert.throws(() => decodeBatch(bytes.subarray(0, n)), Error, `cut at ${n}`);
    }
  });

  it('refuses bytes after the last message, a count beyond what the bytes hold, and what is not a batch', () => {
    const bytes = encodeBatch(full);
    assert.throws(
      () => decodeBatch(Buffer.concat([bytes, Buffer.from([0])])),
      /after the last message/,
    );
    const lying = Buffer.from(bytes);
    lying.writeUInt32LE(0xffff_ffff, 1);
    assert.throws(() => decodeBatch(lying), /not a forwarded batch \(count\)/);
    assert.throws(() => decodeBatch(Buffer.from('garbage')), /not a forwarded batch/);
    assert.throws(() => decodeBatch(Buffer.alloc(0)), /not a forwarded batch/);
    assert.throws(() => decodeBatch(serialize({ not: 'a list' })), /not a list/);
  });

  it('refuses a message with QoS 3, an empty topic or an unsafe id, and a properties section that is not one object per message', () => {
    const qos3 = encodeBatch([{ message: message(), shareFilters: undefined }]);
    qos3[9] = qos3[9]! | 0x03; // the first message's flags, after the 9-byte header
    assert.throws(() => decodeBatch(qos3), /QoS is not 0, 1 or 2/);
    assert.throws(
      () =>
        decodeBatch(encodeBatch([{ message: message({ topic: '' }), shareFilters: undefined }])),
      /no topic/,
    );
    const unsafeId = encodeBatch([{ message: message(), shareFilters: undefined }]);
    unsafeId.writeDoubleLE(0.5, 10); // its id, after the flags
    assert.throws(() => decodeBatch(unsafeId), /no message id/);
    const withSection = (section: Buffer) => {
      const bytes = encodeBatch([
        { message: message({ properties: { contentType: 'x' } }), shareFilters: undefined },
      ]);
      const messages = bytes.subarray(0, bytes.length - bytes.readUInt32LE(5));
      const out = Buffer.concat([messages, section]);
      out.writeUInt32LE(section.length, 5);
      return out;
    };
    assert.throws(() => decodeBatch(withSection(serialize([7]))), /bad properties/);
    assert.throws(() => decodeBatch(withSection(serialize([]))), /not one entry per message/);
    assert.throws(() => decodeBatch(withSection(Buffer.from('xx'))), /bad properties/);
    assert.equal(
      decodeBatch(withSection(serialize([{ contentType: 'y' }])))[0]!.message.properties
        ?.contentType,
      'y',
    );
  });
});
