/**
 * Retained messages restored from the SQLite store at start (retained-restore.ts): the same
 * messages as were retained, held as compactly as live ones: small payloads copied out of
 * the rows' own buffers into slab memory, one ClientInfo per publisher.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BrokerCore } from '../../src/core/index.js';
import { SqliteStore } from '../../src/storage/index.js';
import { FakeClock } from '../helpers/fake-clock.js';

describe('retained messages restored at start', () => {
  it('come back whole; one ClientInfo per publisher; small payloads in slab memory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pipit-retained-restore-'));
    try {
      const store = new SqliteStore({ dataDir, durability: 'none' });
      await store.open();
      const big = Buffer.alloc(10_000, 7);
      for (let i = 0; i < 3; i++) {
        store.putRetained({
          id: i + 1,
          topic: `alice/${i}`,
          payload: Buffer.from(`a${i}`),
          qos: 1,
          retain: true,
          origin: 'alice-c',
          publisher: { listener: 'tcp', username: 'alice' },
        });
      }
      store.putRetained({
        id: 4,
        topic: 'bob/big',
        payload: big,
        qos: 0,
        retain: true,
        properties: { contentType: 'x' },
        origin: 'bob-c',
        publisher: { listener: 'ws' },
      });
      store.putRetained({
        id: 5,
        topic: 'host/x',
        payload: Buffer.from('h'),
        qos: 0,
        retain: true,
      });
      await store.close();

      const again = new SqliteStore({ dataDir, durability: 'none' });
      const core = new BrokerCore({ clock: new FakeClock(), store: again });
      await core.start();
      const byTopic = new Map(core.retained.all().map((m) => [m.topic, m]));
      assert.equal(byTopic.size, 5);
      const alice = [0, 1, 2].map((i) => byTopic.get(`alice/${i}`)!);
      assert.deepEqual(
        alice.map((m) => m.payload.toString()),
        ['a0', 'a1', 'a2'],
      );
      assert.equal(alice[0].publisher, alice[1].publisher, 'one ClientInfo for alice');
      assert.equal(alice[0].publisher, alice[2].publisher);
      assert.deepEqual(
        { ...alice[0].publisher },
        {
          clientId: 'alice-c',
          username: 'alice',
          usernameVerified: true,
          protocolVersion: 5,
          remoteAddress: undefined,
          listener: 'tcp',
          certificateIdentity: undefined,
        },
      );
      assert.equal(alice[0].origin, 'alice-c');
      // A slab holds many small payloads: the memory behind one is larger than it.
      assert.ok(alice[0].payload.buffer.byteLength > alice[0].payload.length);
      const bob = byTopic.get('bob/big')!;
      assert.deepEqual(bob.payload, big);
      assert.deepEqual(bob.properties, { contentType: 'x' });
      assert.equal(bob.publisher?.listener, 'ws');
      assert.equal(bob.publisher?.usernameVerified, false);
      const host = byTopic.get('host/x')!;
      assert.equal(host.publisher, undefined);
      assert.equal(host.origin, undefined);
      core.close();
      await again.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
