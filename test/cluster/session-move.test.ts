/**
 * Sessions move between nodes: two Pipit nodes in this process on a real redis-server, with
 * the store a cluster gets by default (the Redis store on the cluster's Redis). A persistent
 * session written on node A is resumed on node B (subscriptions, queued and inflight messages,
 * inbound QoS 2 ids); A lets go of it without deleting it; its route moves from A to B.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { createBroker } from '../../src/index.js';
import type { PublishPacket } from '../../src/protocol/index.js';
import { connectClient, endClient, type TestBroker, waitFor } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import {
  type CollectingClient,
  connectCollecting,
  startSharedNode,
  waitForRoute,
} from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

type Node = TestBroker & { nodeId: number };

describe('cluster: sessions move between nodes (Redis store)', () => {
  let redis: RedisFixture;
  let a: Node;
  let b: Node;
  let publisher: MqttClient;
  const clients: MqttClient[] = [];
  const raws: RawClient[] = [];

  async function collecting(node: Node, options: Parameters<typeof connectCollecting>[1]) {
    const c = await connectCollecting(node.url, options);
    clients.push(c.client);
    return c;
  }

  async function waitForMessages(c: CollectingClient, count: number, what: string) {
    await waitFor(() => c.messages.length >= count, 10_000, `${count} ${what}`);
  }

  before(async () => {
    redis = await RedisFixture.start();
    a = await startSharedNode(redis);
    b = await startSharedNode(redis);
    publisher = await connectClient(a.url, { protocolVersion: 5, clientId: 'move-publisher' });
  });

  after(async () => {
    for (const raw of raws) raw.destroy();
    await Promise.all([publisher, ...clients].map((c) => endClient(c, true)));
    await a.close();
    await b.close();
    await redis.stop();
  });

  for (const protocolVersion of [5, 4] as const) {
    const label = protocolVersion === 5 ? 'v5' : 'v3.1.1';
    it(`resumes a ${label} session on another node: session present, the messages queued on the first, then live ones from both [MQTT-3.2.2-2] (3.1.1) [MQTT-3.2.2-3] (5.0)`, async () => {
      const clientId = `mover-${label}`;
      const filter = `move/${label}/#`;
      const persistent = {
        protocolVersion,
        clientId,
        clean: false,
        ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}),
      };
      const first = await collecting(a, persistent);
      await first.client.subscribeAsync(filter, { qos: 1 });
      await endClient(first.client);
      for (let i = 0; i < 5; i++) {
        await publisher.publishAsync(`move/${label}/q`, `queued-${i}`, { qos: 1 });
      }
      const moved = await collecting(b, persistent);
      assert.equal(moved.sessionPresent, true);
      await waitForMessages(moved, 5, 'queued messages');
      assert.deepEqual(
        moved.messages.map((m) => m.payload),
        [0, 1, 2, 3, 4].map((i) => `queued-${i}`),
      );
      // The route moved: a no longer has the session, and routes the filter to b.
      assert.equal(a.broker.core.sessions.has(clientId), false);
      await waitForRoute(a, b.nodeId, filter);
      assert.equal(await redis.redis.hexists(`pipit:routes:${a.nodeId}`, filter), 0);
      await publisher.publishAsync(`move/${label}/live`, 'from-a', { qos: 1 });
      const onB = await connectClient(b.url, { protocolVersion: 5 });
      clients.push(onB);
      await onB.publishAsync(`move/${label}/live`, 'from-b', { qos: 1 });
      await waitForMessages(moved, 7, 'messages');
      assert.deepEqual(
        moved.messages
          .slice(5)
          .map((m) => m.payload)
          .sort(),
        ['from-a', 'from-b'],
      );
    });
  }

  it('takes over a connected session from another node: DISCONNECT 0x8E there, session present here [MQTT-3.1.4-3] (5.0)', async () => {
    const persistent = {
      protocolVersion: 5,
      clientId: 'move-connected',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    } as const;
    const onA = await collecting(a, persistent);
    await onA.client.subscribeAsync('move/connected', { qos: 1 });
    const disconnected = new Promise<number | undefined>((resolve) =>
      onA.client.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    const onB = await collecting(b, persistent);
    assert.equal(await disconnected, 0x8e);
    assert.equal(onB.sessionPresent, true);
    await waitForRoute(a, b.nodeId, 'move/connected');
    await publisher.publishAsync('move/connected', 'after-move', { qos: 1 });
    await waitForMessages(onB, 1, 'message');
    assert.equal(onB.messages[0]!.payload, 'after-move');
  });

  it('resends the unacknowledged QoS 1 and QoS 2 messages of a moved session with DUP set, same packet ids [MQTT-4.4.0-1]', async () => {
    const fields = { clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = await RawClient.connected(a.port, 5, 'move-inflight', fields);
    raws.push(first);
    first.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        {
          filter: 'move/inflight/+',
          qos: 2,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 0,
        },
      ],
    });
    await first.next('suback');
    await publisher.publishAsync('move/inflight/one', 'q1', { qos: 1 });
    await publisher.publishAsync('move/inflight/two', 'q2', { qos: 2 });
    const sent = [await first.next('publish'), await first.next('publish')];
    assert.deepEqual(
      sent.map((p) => [p.qos, p.dup]),
      [
        [1, false],
        [2, false],
      ],
    );
    // Never acknowledged: the client reconnects on b.
    const second = await RawClient.connected(b.port, 5, 'move-inflight', fields);
    raws.push(second);
    await first.waitClose();
    const resent = [await second.next('publish'), await second.next('publish')];
    assert.deepEqual(
      resent.map((p) => [p.topic, p.qos, p.dup, p.packetId]),
      sent.map((p) => [p.topic, p.qos, true, p.packetId]),
    );
    second.send({ type: 'puback', packetId: resent[0]!.packetId! });
    second.send({ type: 'pubrec', packetId: resent[1]!.packetId! });
    const pubrel = await second.next('pubrel');
    assert.equal(pubrel.packetId, resent[1]!.packetId);
    second.send({ type: 'pubcomp', packetId: pubrel.packetId });
    // Both exchanges ended on b: nothing is left in flight in the store.
    await waitFor(
      async () => (await redis.redis.hlen('pipit:{c:move-inflight}:f')) === 0,
      5000,
      'the inflight entries to go from the store',
    );
  });

  it('completes on another node a QoS 2 exchange whose PUBLISH the first node received: PUBREL gets PUBCOMP 0x00, no duplicate [MQTT-4.3.3-2] (3.1.1) [MQTT-4.3.3-10] [MQTT-4.3.3-11] (5.0)', async () => {
    const subscriber = await collecting(b, { protocolVersion: 5, clientId: 'move-qos2-sub' });
    await subscriber.client.subscribeAsync('move/qos2/#', { qos: 2 });
    await waitForRoute(a, b.nodeId, 'move/qos2/#');
    const fields = { clean: false, properties: { sessionExpiryInterval: 300 } };
    const onA = await RawClient.connected(a.port, 5, 'move-qos2-pub', fields);
    raws.push(onA);
    const publish: PublishPacket = {
      type: 'publish',
      topic: 'move/qos2/x',
      payload: Buffer.from('exactly-once'),
      qos: 2,
      retain: false,
      dup: false,
      packetId: 7,
    };
    onA.send(publish);
    assert.equal((await onA.next('pubrec')).reasonCode ?? 0, 0);
    onA.destroy();
    const onB = await RawClient.connected(b.port, 5, 'move-qos2-pub', fields);
    raws.push(onB);
    // The client did not see the PUBREC: it sends the PUBLISH again, then PUBREL.
    onB.send({ ...publish, dup: true });
    assert.equal((await onB.next('pubrec')).reasonCode ?? 0, 0);
    onB.send({ type: 'pubrel', packetId: 7 });
    assert.equal((await onB.next('pubcomp')).reasonCode ?? 0, 0);
    await publisher.publishAsync('move/qos2/end', 'end', { qos: 2 });
    await waitFor(
      () => subscriber.messages.some((m) => m.topic === 'move/qos2/end'),
      10_000,
      'the end marker',
    );
    assert.deepEqual(
      subscriber.messages.map((m) => m.payload),
      ['exactly-once', 'end'],
    );
  });

  it('discards the session another node holds on a clean start [MQTT-3.1.2-4] (5.0)', async () => {
    const persistent = {
      protocolVersion: 5,
      clientId: 'move-clean',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    } as const;
    const first = await collecting(a, persistent);
    await first.client.subscribeAsync('move/clean', { qos: 1 });
    await endClient(first.client);
    await publisher.publishAsync('move/clean', 'stale', { qos: 1 });
    const fresh = await collecting(b, { ...persistent, clean: true });
    assert.equal(fresh.sessionPresent, false);
    assert.equal(a.broker.core.sessions.has('move-clean'), false);
    assert.equal(await redis.redis.hexists('pipit:{c:move-clean}:sub', 'move/clean'), 0);
    assert.equal(await redis.redis.zcard('pipit:{c:move-clean}:q'), 0);
    await fresh.client.subscribeAsync('move/clean-end', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'move/clean-end');
    await publisher.publishAsync('move/clean-end', 'end', { qos: 1 });
    await waitForMessages(fresh, 1, 'message');
    assert.deepEqual(
      fresh.messages.map((m) => m.payload),
      ['end'],
    );
  });
});

describe('cluster: a node starting on the shared store', () => {
  let redis: RedisFixture;
  const nodes: Node[] = [];

  before(async () => {
    redis = await RedisFixture.start();
  });

  after(async () => {
    for (const node of nodes) await node.close();
    await redis.stop();
  });

  async function node(): Promise<Node> {
    const started = await startSharedNode(redis);
    nodes.push(started);
    return started;
  }

  async function leaveSession(on: Node, clientId: string, filter: string): Promise<void> {
    const c = await connectClient(on.url, {
      protocolVersion: 5,
      clientId,
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    });
    await c.subscribeAsync(filter, { qos: 1 });
    await endClient(c);
  }

  it('restores the sessions no live node holds and claims them, and leaves those of live nodes alone', async () => {
    const live = await node();
    await leaveSession(live, 'held-by-live', 'start/live');
    const leaving = await node();
    await leaveSession(leaving, 'orphan', 'start/orphan');
    await leaving.close(); // its lease goes; its sessions stay in the store
    const fresh = await node();
    assert.equal(fresh.broker.core.sessions.has('held-by-live'), false);
    assert.equal(fresh.broker.core.sessions.has('orphan'), true);
    assert.match(
      (await redis.redis.get('pipit:owner:orphan')) ?? '',
      new RegExp(`^${fresh.nodeId}/`),
    );
    assert.match(
      (await redis.redis.get('pipit:owner:held-by-live')) ?? '',
      new RegExp(`^${live.nodeId}/`),
    );
    // The orphan's subscription is routed again (to the node that restored it).
    await waitForRoute(live, fresh.nodeId, 'start/orphan');
  });
});

describe('cluster: the store of an embedded node', () => {
  it('refuses SQLite with a cluster, naming what to use instead', () => {
    assert.throws(
      () =>
        createBroker({
          cluster: { url: 'redis://127.0.0.1:1' },
          persistence: { kind: 'sqlite', dataDir: '/nonexistent' },
        }),
      /cluster: a SQLite store is one file per node, sessions would not move between nodes; use the Redis store/,
    );
  });
});
