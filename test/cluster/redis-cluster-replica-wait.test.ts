/**
 * `cluster.wait` and `storage.wait` on a Redis Cluster (docs/cluster.md, "Redis Cluster"):
 * `WAIT` has no key, so ioredis would send it to any master; Pipit sends it to the master of
 * the slot of the prefix's hash tag, where the writes went (the cluster's through the slot
 * map, src/redis/slot-wait.ts; the store's in the batch's own pipeline). Three masters with a
 * replica each (real `redis-server --cluster-enabled yes`); the replica of the `{pipit}`
 * master is stopped in place (SIGSTOP) to make `WAIT` time out, then let go on (SIGCONT), as
 * test/cluster/replica-wait.test.ts does on one server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { ReplicaWait } from '../../src/cluster/replica-wait.js';
import { isStoreUnavailable, RedisStore } from '../../src/storage/index.js';
import { subscription } from '../contracts/store-fixtures.js';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { capturingLogger } from '../helpers/capturing-logger.js';
import {
  type CollectingClient,
  connectCollecting,
  type TestNode,
  waitForRoute,
} from './cluster-nodes.js';
import { REPLICA_WAIT_LEASE as LEASE, REPLICA_WAIT as WAIT } from './cluster-test-values.js';
import { RedisClusterFixture, startNodeOn } from './redis-cluster-fixture.js';

/** How many `WAIT`s the server on `port` has run (INFO commandstats). */
async function waitCalls(fixture: RedisClusterFixture, port: number): Promise<number> {
  const server = fixture.server(port);
  try {
    const stats = await server.info('commandstats');
    return Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  } finally {
    server.disconnect();
  }
}

describe('cluster: cluster.wait and storage.wait on a Redis Cluster (WAIT to the master of the tag’s slot)', () => {
  let fixture: RedisClusterFixture;
  /** The master holding `{pipit}`, its replica, and the other masters. */
  let master: number;
  let replica: number;
  let otherMasters: number[];
  let a: TestNode;
  let b: TestNode;
  let subscriber: CollectingClient;
  let publisher: MqttClient;
  /** The reason codes of the PUBACKs the publisher received, in order. */
  const pubacks: number[] = [];
  const linesA: string[] = [];

  before(async () => {
    fixture = await RedisClusterFixture.start({ replicas: 1 });
    await waitFor(
      async () => {
        const found = await fixture.slotServers('pipit');
        master = found.master;
        replica = found.replicas[0] ?? 0;
        if (replica === 0) return false;
        const server = fixture.server(master);
        try {
          return /slave0:.*state=online/.test(await server.info('replication'));
        } finally {
          server.disconnect();
        }
      },
      30_000,
      'the replica of the {pipit} master, online',
    );
    const masters = new Set<number>();
    for (const tag of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) {
      masters.add((await fixture.slotServers(tag)).master);
    }
    otherMasters = [...masters].filter((port) => port !== master);
    // The default store on the Redis Cluster takes cluster.wait: its batches wait too.
    const cluster = { ...LEASE, wait: WAIT };
    a = await startNodeOn(fixture, cluster, capturingLogger(linesA));
    b = await startNodeOn(fixture, cluster);
    subscriber = await connectCollecting(b.url, { protocolVersion: 5 });
    await subscriber.client.subscribeAsync('replicated/#', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'replicated/#');
    publisher = await connectClient(a.url, { protocolVersion: 5 });
    publisher.on('packetreceive', (packet) => {
      if (packet.cmd === 'puback') pubacks.push(packet.reasonCode ?? 0);
    });
  });

  after(async () => {
    if (replica !== undefined) fixture?.resume(replica);
    if (publisher !== undefined) await endClient(publisher, true);
    if (subscriber !== undefined) await endClient(subscriber.client, true);
    await a?.close();
    await b?.close();
    await fixture?.stop();
  });

  it('a cross-node QoS 1 publish is acknowledged (0x00) once the replica has it; every WAIT ran on the {pipit} master, none on the others', async () => {
    const before = a.broker.cluster!.status().replicaWait!;
    const onMaster = await waitCalls(fixture, master);
    await publisher.publishAsync('replicated/one', 'one', { qos: 1 });
    assert.equal(pubacks.at(-1), 0);
    await waitFor(
      () => subscriber.messages.some((m) => m.payload === 'one'),
      5000,
      'the forwarded message',
    );
    const status = a.broker.cluster!.status();
    assert.ok(status.replicaWait!.waits > before.waits, 'a WAIT was sent after the forward');
    assert.equal(status.replicaWait!.shortfalls, 0);
    assert.equal(status.outbox.notReplicated, 0);
    assert.ok((await waitCalls(fixture, master)) > onMaster, 'the WAIT ran on the {pipit} master');
    // Sent to any master, about two in three WAITs (the nodes', the stores') would land here.
    for (const port of otherMasters) assert.equal(await waitCalls(fixture, port), 0, `${port}`);
  });

  it('the store on the Redis Cluster commits once the replica has a batch; with the replica stopped a commit fails (StoreUnavailable), and succeeds again once it is back', async () => {
    const store = new RedisStore({
      url: 'redis://',
      nodes: fixture.nodes,
      prefix: '{pipit}:wait-test:',
      wait: { replicas: 1, timeoutMs: 500 },
    });
    await store.open();
    try {
      store.putSession('w', 60, undefined);
      store.putSubscription('w', subscription('a/#'));
      await store.commit();
      fixture.pause(replica);
      try {
        store.putSession('x', 60, undefined);
        await assert.rejects(store.commit(), (err: Error) => {
          assert.ok(isStoreUnavailable(err), `${err}`);
          assert.match(err.message, /only 0 of 1 Redis replicas acknowledged the batch/);
          return true;
        });
      } finally {
        fixture.resume(replica);
      }
      store.putSession('y', 60, undefined);
      await store.commit();
      assert.equal((await store.loadSession('y'))?.clientId, 'y');
    } finally {
      await store.close();
    }
    for (const port of otherMasters) assert.equal(await waitCalls(fixture, port), 0, `${port}`);
  });

  it('with the replica stopped, a forward and a message queued for an offline session are not acknowledged (PUBACK 0x97), counted and logged; once the replica is back, both are acknowledged again and the queued message delivered', async () => {
    // An offline persistent session on node a: a message for it is a store batch (with WAIT).
    const offline = await connectClient(a.url, {
      protocolVersion: 5,
      clientId: 'rc-offline',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    });
    await offline.subscribeAsync('queued/#', { qos: 1 });
    await endClient(offline);
    fixture.pause(replica);
    try {
      await assert.rejects(
        publisher.publishAsync('replicated/two', 'two', { qos: 1 }),
        (err) => (err as { code?: number }).code === 0x97,
      );
      assert.equal(pubacks.at(-1), 0x97);
      assert.equal(a.broker.cluster!.status().outbox.notReplicated, 1);
      assert.ok(a.broker.cluster!.status().replicaWait!.shortfalls >= 1);
      // The cluster's WAIT came back short (logged once per run of short answers); the
      // refusal names it, or the store's batch of the same turn when its WAIT failed first.
      await waitFor(
        () =>
          linesA.some((l) =>
            /only 0 of 1 Redis replicas acknowledged the cluster's writes/.test(l),
          ),
        5000,
        'the short WAIT’s log line',
      );
      assert.ok(
        linesA.some((l) =>
          /^(forward not on enough Redis replicas|store write failed): not acknowledging$/.test(l),
        ),
        linesA.join(' | '),
      );
      // The store's batch: the same refusal, as a failed store write.
      await assert.rejects(
        publisher.publishAsync('queued/one', 'queued while stopped', { qos: 1 }),
        (err) => (err as { code?: number }).code === 0x97,
      );
      assert.ok(
        linesA.some((l) => l === 'store: Redis write failed'),
        linesA.join(' | '),
      );
    } finally {
      fixture.resume(replica);
    }
    await publisher.publishAsync('replicated/three', 'three', { qos: 1 });
    assert.equal(pubacks.at(-1), 0);
    await waitFor(
      () => subscriber.messages.some((m) => m.payload === 'three'),
      5000,
      'the message forwarded after the replica came back',
    );
    await publisher.publishAsync('queued/two', 'queued once back', { qos: 1 });
    assert.equal(pubacks.at(-1), 0);
    const back = await connectCollecting(a.url, {
      protocolVersion: 5,
      clientId: 'rc-offline',
      clean: false,
      properties: { sessionExpiryInterval: 0 },
    });
    try {
      assert.equal(back.sessionPresent, true);
      await waitFor(
        () => back.messages.some((m) => m.payload === 'queued once back'),
        5000,
        'the message queued once the replica was back',
      );
    } finally {
      await endClient(back.client, true);
    }
    assert.equal(a.broker.cluster!.status().outbox.notReplicated, 1);
    for (const port of otherMasters) assert.equal(await waitCalls(fixture, port), 0, `${port}`);
  });

  // Last: it moves the {pipit} slot to the other server.
  it('after a failover of the {pipit} master (CLUSTER FAILOVER) that a client has not seen yet, the cluster’s WAIT is sent again to the new master once the redirected write is answered; the store’s redirected batch fails (unavailable) and a later one commits there', async () => {
    const client = fixture.client();
    const replicas = new ReplicaWait(client, WAIT, capturingLogger([]), '{pipit}:');
    const store = new RedisStore({
      url: 'redis://',
      nodes: fixture.nodes,
      prefix: '{pipit}:failover-test:',
      wait: { replicas: 1, timeoutMs: 2000 },
    });
    await store.open();
    try {
      assert.equal(await replicas.after([client.set('{pipit}:failover-test', '1')]), 1);
      store.putSession('before', 60, undefined);
      await store.commit();
      assert.equal(replicas.counters.resent, 0);
      // The replica takes over; the old master becomes its replica. Neither ioredis client
      // reads the slot map again until a MOVED tells it.
      const promoted = fixture.server(replica);
      try {
        await promoted.cluster('FAILOVER');
      } finally {
        promoted.disconnect();
      }
      await waitFor(
        async () => {
          // Mid-failover the server asked may not list the slot at all yet ("not served"):
          // that is "not yet", as in redis-cluster-failover.test.ts.
          const servers = await fixture.slotServers('pipit').catch(() => undefined);
          if (servers === undefined) return false;
          if (servers.master !== replica || !servers.replicas.includes(master)) return false;
          const demoted = fixture.server(master);
          try {
            return /master_link_status:up/.test(await demoted.info('replication'));
          } finally {
            demoted.disconnect();
          }
        },
        30_000,
        'the failover, and the old master in sync as the replica',
      );
      const onNewMaster = await waitCalls(fixture, replica);
      // The SET is refused with MOVED and sent on to the new master by ioredis; the WAIT sent
      // after it went to the old master (a replica now: it refuses WAIT), so it goes again.
      assert.equal(await replicas.after([client.set('{pipit}:failover-test', '2')]), 1);
      assert.equal(replicas.counters.resent, 1);
      assert.ok((await waitCalls(fixture, replica)) > onNewMaster, 'a WAIT ran on the new master');
      // The store's batch went to the old master too: MOVED, so nothing was written, and its
      // WAIT in the same pipeline was refused: the commit fails as unavailable, and the
      // store reads the slot map again; the next batch commits on the new master.
      store.putSession('redirected', 60, undefined);
      await assert.rejects(store.commit(), (err: Error) => {
        assert.ok(isStoreUnavailable(err), `${err}`);
        return true;
      });
      await waitFor(
        async () => {
          store.putSession('after', 60, undefined);
          return store.commit().then(
            () => true,
            () => false,
          );
        },
        10_000,
        'a commit on the new master',
      );
      assert.equal((await store.loadSession('after'))?.clientId, 'after');
    } finally {
      await store.close();
      client.disconnect();
    }
  });
});
