/**
 * Retained messages cluster-wide: two Pipit nodes in this process on a real redis-server with
 * the shared Redis store. A retained message set on one node reaches a new subscriber on the
 * other; cleared on the other, it is gone from the first; a node whose pub/sub connection
 * comes back reads the whole retained set again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient, type TestBroker, waitFor } from '../helpers/broker.js';
import { connectCollecting, startSharedNode } from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

type Node = TestBroker & { nodeId: number };

/** True when `node`'s in-memory index holds a retained message on `topic` with `payload`. */
function holds(node: Node, topic: string, payload?: string): boolean {
  const found = node.broker.core.retained.match(topic, Date.now());
  if (payload === undefined) return found.length > 0;
  return found.length === 1 && found[0]!.payload.toString() === payload;
}

describe('cluster: retained messages shared through the Redis store', () => {
  let redis: RedisFixture;
  let a: Node;
  let b: Node;
  const clients: MqttClient[] = [];

  async function client(node: Node): Promise<MqttClient> {
    const c = await connectClient(node.url, { protocolVersion: 5 });
    clients.push(c);
    return c;
  }

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

  it('a retained message set on one node reaches a new subscriber on the other; cleared there, a new subscriber on the first gets nothing [MQTT-3.3.1-5] [MQTT-3.3.1-6] (5.0)', async () => {
    const onA = await client(a);
    await onA.publishAsync('shared/temp', '21.5', { qos: 1, retain: true });
    await waitFor(() => holds(b, 'shared/temp', '21.5'), 5000, "b's index to learn the message");
    const subB = await connectCollecting(b.url, { protocolVersion: 5 });
    clients.push(subB.client);
    await subB.client.subscribeAsync('shared/+', { qos: 1 });
    await waitFor(() => subB.messages.length === 1, 5000, 'the retained message on b');
    assert.equal(subB.messages[0]!.payload, '21.5');
    assert.equal(subB.messages[0]!.packet.retain, true);

    const onB = await client(b);
    await onB.publishAsync('shared/temp', '', { qos: 1, retain: true });
    await onB.publishAsync('marker/cleared', 'm', { qos: 1, retain: true });
    // a hears both changes in one announcement or in order: the marker arrives last.
    await waitFor(() => holds(a, 'marker/cleared'), 5000, "a's index to learn the marker");
    assert.equal(holds(a, 'shared/temp'), false);
    const subA = await connectCollecting(a.url, { protocolVersion: 5 });
    clients.push(subA.client);
    await subA.client.subscribeAsync('shared/temp', { qos: 1 });
    await subA.client.subscribeAsync('marker/cleared', { qos: 1 });
    await waitFor(() => subA.messages.length >= 1, 5000, 'the marker on a');
    assert.deepEqual(
      subA.messages.map((m) => m.topic),
      ['marker/cleared'],
    );
    assert.equal(await redis.redis.hexists('pipit:{r}:m', 'shared/temp'), 0);
  });

  it('a node whose pub/sub connection comes back reads every retained message again, $-topics too', async () => {
    // Written to the store behind the nodes' backs: no announcement, as if it were missed.
    const store = a.broker.core.persistence!.store;
    store.putRetained({
      id: a.broker.core.messageIds.take(),
      topic: 'missed/one',
      payload: Buffer.from('late'),
      qos: 0,
      retain: true,
    });
    store.putRetained({
      id: a.broker.core.messageIds.take(),
      topic: '$app/missed',
      payload: Buffer.from('dollar'),
      qos: 0,
      retain: true,
    });
    store.deleteRetained('marker/cleared');
    await store.commit();
    const reloads = b.broker.cluster!.status().retained!.reloads;
    assert.equal(holds(b, 'missed/one'), false);
    assert.equal(holds(b, '$app/missed'), false);
    await redis.redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await waitFor(
      () => b.broker.cluster!.status().retained!.reloads > reloads,
      10_000,
      'b to read the retained messages again',
    );
    assert.equal(holds(b, 'missed/one', 'late'), true);
    assert.equal(holds(b, '$app/missed', 'dollar'), true);
    assert.equal(holds(b, 'marker/cleared'), false);
  });
});
