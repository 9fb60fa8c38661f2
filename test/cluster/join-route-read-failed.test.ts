/**
 * A node that joins reads each peer's route table (`routes:<id>`) once, after subscribing to
 * the route announcements; afterwards only announcements change it. When that read failed (a
 * Redis failover or a command timeout at the join), nothing read the table again: the peer's
 * routes of before the join were missing on the new node for good (until the peer rewrote
 * its whole table), so what was published there for the peer's subscribers matched nothing,
 * while the peer's later changes were applied. Now a table whose read failed is read again on
 * each heartbeat until a read succeeds.
 *
 * The read is made to fail by putting a string where the table was (HKEYS answers WRONGTYPE)
 * while the new node joins, and putting the table back once it has joined.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { ClusterKeys } from '../../src/cluster/keys.js';
import { connectClient, endClient, nextMessages, waitFor } from '../helpers/broker.js';
import { startNode, type TestNode, waitForRoute } from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

describe('cluster: a joining node whose read of a peer’s route table failed', () => {
  let redis: RedisFixture;
  const nodes: TestNode[] = [];
  const clients: MqttClient[] = [];
  const keys = new ClusterKeys('pipit:');

  before(async () => {
    redis = await RedisFixture.start();
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    for (const node of nodes) await node.close();
    await redis.stop();
  });

  it('reads it again on a later heartbeat and routes the peer’s subscribers', async () => {
    const a = await startNode(redis);
    nodes.push(a);
    const subscriber = await connectClient(a.url, { clientId: 'jrf-sub' });
    clients.push(subscriber);
    await subscriber.subscribeAsync('jrf/topic', { qos: 1 });
    const table = keys.routes(a.nodeId);
    await waitFor(
      async () => (await redis.redis.hkeys(table)).includes('jrf/topic'),
      5000,
      'the subscriber’s route in its node’s table',
    );

    // The table cannot be read while the new node joins.
    await redis.redis.rename(table, 'jrf:aside');
    await redis.redis.set(table, 'not a route table');
    const b = await startNode(redis);
    nodes.push(b);
    await redis.redis.del(table);
    await redis.redis.rename('jrf:aside', table);

    // No announcement tells it: before, the route never came (this wait timed out).
    await waitForRoute(b, a.nodeId, 'jrf/topic');
    const publisher = await connectClient(b.url, { clientId: 'jrf-pub' });
    clients.push(publisher);
    const arriving = nextMessages(subscriber, 1);
    await publisher.publishAsync('jrf/topic', 'through the table read again', { qos: 1 });
    const [message] = await arriving;
    assert.equal(message!.payload.toString(), 'through the table read again');
  });
});
