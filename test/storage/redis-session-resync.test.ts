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
import { FakeClient, flush, publishes } from '../helpers/core-harness.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FlakyRedisStore } from '../helpers/flaky-redis-store.js';
import { readReferences, wrongReferences } from '../helpers/redis-references.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import {
  connect,
  publishFromHost,
  qos2DuringFailure,
  receive,
  startCore,
  storeBack,
  subscribe,
  summary,
} from '../helpers/resync-scenario.js';

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

describe('the Redis store, a clean start whose deletion was lost', () => {
  it('[MQTT-3.1.2-4] the store holds the new session only: the next core sends none of the old queue, and every message is counted once per entry', async () => {
    const server = await startRedisServer();
    servers.push(server);
    const redis = new Redis(server.url);
    const store = new FlakyRedisStore({ url: server.url });
    const clock = new FakeClock();
    const core = await startCore(store, clock);
    const sub = await connect(core, 'sub');
    await subscribe(sub, 'q/#', 1);
    sub.send({ type: 'disconnect', reasonCode: 0 });
    await flush();
    for (const n of ['old-1', 'old-2']) await publishFromHost(core, n, 1);
    store.failing = true;
    const clean = new FakeClient(core, 5);
    clean.connect({ clientId: 'sub', clean: true, properties: { sessionExpiryInterval: 3600 } });
    await receive(clean, 1);
    await subscribe(clean, 'r/#', 1);
    clean.send({ type: 'disconnect', reasonCode: 0 });
    await flush();
    await storeBack(store, core, clock, async () => {
      const stored = await core.persistence!.loadSession('sub');
      return stored?.session.queuedCount === 0;
    });
    await core.publishFromHost({ topic: 'r/a', payload: 'new-1', qos: 1 });
    await core.persistence!.commit();
    core.close();
    await store.close();
    assert.deepEqual(wrongReferences(await readReferences(redis)), []);
    const next = new RedisStore({ url: server.url });
    const other = await startCore(next, new FakeClock());
    const back = await connect(other, 'sub');
    const [got] = publishes(await receive(back, 1));
    assert.equal(got?.payload.toString(), 'new-1');
    await flush();
    assert.deepEqual(back.take(), []);
    other.close();
    await next.close();
    redis.disconnect();
  });
});
