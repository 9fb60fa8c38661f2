/**
 * Acknowledge after the cluster write: SUBACK goes out only once the route table change is in
 * Redis (announced to the other nodes), and PUBACK of a message forwarded to other nodes only
 * once its XADD to their inboxes succeeded. A publish that no other node wants costs no Redis
 * round trip. Two Pipit nodes in this process on a real redis-server, with the shared store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient, type TestBroker, waitFor } from '../helpers/broker.js';
import { connectCollecting, startSharedNode } from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

type Node = TestBroker & { nodeId: number };

describe('cluster: acknowledgements after the cluster write', () => {
  let redis: RedisFixture;
  let a: Node;
  let b: Node;
  const clients: MqttClient[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    a = await startSharedNode(redis);
    b = await startSharedNode(redis);
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    await a.close();
    await b.close();
    await redis.stop();
  });

  it('a message published on one node right after SUBACK on the other reaches the subscriber, 50 times over', async () => {
    const subscriber = await connectCollecting(b.url, { protocolVersion: 5 });
    clients.push(subscriber.client);
    const publisher = await connectClient(a.url, { protocolVersion: 5 });
    clients.push(publisher);
    for (let i = 0; i < 50; i++) {
      await subscriber.client.subscribeAsync(`after-suback/${i}`, { qos: 1 });
      // No wait in between: the route is in Redis and announced once SUBACK is out.
      await publisher.publishAsync(`after-suback/${i}`, String(i), { qos: 1 });
    }
    await waitFor(() => subscriber.messages.length >= 50, 10_000, '50 messages');
    assert.deepEqual(
      subscriber.messages.map((m) => Number(m.payload)).sort((x, y) => x - y),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  it('PUBACK of a forwarded message follows its XADD; a publish no other node wants writes nothing to Redis', async () => {
    const subscriber = await connectCollecting(b.url, { protocolVersion: 5 });
    clients.push(subscriber.client);
    await subscriber.client.subscribeAsync('forwarded/x', { qos: 1 });
    const publisher = await connectClient(a.url, { protocolVersion: 5 });
    clients.push(publisher);
    const xadds = await redis.commandCalls('xadd');
    // Redis holds write commands for a while: the XADD waits, and so must the PUBACK.
    await redis.redis.call('CLIENT', 'PAUSE', '300', 'WRITE');
    await publisher.publishAsync('forwarded/x', 'one', { qos: 1 });
    assert.equal(await redis.commandCalls('xadd'), xadds + 1, 'PUBACK came before the XADD');
    await publisher.publishAsync('local-only/x', 'two', { qos: 1 });
    assert.equal(await redis.commandCalls('xadd'), xadds + 1);
    await waitFor(() => subscriber.messages.length === 1, 5000, 'the forwarded message');
    // Without cluster.wait (or storage.wait) nothing waits for replicas: no WAIT at all.
    assert.equal(await redis.commandCalls('wait'), 0);
    assert.equal(a.broker.cluster!.status().replicaWait, undefined);
  });
});
