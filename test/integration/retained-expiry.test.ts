/**
 * Retained messages expire on time (issue #19), over real TCP with the SQLite store: removed
 * from memory and from the store without a subscription to find them, and never counted
 * against maxRetainedMessages. Also across a restart: expired rows are not restored.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import type { Broker } from '../../src/index.js';
import { SqliteStore } from '../../src/storage/index.js';
import { tempDir, waitUntil } from '../durability/harness.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

/** Publishes `count` retained messages on `prefix/<i>` with a 1 s expiry; resolves once handled. */
async function retainExpiring(
  port: number,
  prefix: string,
  count: number,
  expirySeconds = 1,
): Promise<void> {
  const client = await RawClient.connected(port, 5, `retainer-${prefix}`);
  try {
    for (let i = 0; i < count; i++) {
      client.send({
        type: 'publish',
        topic: `${prefix}/${i}`,
        payload: Buffer.from(`value ${i}`),
        qos: 0,
        retain: true,
        dup: false,
        properties: { messageExpiryInterval: expirySeconds },
      });
    }
    client.send({ type: 'pingreq' });
    await client.next('pingresp', 30_000);
  } finally {
    client.destroy();
  }
}

/** Retains one message without expiry; true when the broker kept it. */
async function retainOne(tb: TestBroker, topic: string): Promise<boolean> {
  const client = await RawClient.connected(tb.port, 5, 'late-retainer');
  try {
    client.send({
      type: 'publish',
      topic,
      payload: Buffer.from('kept'),
      qos: 1,
      packetId: 1,
      retain: true,
      dup: false,
    });
    await client.next('puback');
    return (await tb.broker.admin.retainedMessage(topic)) !== undefined;
  } finally {
    client.destroy();
  }
}

function storeOf(broker: Broker): SqliteStore {
  const store = broker.core.persistence?.store;
  assert.ok(store instanceof SqliteStore);
  return store;
}

describe('retained messages expire on time (issue #19)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function start(dataDir: string, maxRetainedMessages?: number): Promise<TestBroker> {
    const tb = await startBroker({
      persistence: { kind: 'sqlite', dataDir, durability: 'none' },
      ...(maxRetainedMessages === undefined ? {} : { maxRetainedMessages }),
    });
    cleanup.push(() => tb.close());
    return tb;
  }

  it('[MQTT-3.3.2-5] 10,000 retained messages with a 5 s expiry: once expired, none in memory or in the store, with no subscription', async () => {
    const dataDir = tempDir('pipit-retained-expiry-');
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const tb = await start(dataDir);
    // 5 s: long enough that all are still there when counted, on a loaded machine too.
    await retainExpiring(tb.port, 'exp', 10_000, 5);
    const store = storeOf(tb.broker);
    assert.equal((await tb.broker.admin.counters()).retainedMessages, 10_000);
    store.flush();
    assert.equal(store.countRetained(), 10_000);
    const inMemory = async (): Promise<number> =>
      (await tb.broker.admin.counters()).retainedMessages;
    for (let waited = 0; (await inMemory()) > 0 && waited < 30_000; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await inMemory(), 0, 'none left in memory');
    assert.equal(tb.broker.core.metrics.memory.retainedBytes, 0, 'none charged');
    await waitUntil(
      () => {
        store.flush();
        return store.countRetained() === 0;
      },
      2000,
      () => `${store.countRetained()} retained rows left in the store`,
    );
    assert.equal(store.countRetained(), 0, 'none left in the store');
    assert.equal(await retainOne(tb, 'after/expiry'), true);
  });

  it('under maxRetainedMessages 100: a new topic is refused while 100 live, accepted once they expired', async () => {
    const dataDir = tempDir('pipit-retained-expiry-');
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const tb = await start(dataDir, 100);
    await retainExpiring(tb.port, 'cap', 100);
    assert.equal(await retainOne(tb, 'too/early'), false, 'the cap is reached');
    assert.equal(tb.broker.core.metrics.dropped['retained-limit'], 1);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(await retainOne(tb, 'after/expiry'), true, 'expired ones do not count');
    assert.equal((await tb.broker.admin.counters()).retainedMessages, 1);
    assert.equal(tb.broker.core.metrics.dropped['retained-limit'], 1);
  });

  it('retained messages that expired while the broker was down are not restored, and are deleted from the store', async () => {
    const dataDir = tempDir('pipit-retained-expiry-');
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const first = await start(dataDir);
    await retainExpiring(first.port, 'down', 500);
    assert.equal(await retainOne(first, 'no/expiry'), true);
    await first.close();
    await new Promise((r) => setTimeout(r, 1100));
    const second = await start(dataDir);
    assert.deepEqual(
      second.broker.core.retained.all().map((m) => m.topic),
      ['no/expiry'],
    );
    const store = storeOf(second.broker);
    store.flush();
    assert.equal(store.countRetained(), 1);
  });
});
