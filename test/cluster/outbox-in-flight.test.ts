/**
 * The outbox keeps one write in flight: forwards that come while a write to the inboxes is
 * unanswered wait for its answer and then go together in one write (one script call, one
 * stream entry), and each PUBACK still follows the XADD of its own message. Two Pipit nodes
 * in this process on a real redis-server, with the shared store; Redis holds write commands
 * (CLIENT PAUSE WRITE) to keep the first write unanswered for as long as the test needs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient, type TestBroker, waitFor } from '../helpers/broker.js';
import { connectCollecting, startSharedNode, waitForRoute } from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

type Node = TestBroker & { nodeId: number };

describe('cluster: one forward write in flight at a time', () => {
  let redis: RedisFixture;
  let a: Node;
  let b: Node;
  const clients: MqttClient[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    // Leases far longer than the pause below: the held heartbeats must not end a membership.
    const cluster = { url: redis.url, leaseMs: 30_000, heartbeatMs: 1000 };
    a = await startSharedNode(redis, { cluster });
    b = await startSharedNode(redis, { cluster });
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    await a.close();
    await b.close();
    await redis.stop();
  });

  it('forwards that come while a write is unanswered go in one write after it, each PUBACK after its XADD, in order', async () => {
    const subscriber = await connectCollecting(b.url, { protocolVersion: 5 });
    clients.push(subscriber.client);
    await subscriber.client.subscribeAsync('held/x', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'held/x');
    const publisher = await connectClient(a.url, { protocolVersion: 5 });
    clients.push(publisher);
    const written = (): number => a.broker.cluster!.status().outbox.batches;
    const received = (): number => a.broker.core.metrics.messagesReceived;
    const written0 = written();
    const received0 = received();
    let acked = 0;
    const acks: Promise<unknown>[] = [];
    const publish = (i: number) =>
      acks.push(publisher.publishAsync('held/x', String(i), { qos: 1 }).then(() => acked++));
    await redis.redis.call('CLIENT', 'PAUSE', '20000', 'WRITE');
    try {
      publish(0);
      await waitFor(() => written() === written0 + 1, 5000, 'the first forward written');
      for (let i = 1; i <= 4; i++) publish(i);
      await waitFor(() => received() === received0 + 5, 5000, 'node A to receive all five');
      // Node A has routed the four, and the first write is still unanswered (Redis holds it).
      assert.equal(written(), written0 + 1, 'a second write while the first is unanswered');
      assert.equal(acked, 0, 'a PUBACK before its XADD');
    } finally {
      await redis.redis.call('CLIENT', 'UNPAUSE');
    }
    await Promise.all(acks);
    assert.equal(written(), written0 + 2, 'the four held forwards went in one write');
    assert.equal(a.broker.cluster!.status().outbox.forwarded, 5);
    await waitFor(() => subscriber.messages.length === 5, 5000, 'the five messages on node B');
    assert.deepEqual(
      subscriber.messages.map((m) => m.payload),
      ['0', '1', '2', '3', '4'],
    );
  });
});
