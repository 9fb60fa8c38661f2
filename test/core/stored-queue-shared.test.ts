/**
 * A persistent session subscribed both to a filter of its own and through a shared
 * subscription, whose connection ends while both kinds of message are queued, interleaved,
 * in the page of its stored queue held in memory (its inflight window full). The shared ones
 * may go to another member of the group; the others stay queued for the session and must be
 * in the store: a broker restarted on it (SQLite after kill -9), or another node that reads
 * the session from Redis (a takeover, an adoption), sends them all. Removing a shared entry
 * from the store must remove that entry only: `dequeue` removes everything up to a seq, and
 * with it the session's own entries below it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { BrokerStore } from '../../src/ports/index.js';
import { MemoryStore, SqliteStore } from '../../src/storage/index.js';
import { flush } from '../helpers/core-harness.js';
import { afterRestart, interleavedQueue } from '../helpers/shared-queue-scenario.js';

/** A store, and how to restart on what it holds (memory: the same object). */
interface Restartable {
  store: BrokerStore;
  restart(): Promise<BrokerStore>;
  cleanup(): Promise<void>;
}

const STORES: Record<string, () => Promise<Restartable>> = {
  memory: async () => {
    const store = new MemoryStore();
    return { store, restart: async () => store, cleanup: async () => {} };
  },
  // A restart on the same SQLite file: a new store instance reads what the old one committed.
  sqlite: async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pipit-shared-queue-'));
    const open = async (): Promise<SqliteStore> => {
      const s = new SqliteStore({ dataDir, durability: 'fsync' });
      await s.open();
      return s;
    };
    let current = await open();
    return {
      store: current,
      restart: async () => {
        await current.close();
        current = await open();
        return current;
      },
      cleanup: async () => {
        await current.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
};

for (const [kind, make] of Object.entries(STORES)) {
  describe(`a stored queue holding shared and own deliveries (${kind} store)`, () => {
    it('its connection ends: every own queued delivery stays in the store, and a broker restarted on it sends them all, in order', async () => {
      const { store, restart, cleanup } = await make();
      try {
        const { core, sub, own } = await interleavedQueue(store);
        assert.ok((core.sessions.get('sub')?.queuedCount ?? 0) > own.length, 'both kinds queued');
        // The connection drops (no DISCONNECT); the session stays.
        sub.connection.transportClosed();
        await flush();
        await core.persistence!.commit();
        core.close();
        const got = await afterRestart(await restart());
        assert.deepEqual(
          got.filter((p) => p.startsWith('own')),
          own,
          `got ${JSON.stringify(got)}`,
        );
        assert.equal(new Set(got).size, got.length, 'nothing sent twice');
      } finally {
        await cleanup();
      }
    });

    it('its shared entries taken from the page in memory (for another member) leave the store one by one, the own ones below them stay', async () => {
      const { store, restart, cleanup } = await make();
      try {
        const { core, own } = await interleavedQueue(store);
        const taken = core.sessions.get('sub')!.takeSharedDeliveries();
        assert.ok(taken.length > 0, 'shared deliveries were in the page');
        assert.ok(taken.every((d) => d.shareFilter === '$share/g/t/s'));
        await core.persistence!.commit();
        core.close();
        const got = await afterRestart(await restart());
        assert.deepEqual(
          got.filter((p) => p.startsWith('own')),
          own,
          `every own delivery, in order (got ${JSON.stringify(got)})`,
        );
        // A shared entry stored only (not in the page) stays with the session: sent to it.
        const gone = new Set(taken.map((d) => d.message.payload.toString()));
        assert.deepEqual(
          got.filter((p) => gone.has(p)),
          [],
          'the taken ones are not sent to it again',
        );
      } finally {
        await cleanup();
      }
    });
  });
}
