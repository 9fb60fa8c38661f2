/**
 * The Redis store under test/core/session-resync.test.ts: a session's state written again
 * after its batches failed (dropped, or landed though reported failed) leaves each message's
 * reference count equal to the entries that name it (a rewritten inflight entry with its own
 * message counts no second reference; test/helpers/redis-references.ts), and the next core on
 * the store resends nothing completed.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/storage/index.js';
import { flush } from '../helpers/core-harness.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { readReferences, wrongReferences } from '../helpers/redis-references.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import type { Flaky } from '../helpers/resync-scenario.js';
import {
  connect,
  qos2DuringFailure,
  receive,
  startCore,
  storeBack,
  summary,
} from '../helpers/resync-scenario.js';

/** A Redis store whose batches fail on demand (Flaky). */
class FlakyRedisStore extends RedisStore implements Flaky {
  failing = false;
  failingCommits = false;
  override putInflight(...args: Parameters<RedisStore['putInflight']>): void {
    if (!this.failing) super.putInflight(...args);
  }
  override deleteInflight(...args: Parameters<RedisStore['deleteInflight']>): void {
    if (!this.failing) super.deleteInflight(...args);
  }
  override dequeue(...args: Parameters<RedisStore['dequeue']>): void {
    if (!this.failing) super.dequeue(...args);
  }
  override async commit(): Promise<void> {
    // The batch is still sent (what was not dropped lands): only the answer fails.
    if (this.failing || this.failingCommits) throw new Error('store unreachable');
    return super.commit();
  }
}

const servers: RedisServer[] = [];
after(async () => {
  for (const s of servers) await s.destroy();
});

for (const mode of ['failing', 'failingCommits'] as const) {
  describe(`the Redis store, batches ${mode === 'failing' ? 'lost' : 'landed but reported failed'}`, () => {
    it('[MQTT-4.3.3-6] the next core resends no completed QoS 2 exchange, and every message is counted once per entry', async () => {
      const server = await startRedisServer();
      servers.push(server);
      const redis = new Redis(server.url);
      const store = new FlakyRedisStore({ url: server.url });
      const clock = new FakeClock();
      const core = await startCore(store, clock);
      const { ids } = await qos2DuringFailure(store, core, mode);
      // Written again: the store holds the first exchange no more.
      await storeBack(store, core, clock, async () => {
        const stored = await core.persistence!.loadSession('sub');
        return stored?.session.inflight.some((e) => e.packetId === ids[0]) === false;
      });
      core.close();
      await store.close();
      assert.deepEqual(wrongReferences(await readReferences(redis)), []);
      // Two entries left (at PUBREL, at PUBLISH sent): their two messages, one count each.
      assert.deepEqual(
        (await readReferences(redis)).map((r) => [r.count, r.entries]),
        [
          [1, 1],
          [1, 1],
        ],
      );
      const next = new RedisStore({ url: server.url });
      const other = await startCore(next, new FakeClock());
      const back = await connect(other, 'sub');
      assert.deepEqual(summary(await receive(back, 2)), [
        ['pubrel', ids[1]],
        ['publish', ids[2], true],
      ]);
      await flush();
      assert.deepEqual(back.take(), []);
      other.close();
      await next.close();
      redis.disconnect();
    });
  });
}
