/**
 * The Redis store under test/core/stored-queue-shared.test.ts: shared entries taken out of
 * order from a session's stored queue (for another member of the group) leave the store one
 * by one (`removeQueued`): the session's own entries below them stay, another node reading
 * the session from Redis (a takeover, an adoption after a node death) sends them all, and
 * each message's reference count stays equal to the entries that name it (the script takes
 * back the removed entry's reference only; test/helpers/redis-references.ts).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/storage/index.js';
import { readReferences, wrongReferences } from '../helpers/redis-references.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { afterRestart, interleavedQueue } from '../helpers/shared-queue-scenario.js';

const servers: RedisServer[] = [];
after(async () => {
  for (const s of servers) await s.destroy();
});

describe('the Redis store, shared entries taken from a stored queue', () => {
  it('another node reads every own entry, and every message is counted once per entry', async () => {
    const server = await startRedisServer();
    servers.push(server);
    const redis = new Redis(server.url);
    try {
      const store = new RedisStore({ url: server.url });
      const { core, own } = await interleavedQueue(store);
      const taken = core.sessions.get('sub')!.takeSharedDeliveries();
      assert.ok(taken.length > 0, 'shared deliveries were in the page');
      await core.persistence!.commit();
      core.close();
      await store.close();
      assert.deepEqual(wrongReferences(await readReferences(redis)), []);
      const gone = new Set(taken.map((d) => d.message.id));
      for (const r of await readReferences(redis)) {
        // A taken message is still queued for 'other' (its own entry), never for 'sub'.
        if (gone.has(r.id)) assert.ok(r.entries <= 1, `message ${r.id}: ${r.entries} entries`);
      }
      const next = new RedisStore({ url: server.url });
      const got = await afterRestart(next);
      await next.close();
      assert.deepEqual(
        got.filter((p) => p.startsWith('own')),
        own,
        `every own delivery, in order (got ${JSON.stringify(got)})`,
      );
      const payloads = new Set(taken.map((d) => d.message.payload.toString()));
      assert.deepEqual(
        got.filter((p) => payloads.has(p)),
        [],
      );
    } finally {
      redis.disconnect();
    }
  });
});
