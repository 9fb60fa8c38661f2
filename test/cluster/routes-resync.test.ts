/**
 * A peer's route table read whole (a node joins, or a peer announced a resync) while that
 * peer announces changes: the table and the announcements travel on different connections,
 * so the table read can be older than an announcement applied before it came back. The
 * announcements win: a route added meanwhile stays, one removed meanwhile stays removed.
 * (Seen in the crash loop: a node that joined while a survivor announced the routes of the
 * sessions it adopted read the table without them and dropped them, for good.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterKeys } from '../../src/cluster/keys.js';
import { MalformedInput } from '../../src/cluster/malformed.js';
import { RemoteRoutes } from '../../src/cluster/remote-routes.js';
import { Router } from '../../src/core/router.js';
import { silentLogger } from '../../src/ports/index.js';
import { RedisFixture } from './redis-fixture.js';

describe('cluster: reading a peer’s route table while it announces changes', () => {
  let redis: RedisFixture;
  const keys = new ClusterKeys('pipit-resync:');
  const sink = { receiving: false, forward: () => {} };

  before(async () => {
    redis = await RedisFixture.start();
  });

  after(async () => {
    await redis.stop();
  });

  function remoteRoutes(): RemoteRoutes {
    const malformed = new MalformedInput(silentLogger);
    return new RemoteRoutes(
      redis.redis,
      keys,
      new Router(),
      sink,
      silentLogger,
      () => 1,
      malformed,
    );
  }

  it('keeps a route announced while the (older) table was read', async () => {
    const routes = remoteRoutes();
    await redis.redis.hset(keys.routes(5), 'race/old', '1');
    const reading = routes.resync(5); // its HKEYS is on its way: the table without race/new
    routes.apply(JSON.stringify({ node: 5, add: ['race/new'] }));
    await reading;
    assert.deepEqual([...routes.peers.get(5)!.filters].sort(), ['race/new', 'race/old']);
  });

  it('keeps a route removed while the (older) table was read removed', async () => {
    const routes = remoteRoutes();
    await redis.redis.hset(keys.routes(6), 'race/gone', '1', 'race/kept', '1');
    const reading = routes.resync(6);
    routes.apply(JSON.stringify({ node: 6, remove: ['race/gone'] }));
    await reading;
    assert.deepEqual([...routes.peers.get(6)!.filters], ['race/kept']);
  });
});
