/**
 * The pub/sub connection of a node moving to another node of the Redis Cluster. Node A's
 * subscriptions (route, retained and control announcements) are on one connection to one
 * Redis node, X (not the master of the `{pipit}` slot). X hangs (SIGSTOP): A hears nothing,
 * while node B routes a new subscription and stores a retained message, announcing both.
 * Then X dies (SIGKILL): ioredis subscribes again on another Redis node, and A must read
 * again what it missed (B's route table, the retained messages), as after a reconnection:
 * a publish on A reaches B's new subscriber, and a subscriber on A gets the retained message.
 * The Redis Cluster has three masters and no replicas, with `cluster-require-full-coverage
 * no` so that the `{pipit}` slot stays served while X is down.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Cluster } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { ClusterKeys } from '../../src/cluster/keys.js';
import { connectClient, endClient, nextMessages, waitFor } from '../helpers/broker.js';
import { recordingLogger } from '../helpers/http.js';
import { routesOf, type TestNode } from './cluster-nodes.js';
import {
  FAILOVER_LEASE,
  placePubSub,
  RedisClusterFixture,
  startNodeOn,
} from './redis-cluster-fixture.js';

const keys = new ClusterKeys('{pipit}:');

describe('cluster: the pub/sub connection moves to another Redis Cluster node', () => {
  let fixture: RedisClusterFixture;
  let redis: Cluster;
  let a: TestNode;
  let b: TestNode;
  const clients: MqttClient[] = [];

  async function client(node: TestNode, clientId: string): Promise<MqttClient> {
    const c = await connectClient(node.url, { protocolVersion: 5, clientId });
    clients.push(c);
    return c;
  }

  before(async () => {
    fixture = await RedisClusterFixture.start({ fullCoverage: false });
    redis = fixture.client();
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    await a?.close();
    await b?.close();
    redis?.disconnect();
    await fixture?.stop();
  });

  it('reads the peers’ route tables and the retained messages again once subscribed on another node', async () => {
    const logged = recordingLogger();
    a = await startNodeOn(fixture, FAILOVER_LEASE, logged);
    const { master } = await fixture.slotServers('pipit');
    // Off the {pipit} master: pausing that one would stop B's writes too.
    const sub = await placePubSub(fixture, [], (port) => port !== master);
    b = await startNodeOn(fixture, FAILOVER_LEASE);
    // Live for A's membership too: a heartbeat that first sees B reads B's whole table (on
    // the command connection), which would bring A the route the paused pub/sub withholds.
    await waitFor(
      () =>
        a.broker.cluster!.status().peers.some((p) => p.nodeId === b.nodeId) &&
        a.broker.cluster!.status().livePeers.includes(b.nodeId),
      30_000,
      'A to know B',
    );

    fixture.pause(sub.port);
    const subscriber = await client(b, 'move-sub');
    await subscriber.subscribeAsync('move/routed', { qos: 1 });
    await waitFor(
      async () => (await redis.hkeys(keys.routes(b.nodeId))).includes('move/routed'),
      30_000,
      'B to write its route table',
    );
    // Acknowledged once the store holds it (B's announcement of it cannot reach A).
    const publisher = await client(b, 'move-pub');
    await publisher.publishAsync('move/kept', 'kept while A heard nothing', {
      qos: 1,
      retain: true,
    });
    assert.ok(!routesOf(a, b.nodeId).includes('move/routed'), 'A missed the announcement');

    await fixture.kill(sub.port);
    await waitFor(
      () => routesOf(a, b.nodeId).includes('move/routed'),
      30_000,
      'A to read B’s route table again',
    );
    const resync = logged.lines
      .filter((line) => line.level === 'info' && line.message.startsWith('cluster: pub/sub'))
      .at(-1);
    assert.ok(resync, 'the resync is logged');
    assert.notEqual(resync.fields.via, `127.0.0.1:${sub.port}`, 'on another Redis node');
    const routed = nextMessages(subscriber, 1, 30_000);
    const onA = await client(a, 'move-pub-a');
    await onA.publishAsync('move/routed', 'across', { qos: 1 });
    assert.equal((await routed)[0]!.payload.toString(), 'across');

    const reader = await client(a, 'move-reader');
    const retained = nextMessages(reader, 1, 30_000);
    await reader.subscribeAsync('move/kept', { qos: 1 });
    const [message] = await retained;
    assert.equal(message!.payload.toString(), 'kept while A heard nothing');
    assert.equal(message!.packet.retain, true);
  });
});
