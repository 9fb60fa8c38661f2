/**
 * The session resync of a node whose store batch failed never deletes another node's session
 * (issue #11). Two nodes in this process on a real redis-server, sharing the Redis store on
 * it (node A's store fails on demand: test/helpers/flaky-redis-store.ts).
 *
 * A session deleted in a failed batch is deleted again once the store answers
 * (session-resync.ts). But node A, which ended the session, holds none for the client any
 * more and does not know where the client went: it connected to node B meanwhile, whose
 * session is now the stored one. Deleting "again" then deleted B's live session (its record,
 * subscriptions and queue): after B's restart, or on the next node the client went to, the
 * session and the messages queued for it were gone. Now the resync writes only while this
 * node owns the client (its owner key names it; session-write-guard.ts), and the deletion
 * checks the key again in its own Lua step (WriteFence).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { RedisStore } from '../../src/storage/index.js';
import { endClient, waitFor } from '../helpers/broker.js';
import { capturingLogger } from '../helpers/capturing-logger.js';
import { FlakyRedisStore } from '../helpers/flaky-redis-store.js';
import { connectCollecting, startSharedNode, type TestNode } from './cluster-nodes.js';
import { persistentClient } from './cluster-test-values.js';
import { RedisFixture } from './redis-fixture.js';

const CLIENT = 'resync-moved';

describe('cluster: the resync of a session deleted in a failed batch, after its client moved', () => {
  let redis: RedisFixture;
  let storeA: FlakyRedisStore;
  let a: TestNode;
  let b: TestNode;
  const linesA: string[] = [];
  const clients: MqttClient[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    storeA = new FlakyRedisStore({ url: redis.url });
    a = await startSharedNode(redis, {
      store: storeA,
      logger: capturingLogger(linesA, ['info', 'warn', 'error']),
    });
    b = await startSharedNode(redis);
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    await a.close();
    await b.close();
    await redis.stop();
  });

  /** The owner key's value naming `node`. */
  async function ownerValue(node: TestNode): Promise<string> {
    const instance = await redis.redis.get(`pipit:node:${node.nodeId}`);
    assert.ok(instance, `node ${node.nodeId} has a lease`);
    return `${node.nodeId}/${instance}`;
  }

  /**
   * `clientId`'s persistent session on A (old/#) ends while A's store fails: a clean start
   * with no expiry, then gone. A's store stays failing.
   */
  async function endOnAWhileFailing(clientId: string): Promise<void> {
    const first = await connectCollecting(a.url, persistentClient(clientId));
    clients.push(first.client);
    await first.client.subscribeAsync('old/#', { qos: 1 });
    await endClient(first.client);
    storeA.failing = true;
    const clean = await connectCollecting(a.url, {
      ...persistentClient(clientId),
      clean: true,
      properties: { sessionExpiryInterval: 0 },
    });
    clients.push(clean.client);
    await endClient(clean.client);
    await waitFor(() => !a.broker.core.sessions.has(clientId), 5000, 'A to end the session');
  }

  /**
   * `clientId`'s persistent session on A (old/#) ends while A's store fails (a clean start
   * with no expiry, then gone), and the client goes to B (which asks A to let go of the
   * client id first): a new session there (new/#), offline, with a message queued for it in
   * the store.
   */
  async function endOnAThenMoveToB(clientId: string): Promise<void> {
    await endOnAWhileFailing(clientId);
    // A keeps the owner key (its deletion is to be made again): B asks A to let go first.
    const key = `pipit:owner:${clientId}`;
    const onB = await connectCollecting(b.url, { ...persistentClient(clientId), clean: true });
    clients.push(onB.client);
    await onB.client.subscribeAsync('new/#', { qos: 1 });
    await endClient(onB.client);
    assert.equal(await redis.redis.get(key), await ownerValue(b));
    const publisher = await connectCollecting(b.url, { protocolVersion: 5, clientId: 'pub' });
    clients.push(publisher.client);
    await publisher.client.publishAsync('new/1', 'kept', { qos: 1 });
    await endClient(publisher.client);
  }

  /** A's store answers again; resolves once A's resync logged `line`. */
  async function storeBackOnA(line: string): Promise<void> {
    linesA.length = 0;
    storeA.failing = false;
    await waitFor(() => linesA.includes(line), 10_000, `A's resync: ${line}`);
    await a.broker.core.persistence!.commit();
  }

  /** B's session is stored as B wrote it, with the message queued for it. */
  async function assertStoredAsBWroteIt(clientId: string): Promise<void> {
    const reader = new RedisStore({ url: redis.url });
    await reader.open();
    try {
      const stored = await reader.loadSession(clientId);
      assert.deepEqual(
        stored?.subscriptions.map((s) => s.filter),
        ['new/#'],
      );
      const { state } = await reader.loadQueue(clientId);
      assert.equal(state.queuedCount, 1, 'the message queued for it is still stored');
    } finally {
      await reader.close();
    }
  }

  it('[MQTT-3.1.2-4] node A does not delete the session node B holds now: its record, subscriptions and queue stay stored', async () => {
    await endOnAThenMoveToB(CLIENT);
    await storeBackOnA(
      'store: a session whose batch failed is held by another node now; not written again here',
    );
    await assertStoredAsBWroteIt(CLIENT);
  });

  it('[MQTT-3.1.2-4] node A keeps the owner key until it deleted the ended session again, so the client finds none on B', async () => {
    const clientId = `${CLIENT}-ended`;
    const key = `pipit:owner:${clientId}`;
    await endOnAWhileFailing(clientId);
    await storeBackOnA('store: sessions written again after failed batches');
    // Deleted again with A's leave, then the key goes.
    await waitFor(async () => (await redis.redis.get(key)) === null, 5000, 'A to let go');
    const reader = new RedisStore({ url: redis.url });
    await reader.open();
    try {
      assert.equal(await reader.loadSession(clientId), undefined);
      assert.equal((await reader.loadQueue(clientId)).state.queuedCount, 0);
    } finally {
      await reader.close();
    }
    const onB = await connectCollecting(b.url, persistentClient(clientId));
    clients.push(onB.client);
    assert.equal(onB.sessionPresent, false, 'the ended session does not come back on B');
  });

  it("a leave read before the owner key moved: the deletion checks the key again in its own step and leaves B's session be", async () => {
    const clientId = `${CLIENT}-stale`;
    // What A's guard answers while the key names A, kept past the move (a read that raced
    // the move): the store's fenced deletion must still find the key B's.
    const staleGrant = {
      fence: { key: `pipit:owner:${clientId}`, value: await ownerValue(a) },
    };
    await endOnAThenMoveToB(clientId);
    a.broker.core.registry.guardWritesWith({ mayWrite: () => Promise.resolve(staleGrant) });
    await storeBackOnA('store: sessions written again after failed batches');
    await assertStoredAsBWroteIt(clientId);
  });
});
