/**
 * An owner key that Redis lost while a node holds its session (issue #11: one owner per client
 * id at a time). Two nodes in this process on a real redis-server with the Redis store.
 *
 * The failover soak (seed 14) found it: after a master failover, node 107 took `soak-sub-1`'s
 * owner key without asking node 228, which held that session in memory (offline, routed); 228
 * never heard of it, went on queueing in the store what was published to the session while
 * 107 delivered the same messages live, and once 107 died the session's next node delivered
 * that queue again under the same ids: 36 QoS 2 duplicates. A failover loses the writes the
 * old master had not passed on yet, and a restart without persistence loses all: a node then
 * holds sessions whose owner key is gone, and nothing made it write them back.
 *
 * Here the client's session is offline on the old node, routed there; its owner key is
 * deleted, and every node's Redis connections are dropped (`CLIENT KILL`), as a failover that
 * lost the key does. Either the old node is back first and writes its key back (the client's
 * connect to the next node then moves the session), or the client connected to the next node
 * before (it took the free key, as node 107 did) and the old node, back, finds its key named
 * there and lets go of its copy. Either way the session then lives on the next node only: QoS
 * 2 messages published then arrive once, and when the client goes back to the old node
 * nothing it completed there comes again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endClient, waitFor } from '../helpers/broker.js';
import {
  type CollectingClient,
  type TestNode,
  useTwoSharedNodes,
  waitForRoute,
} from './cluster-nodes.js';
import { movingClient, numbered } from './cluster-test-values.js';
import type { RedisFixture } from './redis-fixture.js';

const TOPIC = 'owner/lost';

describe('cluster: an owner key Redis lost while a node holds the session', () => {
  let redis: RedisFixture;
  let old: TestNode;
  let next: TestNode;
  const { collecting } = useTwoSharedNodes((nodes) => ({ redis, old, next } = nodes));
  const ownerKey = (clientId: string) => `pipit:owner:${clientId}`;
  const ownerOf = async (clientId: string) =>
    Number((await redis.redis.get(ownerKey(clientId)))?.split('/')[0]);

  /** `clientId`'s session, offline on the old node (QoS 2) and routed there from the next. */
  async function offlineOnOld(clientId: string): Promise<void> {
    const first = await accepted(old, clientId);
    await first.client.subscribeAsync(`${TOPIC}/${clientId}`, { qos: 2 });
    await endClient(first.client);
    assert.equal(await ownerOf(clientId), old.nodeId);
    await waitForRoute(next, old.nodeId, `${TOPIC}/${clientId}`);
  }

  /** What a failover does to the nodes: their connections dropped, made again (the new master). */
  async function dropConnections(): Promise<void> {
    // Not this connection (SKIPME yes): the nodes' command, inbox and store connections.
    await redis.redis.call('CLIENT', 'KILL', 'TYPE', 'normal');
  }

  /**
   * A collecting client on `node`, connected again after a refusal: a node whose Redis
   * connection is not back yet refuses a client (0x88), which connects again (as the soak's do).
   */
  async function accepted(node: TestNode, clientId: string): Promise<CollectingClient> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await collecting(node, movingClient(clientId));
      } catch (err) {
        if ((err as { code?: number }).code !== 0x88 || attempt >= 100) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /**
   * The session lives on the next node only, where `moved` is connected: QoS 2 messages
   * published now arrive there once; back on the old node, the client gets nothing of them again.
   */
  async function livesOnNextOnly(clientId: string, moved: CollectingClient): Promise<void> {
    await waitFor(
      () => !old.broker.core.sessions.has(clientId),
      15_000,
      'the old node to let go of the session (else it lives on two nodes)',
    );
    assert.equal(await ownerOf(clientId), next.nodeId);
    const topic = `${TOPIC}/${clientId}`;
    const publisher = (await accepted(old, `${clientId}-publisher`)).client;
    const payloads = numbered('after-loss', 5);
    for (const payload of payloads) await publisher.publishAsync(topic, payload, { qos: 2 });
    await waitFor(() => moved.messages.length >= payloads.length, 10_000, 'the messages');
    assert.deepEqual(
      moved.messages.map((m) => m.payload),
      payloads,
    );
    await endClient(moved.client);
    // Back on the old node (the session moves back): the marker, published after the connect,
    // comes after anything queued for it there.
    const back = await accepted(old, clientId);
    assert.equal(back.sessionPresent, true);
    await publisher.publishAsync(topic, 'marker', { qos: 2 });
    await waitFor(() => back.messages.some((m) => m.payload === 'marker'), 10_000, 'the marker');
    assert.deepEqual(
      back.messages.map((m) => m.payload),
      ['marker'],
      'only the marker: messages completed on the next node came again',
    );
    assert.equal(await ownerOf(clientId), old.nodeId, 'the session moved back');
  }

  it('is written back by the old node once its Redis connection is back: the connect on the next node moves the session [MQTT-3.1.4-3] [MQTT-4.3.3-2]', async () => {
    const clientId = 'owner-key-lost-back';
    await offlineOnOld(clientId);
    // The failover lost the key.
    await redis.redis.del(ownerKey(clientId));
    await dropConnections();
    await waitFor(
      async () => (await ownerOf(clientId)) === old.nodeId,
      15_000,
      'the old node to write its owner key back',
    );
    const moved = await accepted(next, clientId);
    assert.equal(moved.sessionPresent, true);
    await livesOnNextOnly(clientId, moved);
  });

  it('taken by the next node first (as node 107 did in the soak), is found there by the old node once its Redis connection is back: it lets go of its copy [MQTT-3.1.4-3] [MQTT-4.3.3-2]', async () => {
    const clientId = 'owner-key-lost-taken';
    await offlineOnOld(clientId);
    // The failover lost the key; the old node has not noticed yet.
    await redis.redis.del(ownerKey(clientId));
    // The next node finds the key free: it takes it and reads the session, asking no node.
    const moved = await accepted(next, clientId);
    assert.equal(moved.sessionPresent, true);
    assert.equal(await ownerOf(clientId), next.nodeId);
    assert.equal(
      old.broker.core.sessions.has(clientId),
      true,
      'on two nodes (the old one not asked)',
    );
    // The failover's dropped connections: the old node is back on Redis.
    await dropConnections();
    await livesOnNextOnly(clientId, moved);
  });
});
