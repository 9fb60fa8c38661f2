/**
 * The route table at node granularity (routes follow subscribe, unsubscribe and disconnect),
 * shared subscriptions across nodes (exactly one delivery per group), and takeover across
 * nodes: two Pipit nodes in this process on a real redis-server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { collectUntil, connectClient, endClient } from '../helpers/broker.js';
import { routesOf, type TestNode, TwoNodes, waitForRoute } from './cluster-nodes.js';
import type { RedisFixture } from './redis-fixture.js';

describe('cluster: routes, shared subscriptions and takeover', () => {
  let nodes: TwoNodes;
  let redis: RedisFixture;
  let a: TestNode;
  let b: TestNode;
  const client = (node: TestNode, options: Parameters<TwoNodes['client']>[1] = {}) =>
    nodes.client(node, options);

  before(async () => {
    nodes = await TwoNodes.start();
    ({ redis, a, b } = nodes);
  });

  after(() => nodes.stop());

  it('announces a filter when its first subscriber on a node subscribes, and withdraws it after the last unsubscribes', async () => {
    const first = await client(b, { protocolVersion: 5 });
    const second = await client(b, { protocolVersion: 5 });
    await first.subscribeAsync('route/+', { qos: 1 });
    await second.subscribeAsync('route/+', { qos: 0 });
    await waitForRoute(a, b.nodeId, 'route/+');
    assert.deepEqual(await redis.redis.hkeys(`pipit:routes:${b.nodeId}`), ['route/+']);
    await first.unsubscribeAsync('route/+');
    // Still one subscriber on b: the route stays (a round trip later it would be gone).
    await second.subscribeAsync('route/sync', { qos: 0 });
    await waitForRoute(a, b.nodeId, 'route/sync');
    assert.ok(routesOf(a, b.nodeId).includes('route/+'));
    await second.unsubscribeAsync('route/+');
    await waitForRoute(a, b.nodeId, 'route/+', false);
    assert.equal(await redis.redis.hexists(`pipit:routes:${b.nodeId}`, 'route/+'), 0);
  });

  it('withdraws the routes of a clean session when its client disconnects', async () => {
    const c = await connectClient(b.url, { protocolVersion: 5 });
    await c.subscribeAsync('gone/#', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'gone/#');
    await endClient(c);
    await waitForRoute(a, b.nodeId, 'gone/#', false);
  });

  it('gives each message of a shared subscription to exactly one member across the two nodes', async () => {
    const onA = await client(a, { protocolVersion: 5 });
    const onB = await client(b, { protocolVersion: 5 });
    await onA.subscribeAsync('$share/g/jobs/+', { qos: 1 });
    await onB.subscribeAsync('$share/g/jobs/+', { qos: 1 });
    await onA.subscribeAsync('jobs/end', { qos: 1 });
    await onB.subscribeAsync('jobs/end', { qos: 1 });
    await waitForRoute(a, b.nodeId, '$share/g/jobs/+');
    await waitForRoute(a, b.nodeId, 'jobs/end');
    const pub = await client(a, { protocolVersion: 5 });
    const gotA = collectUntil(onA, 'jobs/end');
    const gotB = collectUntil(onB, 'jobs/end');
    for (let i = 0; i < 20; i++) await pub.publishAsync('jobs/x', String(i), { qos: 1 });
    await pub.publishAsync('jobs/end', '', { qos: 1 });
    const received = [...(await gotA), ...(await gotB)].map((m) => Number(m.payload.toString()));
    assert.deepEqual(
      received.sort((x, y) => x - y),
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.ok((await gotA).length > 0 && (await gotB).length > 0, 'both nodes got a share');
  });

  it('takes a session over from another node: the old connection gets DISCONNECT 0x8E [MQTT-3.1.4-3]', async () => {
    const old = await client(a, { protocolVersion: 5, clientId: 'roaming' });
    assert.match((await redis.redis.get('pipit:owner:roaming')) ?? '', new RegExp(`^${a.nodeId}/`));
    const disconnected = new Promise<number | undefined>((resolve) =>
      old.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    const moved = await client(b, { protocolVersion: 5, clientId: 'roaming' });
    assert.equal(await disconnected, 0x8e);
    assert.equal(moved.connected, true);
    assert.match((await redis.redis.get('pipit:owner:roaming')) ?? '', new RegExp(`^${b.nodeId}/`));
  });

  it('takes a 3.1.1 session over from another node by closing the old connection [MQTT-3.1.4-3]', async () => {
    const old = await client(b, { protocolVersion: 4, clientId: 'roaming-v3' });
    const closed = new Promise<void>((resolve) => old.once('close', () => resolve()));
    const moved = await client(a, { protocolVersion: 4, clientId: 'roaming-v3' });
    await closed;
    assert.equal(moved.connected, true);
    assert.equal(b.broker.core.sessions.get('roaming-v3')?.output, undefined);
  });

  it('closes the connection on another node when a client resumes a session this node still had [MQTT-3.1.4-3]', async () => {
    const persistent = {
      protocolVersion: 5,
      clientId: 'sticky',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    } as const;
    const first = await connectClient(b.url, persistent);
    await endClient(first);
    // b keeps the offline session; the client now connects to a (a new session there).
    const onA = await client(a, persistent);
    const disconnected = new Promise<number | undefined>((resolve) =>
      onA.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    const back = await client(b, persistent);
    assert.equal(back.connected, true);
    assert.equal(await disconnected, 0x8e);
    assert.match((await redis.redis.get('pipit:owner:sticky')) ?? '', new RegExp(`^${b.nodeId}/`));
  });
});
