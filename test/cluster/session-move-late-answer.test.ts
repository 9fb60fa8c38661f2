/**
 * Session moves between live nodes whose steps come late (issue #11: nothing acknowledged is
 * lost; one owner per client id at a time). Nodes in this process on a real redis-server with
 * the Redis store and short leases (1 s: the new node gives a release 3 s); control messages
 * are held back on the node that reads them (control-tap.ts) to stand for a slow peer.
 *
 * - The old node answers the release after the new node gave up (its client refused 0x88):
 *   the old node keeps the session, routed, as its own offline session; a QoS 1 message
 *   published meanwhile is queued for it and reaches the client when it connects again.
 *   Without that, the old node handed the owner key to a node that no longer waited and let
 *   go: the session sat in the store unrouted and the message matched nothing.
 * - The old node hands the owner key over and its answer comes after the new node gave up:
 *   the new node finds the key its own and lands the session (the other side of that race).
 * - A live node that does not append its marker to the old node's inbox in time: the route
 *   barrier times out (counted), and the move completes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IClientOptions, MqttClient } from 'mqtt';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import {
  connectCollecting,
  startSharedNode,
  type TestNode,
  useTwoSharedNodes,
  waitForRoute,
} from './cluster-nodes.js';
import { persistentClient } from './cluster-test-values.js';
import { ControlTap } from './control-tap.js';
import { connectUntilGivenUp, MOVE_CONNECT_TIMEOUT_MS } from './move-give-up.js';
import { RedisFixture } from './redis-fixture.js';

const persistent = (clientId: string): IClientOptions =>
  persistentClient(clientId, MOVE_CONNECT_TIMEOUT_MS);

/** The node id and instance an owner key's value names. */
function ownerOf(value: string | null): { nodeId: number; instance: string } {
  assert.ok(value, 'the client id has an owner key');
  const [nodeId, instance] = value.split('/');
  return { nodeId: Number(nodeId), instance: instance! };
}

describe('cluster: the old node answers a session move after the new node gave up', () => {
  let redis: RedisFixture;
  let old: TestNode;
  let next: TestNode;
  const { clients, collecting } = useTwoSharedNodes((nodes) => ({ redis, old, next } = nodes));

  /** Exactly one node holds `clientId`: the live node its owner key names, with the session. */
  async function assertOneOwner(clientId: string, holder: TestNode): Promise<void> {
    const owner = ownerOf(await redis.redis.get(`pipit:owner:${clientId}`));
    assert.equal(owner.nodeId, holder.nodeId, 'the owner key names the node holding the session');
    assert.equal(await redis.redis.get(`pipit:node:${owner.nodeId}`), owner.instance, 'live');
    for (const node of [old, next]) {
      assert.equal(node.broker.core.sessions.has(clientId), node === holder, `${node.nodeId}`);
    }
  }

  for (const reconnectOn of ['the new node', 'the old node'] as const) {
    it(`keeps the session routed on the old node: a QoS 1 message published after the give-up reaches the client when it connects again on ${reconnectOn} [MQTT-3.1.4-3] [MQTT-3.1.2-5]`, async () => {
      const clientId = reconnectOn === 'the new node' ? 'late-n' : 'late-o';
      const topic = `late/${clientId}`;
      const { oldTap, nextTap } = await connectUntilGivenUp(
        { old, next },
        collecting,
        clients,
        clientId,
        topic,
        'release',
      );
      const answers = () => nextTap.seen.filter((m) => m.t === 'released').length;
      const before = answers();
      oldTap.stopHolding(true);
      // The old node's late answer: it is done with the release.
      await waitFor(() => answers() > before, 20_000, 'the late answer to the release');
      await assertOneOwner(clientId, old);
      assert.equal(await redis.redis.exists(`pipit:moving:${clientId}`), 0, 'withdrawn');

      // Published on a third connection, acknowledged, while the client is away.
      const publisher = await connectClient(next.url, { protocolVersion: 5 });
      clients.push(publisher);
      await publisher.publishAsync(topic, 'after the give-up', { qos: 1 });

      const back = await collecting(reconnectOn === 'the new node' ? next : old, {
        ...persistent(clientId),
      });
      assert.equal(back.sessionPresent, true);
      await waitFor(() => back.messages.length > 0, 10_000, 'the message published meanwhile');
      assert.deepEqual(
        back.messages.map((m) => [m.topic, m.payload]),
        [[topic, 'after the give-up']],
      );
      await assertOneOwner(clientId, reconnectOn === 'the new node' ? next : old);
      oldTap.stopHolding(true);
    });
  }
});

describe('cluster: the old node hands a session over and its answer comes after the new node gave up', () => {
  let redis: RedisFixture;
  let old: TestNode;
  let next: TestNode;
  const { clients } = useTwoSharedNodes((nodes) => ({ redis, old, next } = nodes));

  it('lands the session on the new node: the hand-over came first, so the owner key is its own [MQTT-3.1.4-3] [MQTT-3.1.2-5]', async () => {
    const first = await connectCollecting(old.url, persistent('late-h'));
    clients.push(first.client);
    await first.client.subscribeAsync('late/h', { qos: 1 });
    await endClient(first.client);
    await waitForRoute(next, old.nodeId, 'late/h');
    const publisher = await connectClient(old.url, { protocolVersion: 5 });
    clients.push(publisher);
    await publisher.publishAsync('late/h', 'queued', { qos: 1 });

    // The old node hands the key over at once; its answer reaches the new node too late.
    const nextTap = new ControlTap(next);
    nextTap.hold((m) => m.t === 'released');
    const moved = await connectCollecting(next.url, persistent('late-h'));
    clients.push(moved.client);
    assert.equal(moved.sessionPresent, true);
    assert.equal(nextTap.held.length, 1, 'the answer was held back until the new node gave up');
    nextTap.stopHolding(true); // the late answer: nothing waits for it any more
    await publisher.publishAsync('late/h', 'after', { qos: 1 });
    await waitFor(() => moved.messages.length >= 2, 10_000, 'the queued and the later message');
    assert.deepEqual(
      moved.messages.map((m) => m.payload),
      ['queued', 'after'],
    );
    const owner = ownerOf(await redis.redis.get('pipit:owner:late-h'));
    assert.equal(owner.nodeId, next.nodeId);
    assert.equal(old.broker.core.sessions.has('late-h'), false);
    assert.equal(await redis.redis.exists('pipit:moving:late-h'), 0, 'no word left behind');
  });
});

describe('cluster: a route barrier that times out', () => {
  let redis: RedisFixture;
  let old: TestNode;
  let next: TestNode;
  let slow: TestNode;
  const clients: MqttClient[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    // Leases of 2 s: the barrier gives up after 4 s, the new node after 6 s.
    const cluster = { url: redis.url, leaseMs: 2000, heartbeatMs: 200 };
    old = await startSharedNode(redis, { cluster });
    next = await startSharedNode(redis, { cluster });
    slow = await startSharedNode(redis, { cluster });
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    for (const node of [old, next, slow]) await node.close();
    await redis.stop();
  });

  it('completes the move without the marker of a live node that does not append it, and counts the timeout [MQTT-3.1.4-3]', async () => {
    const first = await connectCollecting(old.url, persistent('bt-sub'));
    clients.push(first.client);
    await first.client.subscribeAsync('bt/t', { qos: 1 });
    await endClient(first.client);
    await waitForRoute(next, old.nodeId, 'bt/t');
    const publisher = await connectClient(slow.url, { protocolVersion: 5 });
    clients.push(publisher);
    await publisher.publishAsync('bt/t', 'queued', { qos: 1 });

    // The third node never reads the old node's barrier request: its marker never comes.
    const slowTap = new ControlTap(slow);
    slowTap.hold((m) => m.t === 'barrier');
    const timeoutsBefore = old.broker.cluster!.status().moves.barrierTimeouts;
    const moved = await connectCollecting(next.url, persistent('bt-sub'));
    clients.push(moved.client);
    assert.equal(moved.sessionPresent, true);
    assert.ok(slowTap.held.length > 0, 'the barrier request reached the third node');
    assert.equal(old.broker.cluster!.status().moves.barrierTimeouts, timeoutsBefore + 1);
    await waitFor(() => moved.messages.length > 0, 10_000, 'the queued message');
    assert.deepEqual(
      moved.messages.map((m) => m.payload),
      ['queued'],
    );
    assert.equal(
      ownerOf(await redis.redis.get('pipit:owner:bt-sub')).nodeId,
      next.nodeId,
      'the owner key went to the new node',
    );
    assert.equal(old.broker.core.sessions.has('bt-sub'), false);
    slowTap.stopHolding(false);
  });
});
