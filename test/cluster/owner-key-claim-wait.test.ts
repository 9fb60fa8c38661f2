/**
 * An owner key lost in a failover, claimed on another node before its holder wrote it back
 * (issue #11, the claiming side; the holder's side is owner-key-lost.test.ts). Two nodes in
 * this process on a real redis-server with the Redis store.
 *
 * The failover is made on the one server: the client's owner key deleted (the write the new
 * master lacked), the master's identity changed as a promotion changes it (`REPLICAOF` a free
 * port, then `REPLICAOF NO ONE`: a new replication id, the data kept), every node's
 * connection dropped (`CLIENT KILL`). The old node's connections run as an ACL user that is
 * switched off meanwhile, so that the next node is back on Redis first and its claim comes
 * before the old node's check, as the failover soak's node 107 did (seed 14). Before, the next
 * node took the free key at once and read the session from the store while the old node still
 * held it, queued and routed: the CONNACK came with the session on two nodes. Now the claim
 * waits for the old node's mark of its check for this master, finds the key written back and
 * moves the session: at CONNACK the old node no longer holds it, and what was queued for it
 * on the old node arrives once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { markChecked, readMasterIdentity } from '../../src/cluster/master-identity.js';
import { endClient, waitFor } from '../helpers/broker.js';
import {
  type CollectingClient,
  connectCollecting,
  startSharedNode,
  type TestNode,
  waitForRoute,
} from './cluster-nodes.js';
import { movingClient, numbered } from './cluster-test-values.js';
import { freePort, RedisFixture } from './redis-fixture.js';

const TOPIC = 'owner/claim-wait';
/** A lease long enough that the old node, kept off Redis for a moment, stays a live member. */
const LEASE = { leaseMs: 5000, heartbeatMs: 100 } as const;
/** The old node's Redis user (switched off to keep it away from Redis for a moment). */
const USER = 'old-node';

describe('cluster: a claim of an owner key a failover lost, before its holder wrote it back', () => {
  let redis: RedisFixture;
  let old: TestNode;
  let next: TestNode;
  const clients: CollectingClient[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    await redis.redis.call('ACL', 'SETUSER', USER, 'on', '>secret', '~*', '&*', '+@all');
    const asUser = redis.url.replace('redis://', `redis://${USER}:secret@`);
    old = await startSharedNode(redis, { cluster: { url: asUser, ...LEASE } });
    next = await startSharedNode(redis, { cluster: { url: redis.url, ...LEASE } });
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c.client, true)));
    await old?.close();
    await next?.close();
    await redis?.stop();
  });

  const ownerKey = (clientId: string) => `pipit:owner:${clientId}`;

  /** A collecting client on `node`, connected again while the node refuses it (0x88: Redis not back). */
  async function connected(node: TestNode, clientId: string): Promise<CollectingClient> {
    for (let attempt = 1; ; attempt++) {
      try {
        const c = await connectCollecting(node.url, movingClient(clientId));
        clients.push(c);
        return c;
      } catch (err) {
        if ((err as { code?: number }).code !== 0x88 || attempt >= 100) throw err;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /** A promotion's new replication id (the data stays: nothing answers on that port). */
  async function promote(): Promise<void> {
    const nowhere = await freePort();
    await redis.redis
      .pipeline()
      .call('REPLICAOF', '127.0.0.1', String(nowhere))
      .call('REPLICAOF', 'NO', 'ONE')
      .exec();
  }

  /** What a failover that lost `clientId`'s owner key does, with the old node kept off Redis. */
  async function failOver(clientId: string): Promise<void> {
    await redis.redis.call('ACL', 'SETUSER', USER, 'off');
    await redis.redis.del(ownerKey(clientId));
    await promote();
    // Not this connection (SKIPME yes): the nodes' command, pub/sub, inbox and store connections.
    await redis.redis.call('CLIENT', 'KILL', 'TYPE', 'normal');
    await redis.redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
  }

  it('waits for the holder to write the key back, then moves the session: one owner at a time, its queue delivered once [MQTT-3.1.4-3] [MQTT-4.3.3-2]', async () => {
    const clientId = 'owner-key-claim-wait';
    const topic = `${TOPIC}/${clientId}`;
    const first = await connected(old, clientId);
    await first.client.subscribeAsync(topic, { qos: 2 });
    await endClient(first.client);
    await waitForRoute(next, old.nodeId, topic);
    const publisher = (await connected(next, `${clientId}-publisher`)).client;
    const queued = numbered('queued', 3);
    for (const payload of queued) await publisher.publishAsync(topic, payload, { qos: 2 });
    await waitFor(
      () => old.broker.core.sessions.get(clientId)?.queuedCount === queued.length,
      10_000,
      'the messages queued on the old node',
    );

    await failOver(clientId);
    let heldOnOldAtConnack: boolean | undefined;
    const claim = connected(next, clientId).then((c) => {
      heldOnOldAtConnack = old.broker.core.sessions.has(clientId);
      return c;
    });
    // The next node's claim found the key free and waits (or, before, took it at once).
    await waitFor(
      () =>
        heldOnOldAtConnack !== undefined ||
        (next.broker.cluster!.status().ownerKeys.claimsWaited ?? 0) > 0,
      20_000,
      "the next node's claim",
    );
    await redis.redis.call('ACL', 'SETUSER', USER, 'on');
    const moved = await claim;

    assert.equal(heldOnOldAtConnack, false, 'the session was on two nodes at CONNACK');
    assert.equal(next.broker.cluster!.status().ownerKeys.claimsWaited, 1, 'the claim waited');
    assert.equal(moved.sessionPresent, true);
    assert.equal(Number((await redis.redis.get(ownerKey(clientId)))?.split('/')[0]), next.nodeId);
    assert.equal(next.broker.cluster!.status().moves.arrived, 1, 'moved from the old node');
    assert.equal(old.broker.cluster!.status().ownerKeys.yielded, 0, 'not let go by its check');
    // The marker, published after the CONNACK, comes after everything queued before.
    await publisher.publishAsync(topic, 'marker', { qos: 2 });
    await waitFor(() => moved.messages.some((m) => m.payload === 'marker'), 10_000, 'the marker');
    assert.deepEqual(
      moved.messages.map((m) => m.payload),
      [...queued, 'marker'],
    );
    assert.equal(old.broker.core.sessions.has(clientId), false);
  });

  it('a node starting meanwhile waits for the holder to write the key back: it does not restore that session [MQTT-3.1.4-3]', async () => {
    const clientId = 'owner-key-claim-start';
    const topic = `${TOPIC}/${clientId}`;
    const first = await connected(old, clientId);
    await first.client.subscribeAsync(topic, { qos: 1 });
    await endClient(first.client);
    await failOver(clientId);
    let started: TestNode | undefined;
    let failed: unknown;
    const starting = startSharedNode(redis, { cluster: { url: redis.url, ...LEASE } }).then(
      (node) => (started = node),
      (err: unknown) => (failed = err),
    );
    // The third node joined (its mark written) and scans the owner keys (or, before, restored).
    const known = [`pipit:owners-checked:${old.nodeId}`, `pipit:owners-checked:${next.nodeId}`];
    await waitFor(
      async () =>
        started !== undefined ||
        failed !== undefined ||
        (await redis.redis.keys('pipit:owners-checked:*')).some((k) => !known.includes(k)),
      20_000,
      'the third node to join',
    );
    await redis.redis.call('ACL', 'SETUSER', USER, 'on');
    await starting;
    assert.equal(failed, undefined);
    const third = started!;
    try {
      assert.equal(third.broker.core.sessions.has(clientId), false, 'restored on a second node');
      assert.equal(Number((await redis.redis.get(ownerKey(clientId)))?.split('/')[0]), old.nodeId);
      assert.equal(old.broker.core.sessions.has(clientId), true);
    } finally {
      await third.close();
    }
  });

  it('takes a free key at once when every node checked its keys on this master (no failover)', async () => {
    const clientId = 'owner-key-claim-free';
    const waited = next.broker.cluster!.status().ownerKeys.claimsWaited;
    const c = await connected(next, clientId);
    assert.equal(c.sessionPresent, false);
    assert.equal(Number((await redis.redis.get(ownerKey(clientId)))?.split('/')[0]), next.nodeId);
    assert.equal(next.broker.cluster!.status().ownerKeys.claimsWaited, waited);
  });

  it('marks no check whose master changed while it ran', async () => {
    const mark = 'pipit:owners-checked:test';
    const before = await readMasterIdentity(redis.redis, mark);
    await promote();
    assert.notEqual(await readMasterIdentity(redis.redis, mark), before);
    assert.equal(await markChecked(redis.redis, mark, before), false);
    assert.equal(await redis.redis.get(mark), null);
    const now = await readMasterIdentity(redis.redis, mark);
    assert.equal(await markChecked(redis.redis, mark, now), true);
    assert.equal(await redis.redis.get(mark), now);
  });

  it('stops waiting for a live peer that did not mark its check within a lease, on that master', async () => {
    // The old node's mark names no master (a check that failed, a node without marks).
    await redis.redis.set(`pipit:owners-checked:${old.nodeId}`, 'none');
    const { claimsWaited, peersExcused } = next.broker.cluster!.status().ownerKeys;
    const first = await connected(next, 'owner-key-claim-excused-1');
    assert.equal(first.sessionPresent, false);
    const counted = next.broker.cluster!.status().ownerKeys;
    assert.equal(counted.claimsWaited, claimsWaited + 1);
    assert.equal(counted.peersExcused, peersExcused + 1);
    // Excused on this master: the next new client id is not held up again.
    await connected(next, 'owner-key-claim-excused-2');
    assert.equal(next.broker.cluster!.status().ownerKeys.claimsWaited, claimsWaited + 1);
  });
});
