/**
 * Conformance over TCP: a transient error while handling an inbound packet closes the
 * connection that carried it (MQTT 3.1.1, which has no reason codes to report it). The error
 * is a full disk, faked with SQLite's max_page_count as in test/durability/disk-full.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createBroker } from '../../src/index.js';
import { SqliteStore } from '../../src/storage/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { publishPacket, settle, sub, subscribe } from './wire.js';

describe('conformance: transient errors (3.1.1)', () => {
  it('[MQTT-4.8.0-2] (3.1.1) a QoS 1 PUBLISH the full store cannot take closes its connection, without a PUBACK; other clients go on', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pipit-transient-'));
    const store = new SqliteStore({ dataDir });
    const broker = createBroker({ store });
    const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
    try {
      // A persistent subscriber, offline: every QoS 1 message for it must be stored.
      const stored = await RawClient.connected(port, 4, 'transient-sub', { clean: false });
      await subscribe(stored, [sub('transient/#', 1)]);
      stored.destroy();
      const bystander = await RawClient.connected(port, 4, 'transient-bystander');
      const pub = await RawClient.connected(port, 4, 'transient-pub');
      const db = store.database;
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
      pub.send(publishPacket('transient/t', Buffer.alloc(256 * 1024, 1), 1, { packetId: 1 }));
      await pub.waitClose();
      assert.deepEqual(pub.received, [], 'no PUBACK');
      await settle(bystander);
      bystander.destroy();
    } finally {
      await broker.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
