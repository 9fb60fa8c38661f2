/**
 * Message ids stay unique when a node id is claimed again (issue #11: nothing acknowledged is
 * lost when a node dies). A message id is the node id in the high bits and a counter
 * (src/core/message-ids.ts), and the Redis store keeps one body per id (`HSETNX`: the first
 * copy stays) for every queue and inflight entry that references it. A node that claimed the
 * node id of an earlier instance (killed and restarted, or a configured `cluster.nodeId`)
 * used to start its counter again from the first id of its range whenever the store's last
 * id (one for the whole cluster) was another node's: its first messages then took the ids of
 * the earlier instance's, and where those were still stored (an offline session's queue, or
 * a reference left behind by a node killed between a dequeue and its release), the new
 * message was stored as the old body: its subscriber got the old message, and the new one,
 * acknowledged, never arrived. In the crash loop that lost one QoS 1 message of 13,474, on a
 * restarted node that had taken a node id used before in the same run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { idBlock } from '../../src/core/index.js';
import { connectClient, endClient, type TestBroker, waitFor } from '../helpers/broker.js';
import { connectCollecting, startSharedNode, waitForRoute } from './cluster-nodes.js';
import { persistentClient } from './cluster-test-values.js';
import { RedisFixture } from './redis-fixture.js';

/** Messages published by each instance of the reclaimed node id. */
const COUNT = 5;

describe('cluster: message ids of a node id claimed again', () => {
  let redis: RedisFixture;
  const nodes: TestBroker[] = [];

  before(async () => {
    redis = await RedisFixture.start();
  });

  after(async () => {
    for (const node of nodes) await node.close();
    await redis.stop();
  });

  async function start(nodeId: number): Promise<TestBroker & { nodeId: number }> {
    const node = await startSharedNode(redis, {
      sysInterval: 0,
      cluster: { url: redis.url, nodeId },
    });
    nodes.push(node);
    return node;
  }

  /** Publishes `payloads` to `topic` on `node`, QoS 1, each acknowledged. */
  async function publish(node: TestBroker, topic: string, payloads: string[]): Promise<void> {
    const publisher = await connectClient(node.url, { protocolVersion: 5 });
    try {
      for (const payload of payloads) await publisher.publishAsync(topic, payload, { qos: 1 });
    } finally {
      await endClient(publisher);
    }
  }

  /** A persistent session subscribed to `topic` on `node`, left offline. */
  async function offlineSession(node: TestBroker, clientId: string, topic: string): Promise<void> {
    const c = await connectCollecting(node.url, persistentClient(clientId));
    await c.client.subscribeAsync(topic, { qos: 1 });
    await endClient(c.client);
  }

  /** Connects `clientId` again on `node` and returns the `count` messages queued for it. */
  async function queued(node: TestBroker, clientId: string, count: number) {
    const c = await connectCollecting(node.url, persistentClient(clientId));
    try {
      assert.equal(c.sessionPresent, true);
      await waitFor(() => c.messages.length >= count, 5000, `${count} messages for ${clientId}`);
      return c.messages.map((m) => `${m.topic} ${m.payload}`);
    } finally {
      await endClient(c.client);
    }
  }

  it('a node that takes the node id of an earlier instance does not reuse the ids that instance left in the store: each subscriber gets its own messages', async () => {
    const numbered = (word: string) => Array.from({ length: COUNT }, (_, i) => `${word}-${i}`);
    const high = await start(200);
    const first = await start(7);
    // Queued for an offline session, in the store: bodies under node 7's first ids.
    await offlineSession(first, 'reclaim-old', 'reclaim/old');
    await publish(first, 'reclaim/old', numbered('old'));
    // A message of node 200 stored too: the store's last id is now node 200's.
    await waitForRoute(high, 7, 'reclaim/old');
    await publish(high, 'reclaim/old', ['from-high']);
    await waitFor(
      () => first.broker.core.sessions.get('reclaim-old')?.queuedCount === COUNT + 1,
      5000,
      'the message of node 200 queued for the offline session',
    );
    await first.close();
    nodes.splice(nodes.indexOf(first), 1);

    // The same node id again (as a restarted node claims it, or a configured nodeId).
    const second = await start(7);
    assert.equal(second.nodeId, 7);
    await offlineSession(second, 'reclaim-new', 'reclaim/new');
    await publish(second, 'reclaim/new', numbered('new'));

    // Before the fix: the new messages took the ids 7/1..7/5 again, and the store kept the
    // old bodies for them, so this session got `reclaim/old old-0` ... instead of its own.
    assert.deepEqual(
      await queued(second, 'reclaim-new', COUNT),
      numbered('new').map((p) => `reclaim/new ${p}`),
    );
    assert.deepEqual(await queued(second, 'reclaim-old', COUNT + 1), [
      ...numbered('old').map((p) => `reclaim/old ${p}`),
      'reclaim/old from-high',
    ]);
  });

  /** The id of the next message `node` makes (published and recorded). */
  async function nextId(node: TestBroker): Promise<number> {
    const ids: number[] = [];
    node.broker.core.addHook({ onPublished: (_client, message) => ids.push(message.id) });
    await publish(node, 'reclaim/probe', ['probe']);
    assert.equal(ids.length, 1);
    return ids[0]!;
  }

  it('each instance of a node id takes a block after those taken before; a count that is not one (hostile input) is logged and counted again', async () => {
    await redis.redis.set('pipit:idblocks:9', 'not a count');
    const first = await start(9);
    assert.equal(await nextId(first), idBlock(9, 1).first);
    assert.equal(await redis.redis.get('pipit:idblocks:9'), '1');
    await first.close();
    nodes.splice(nodes.indexOf(first), 1);
    const second = await start(9);
    assert.equal(await nextId(second), idBlock(9, 2).first);
    assert.equal(await redis.redis.get('pipit:idblocks:9'), '2');
  });

  it('ids of its own that the store holds beyond its block (written before blocks were reserved) are not handed out again, nor by the next instance', async () => {
    // The store's last id is node 11's, beyond its first block: as a node of the version
    // before blocks leaves it (it continued after the store's last id when that was its own).
    const stored = idBlock(11, 4).first + 41;
    await redis.redis.hset('pipit:meta', 'lastId', String(stored));
    const first = await start(11);
    assert.ok((await nextId(first)) > stored);
    await waitFor(
      async () => (await redis.redis.get('pipit:idblocks:11')) === '4',
      5000,
      'the block holding the ids to be reserved',
    );
    await first.close();
    nodes.splice(nodes.indexOf(first), 1);
    const second = await start(11);
    assert.equal(await nextId(second), idBlock(11, 5).first);
  });
});
