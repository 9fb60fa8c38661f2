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

  it('keeps a route announced while two reads were under way, when the earlier comes back first', async () => {
    const routes = remoteRoutes();
    await redis.redis.hset(keys.routes(7), 'race/old', '1');
    const first = routes.resync(7); // as at a join: the heartbeat's read, then start's
    // Holds the connection, so the second read's answer comes 300 ms after the first's.
    const pause = redis.redis.blpop('pipit-resync:nothing', 0.3);
    const second = routes.resync(7);
    routes.apply(JSON.stringify({ node: 7, add: ['race/new'] }));
    await first;
    // Before: the announcement was noted for the later read only; the earlier one, older
    // than it, removed the route (until the later read came back; had that one failed,
    // for good).
    assert.deepEqual([...routes.peers.get(7)!.filters].sort(), ['race/new', 'race/old']);
    await pause;
    await second;
    assert.deepEqual([...routes.peers.get(7)!.filters].sort(), ['race/new', 'race/old']);
  });

  it('reads a table whose read failed again, and nothing of a peer that left meanwhile', async () => {
    const routes = remoteRoutes();
    // Not a hash: HKEYS fails (WRONGTYPE), as a read fails while Redis fails over.
    await redis.redis.set(keys.routes(8), 'not a table');
    assert.equal(await routes.resync(8), false);
    await redis.redis.del(keys.routes(8));
    await redis.redis.hset(keys.routes(8), 'again/route', '1');
    await routes.readAgain();
    assert.deepEqual([...routes.peers.get(8)!.filters], ['again/route']);
    await routes.readAgain(); // read: nothing left to read again
    await redis.redis.set(keys.routes(9), 'not a table');
    assert.equal(await routes.resync(9), false);
    routes.drop(9); // it left: its table is not read again
    await redis.redis.del(keys.routes(9));
    await redis.redis.hset(keys.routes(9), 'stale/route', '1');
    await routes.readAgain();
    assert.equal(routes.peers.get(9), undefined);
  });

  it('does not bring back the routes of a peer that left while its table was read', async () => {
    const routes = remoteRoutes();
    await redis.redis.hset(keys.routes(10), 'gone/route', '1');
    routes.apply(JSON.stringify({ node: 10, add: ['gone/route'] }));
    const reading = routes.resync(10); // its HKEYS reads the table before it is deleted
    routes.apply(JSON.stringify({ node: 10, left: true }));
    assert.equal(await reading, true);
    assert.equal(routes.peers.get(10), undefined);
  });
});
