/**
 * Storage building blocks: the properties codec, the Redis store's will records, GC candidates,
 * createStore, GC at open.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Properties } from '../../src/protocol/index.js';
import { createStore, MemoryStore, SqliteStore } from '../../src/storage/index.js';
import { decodeWill, encodeWill } from '../../src/storage/redis/redis-codec.js';
import { copyWill } from '../../src/storage/shared/copy.js';
import { GcCandidates } from '../../src/storage/shared/message-gc.js';
import { decodeProperties, encodeProperties } from '../../src/storage/shared/properties-codec.js';
import { plainMessage } from '../contracts/store-fixtures.js';
import { tempStore } from './helpers.js';

describe('properties codec', () => {
  test('round-trips every value kind exactly, keeping pair order and duplicates', () => {
    const props: Properties = {
      payloadFormatIndicator: 0,
      messageExpiryInterval: 4_294_967_295,
      contentType: '',
      responseTopic: 'a/ü/𝄞',
      correlationData: Buffer.from([0, 0xff, 0x80]),
      subscriptionIdentifiers: [1, 268_435_455],
      willDelayInterval: 0,
      userProperties: [
        ['a', '1'],
        ['a', '1'],
        ['', 'é'],
      ],
      authenticationData: Buffer.alloc(0),
    };
    assert.deepEqual(decodeProperties(encodeProperties(props)), props);
  });

  test('nothing to store is null, and null reads back as undefined', () => {
    assert.equal(encodeProperties(undefined), null);
    assert.equal(encodeProperties({}), null);
    assert.equal(encodeProperties({ contentType: undefined }), null);
    assert.equal(decodeProperties(null), undefined);
  });

  test('an empty list reads back as an empty list', () => {
    assert.deepEqual(decodeProperties(encodeProperties({ userProperties: [] })), {
      userProperties: [],
    });
  });

  test('a decoded Buffer is a copy, not a view into the stored bytes', () => {
    const stored = encodeProperties({ correlationData: Buffer.from('abc') })!;
    const decoded = decodeProperties(stored)!;
    stored.fill(0);
    assert.equal(decoded.correlationData?.toString(), 'abc');
  });
});

describe('will records: the verdict of the client’s node (cluster)', () => {
  const will = { topic: 'w', payload: Buffer.from('bye'), qos: 1 as const, retain: false };

  test('the Redis record and the memory store’s copy keep it; a will without one reads back without', () => {
    for (const verdict of ['allow', 'deny'] as const) {
      const stored = { will, listener: 'mqtt:1884', dueAt: 5, verdict };
      assert.deepEqual(decodeWill(encodeWill(stored)), stored);
      assert.deepEqual(copyWill(stored), stored);
    }
    assert.equal('verdict' in decodeWill(encodeWill({ will })), false);
  });

  test('garbage for the verdict in a Redis record reads back as none (denied where it counts)', () => {
    for (const v of [2, 'allow', null, { a: 1 }]) {
      const header = Buffer.from(JSON.stringify({ t: 'w', q: 1, r: 0, v }));
      const record = Buffer.concat([Buffer.alloc(4), header, Buffer.from('bye')]);
      record.writeUInt32LE(header.length, 0);
      const read = decodeWill(record);
      assert.equal(read.verdict, undefined);
      assert.equal(read.will.topic, 'w');
    }
  });
});

describe('GcCandidates', () => {
  test('a candidate is due only after a whole interval has passed since it was added', () => {
    let now = 0;
    const gc = new GcCandidates(1000, () => now);
    gc.add(1);
    assert.deepEqual(gc.takeDue(), [], 'too early');
    now = 1000;
    assert.deepEqual(gc.takeDue(), [], 'added in the current generation: waits one more');
    gc.add(2);
    now = 2000;
    assert.deepEqual(gc.takeDue(), [1]);
    now = 3000;
    assert.deepEqual(gc.takeDue(), [2]);
    gc.add(3);
    gc.clear();
    now = 5000;
    gc.takeDue();
    now = 6000;
    assert.deepEqual(gc.takeDue(), []);
  });
});

describe('createStore', () => {
  test('SQLite by default (needs a dataDir), memory on request', () => {
    assert.ok(createStore({ kind: 'memory' }) instanceof MemoryStore);
    assert.ok(createStore({ dataDir: '/tmp/x' }) instanceof SqliteStore);
    assert.throws(() => createStore({}), /needs a data directory/);
  });
});

describe('SQLite message GC', () => {
  test('messages nothing references are collected at open', async () => {
    const { store, dataDir, done } = await tempStore();
    store.putMessage(plainMessage(1));
    await store.commit();
    await store.close();
    const again = new SqliteStore({ dataDir });
    await again.open();
    assert.equal(again.countMessages(), 0);
    assert.equal((await again.load()).lastMessageId, 1);
    await again.close();
    await done();
  });
});
