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
import { createBroker } from '../../src/index.js';
import type { Logger } from '../../src/ports/index.js';
import {
  connectClient,
  endClient,
  nextMessages,
  type TestBroker,
  waitFor,
} from '../helpers/broker.js';
import { recordingLogger } from '../helpers/http.js';
import { routesOf } from './cluster-nodes.js';
import { RedisClusterFixture } from './redis-cluster-fixture.js';

type Node = TestBroker & { nodeId: number };

/** The name ioredis gives a Cluster client's pub/sub connection of a node (`pipit-subscriber`). */
const SUBSCRIBER = 'ioredis-cluster(subscriber):pipit-subscriber';
const keys = new ClusterKeys('{pipit}:');

/** A node on the Redis Cluster; its lease outlasts the test's pauses. */
async function startNodeOn(fixture: RedisClusterFixture, logger?: Logger): Promise<Node> {
  const broker = createBroker({
    logger,
    cluster: { url: 'redis://', nodes: fixture.nodes, leaseMs: 15_000, heartbeatMs: 500 },
  });
  const address = await broker.listen({ port: 0, host: '127.0.0.1' });
  return {
    broker,
    port: address.port,
    url: `mqtt://127.0.0.1:${address.port}`,
    close: () => broker.close(),
    nodeId: broker.cluster!.nodeId,
  };
}

/** The port of the master serving the slot of the tag `{pipit}`. */
async function pipitMaster(redis: Cluster): Promise<number> {
  const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', 'pipit'));
  const ranges = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const range = ranges.find(([from, to]) => slot >= from && slot <= to);
  assert.ok(range, `slot ${slot} is served`);
  return Number(range[2][1]);
}

/** The only pub/sub connection named {@link SUBSCRIBER} (one node runs), once there is one. */
async function onlySubscriber(
  fixture: RedisClusterFixture,
  not?: string,
): Promise<{ port: number; addr: string }> {
  let found: { port: number; addr: string }[] = [];
  await waitFor(
    async () => {
      found = await fixture.clientsNamed(SUBSCRIBER);
      return found.length === 1 && found[0]!.addr !== not;
    },
    30_000,
    'one pub/sub connection of the node',
  );
  return found[0]!;
}

describe('cluster: the pub/sub connection moves to another Redis Cluster node', () => {
  let fixture: RedisClusterFixture;
  let redis: Cluster;
  let a: Node;
  let b: Node;
  const clients: MqttClient[] = [];

  async function client(node: Node, clientId: string): Promise<MqttClient> {
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
    a = await startNodeOn(fixture, logged);
    const master = await pipitMaster(redis);
    // ioredis picks the pub/sub node at random: move it off the {pipit} master (pausing that
    // one would stop B's writes too) by closing the connection until it lands elsewhere.
    let sub = await onlySubscriber(fixture);
    while (sub.port === master) {
      const server = fixture.server(sub.port);
      await server.call('CLIENT', 'KILL', 'ADDR', sub.addr).finally(() => server.disconnect());
      sub = await onlySubscriber(fixture, sub.addr);
    }
    b = await startNodeOn(fixture);
    await waitFor(
      () => a.broker.cluster!.status().peers.some((p) => p.nodeId === b.nodeId),
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
