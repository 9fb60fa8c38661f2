/**
 * `cluster.wait`: a forward to another node's inbox is acknowledged only once a replica has
 * it (Redis `WAIT` after the turn's writes), and a new client id's CONNACK only once a replica
 * has its owner key. Two Pipit nodes in this process with the shared
 * store, on a real redis-server with one real replica; the replica is stopped in place
 * (SIGSTOP) to make `WAIT` time out, then let go on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { capturingLogger } from '../helpers/capturing-logger.js';
import {
  type CollectingClient,
  connectCollecting,
  startSharedNode,
  type TestNode,
  waitForRoute,
} from './cluster-nodes.js';
import { REPLICA_WAIT_LEASE as LEASE, REPLICA_WAIT as WAIT } from './cluster-test-values.js';
import { RedisFixture } from './redis-fixture.js';
import { ReplicaFixture } from './replica-fixture.js';

describe('cluster: cluster.wait (WAIT for replicas before acknowledging a forward)', () => {
  let redis: RedisFixture;
  let replica: ReplicaFixture;
  let a: TestNode;
  let b: TestNode;
  let subscriber: CollectingClient;
  let publisher: MqttClient;
  /** The reason codes of the PUBACKs the publisher received, in order. */
  const pubacks: number[] = [];
  const linesA: string[] = [];
  const linesB: string[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    replica = await ReplicaFixture.start(redis);
    const cluster = { url: redis.url, ...LEASE, wait: WAIT };
    // The shared store named without its own wait (by default it takes cluster.wait): what
    // fails here is the cluster's WAIT, not the store's.
    const persistence = { kind: 'redis', url: redis.url, prefix: 'pipit:' } as const;
    a = await startSharedNode(redis, { cluster, persistence, logger: capturingLogger(linesA) });
    b = await startSharedNode(redis, { cluster, persistence, logger: capturingLogger(linesB) });
    subscriber = await connectCollecting(b.url, { protocolVersion: 5 });
    await subscriber.client.subscribeAsync('replicated/#', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'replicated/#');
    publisher = await connectClient(a.url, { protocolVersion: 5 });
    publisher.on('packetreceive', (packet) => {
      if (packet.cmd === 'puback') pubacks.push(packet.reasonCode ?? 0);
    });
  });

  after(async () => {
    replica?.resume();
    if (publisher !== undefined) await endClient(publisher, true);
    if (subscriber !== undefined) await endClient(subscriber.client, true);
    await a?.close();
    await b?.close();
    await replica?.stop();
    await redis?.stop();
  });

  it('a cross-node QoS 1 publish is acknowledged (0x00) once the replica has it, and delivered', async () => {
    const before = a.broker.cluster!.status().replicaWait!;
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
  });

  it('sends one WAIT per turn that forwarded, not one per message', async () => {
    const before = a.broker.cluster!.status();
    const sends = Array.from({ length: 40 }, (_, i) =>
      publisher.publishAsync('replicated/burst', `burst ${i}`, { qos: 1 }),
    );
    await Promise.all(sends);
    const now = a.broker.cluster!.status();
    const waits = now.replicaWait!.waits - before.replicaWait!.waits;
    const batches = now.outbox.batches - before.outbox.batches;
    assert.equal(now.outbox.forwarded - before.outbox.forwarded, 40);
    assert.ok(waits >= 1, 'at least one WAIT');
    // One peer: a batch per turn that forwarded, and at most one WAIT for it.
    assert.ok(waits <= batches, `${waits} WAITs for ${batches} batches of 40 messages`);
    await waitFor(
      () => subscriber.messages.filter((m) => m.payload.startsWith('burst')).length === 40,
      10_000,
      'the 40 forwarded messages',
    );
  });

  it('with the replica stopped, a forward is not acknowledged (v5 PUBACK 0x97, 3.1.1 the connection closes), counted and logged; a SUBACK is not failed; a new client id is refused (0x88); once the replica is back, both are acknowledged again', async () => {
    // Connected first: while the replica is stopped a new client id's claim is refused.
    const v3 = await connectClient(a.url, { protocolVersion: 4 });
    replica.pause();
    try {
      await assert.rejects(
        publisher.publishAsync('replicated/two', 'two', { qos: 1 }),
        (err) => (err as { code?: number }).code === 0x97,
      );
      assert.equal(pubacks.at(-1), 0x97);
      const status = a.broker.cluster!.status();
      assert.equal(status.outbox.notReplicated, 1);
      assert.ok(status.replicaWait!.shortfalls >= 1);
      await waitFor(
        () => linesA.includes('forward not on enough Redis replicas: not acknowledging'),
        5000,
        'the refusal’s log line',
      );
      assert.ok(
        linesA.some((l) => /only 0 of 1 Redis replicas acknowledged the cluster's writes/.test(l)),
        linesA.join(' | '),
      );
      // MQTT 3.1.1 has no reason code for it: the connection closes, the client sends again.
      const closed = new Promise<void>((resolve) => v3.once('close', () => resolve()));
      let v3Acked = false;
      v3.publish('replicated/v3', 'v3', { qos: 1 }, (err) => {
        if (err === undefined || err === null) v3Acked = true;
      });
      await closed;
      assert.equal(v3Acked, false, 'a 3.1.1 PUBACK for a forward no replica had');
      assert.equal(a.broker.cluster!.status().outbox.notReplicated, 2);
      await endClient(v3, true);
      // A publish no other node wants writes nothing to Redis: it waits for no replica.
      await publisher.publishAsync('local-only/x', 'local', { qos: 1 });
      assert.equal(pubacks.at(-1), 0x10); // No matching subscribers: a success

      // A route change waits for the replicas too, but too few does not fail the SUBACK (the
      // node writes its table again after a failover), as a failed write does not.
      const granted = await subscriber.client.subscribeAsync('while-stopped/#', { qos: 1 });
      assert.equal(granted[0]?.qos, 1);
      await waitFor(
        () => (b.broker.cluster!.status().replicaWait?.shortfalls ?? 0) >= 1,
        5000,
        'the route change’s WAIT to come back short',
      );
      // A new client's claim of its id: the owner key waits for the replicas too, and too
      // few refuses the client (CONNACK 0x88 Server unavailable) and lets go of the key.
      await assert.rejects(
        connectClient(a.url, { protocolVersion: 5, clientId: 'claimed-while-stopped' }),
        (err) => (err as { code?: number }).code === 0x88,
      );
      assert.equal(a.broker.cluster!.status().refusedNotReplicated, 1);
      await waitFor(
        async () => (await redis.redis.exists('pipit:owner:claimed-while-stopped')) === 0,
        5000,
        'the refused claim’s owner key to be let go',
      );
    } finally {
      replica.resume();
    }
    // Back: the same client connects (its claim waits again, and the replica has the key).
    const claimed = await connectClient(a.url, {
      protocolVersion: 5,
      clientId: 'claimed-while-stopped',
    });
    assert.equal(await redis.redis.exists('pipit:owner:claimed-while-stopped'), 1);
    await endClient(claimed, true);
    assert.equal(a.broker.cluster!.status().refusedNotReplicated, 1);
    await publisher.publishAsync('replicated/three', 'three', { qos: 1 });
    assert.equal(pubacks.at(-1), 0);
    await waitFor(
      () => subscriber.messages.some((m) => m.payload === 'three'),
      5000,
      'the message forwarded after the replica came back',
    );
    assert.equal(a.broker.cluster!.status().outbox.notReplicated, 2);
  });
});
