/**
 * A failover of the Redis Cluster under a Pipit cluster: three masters with a replica each
 * (`cluster-node-timeout` 2 s), two Pipit nodes in this process with the default store on it.
 * The master holding the slot of the tag `{pipit}` is killed; once its replica is promoted,
 * ioredis follows the slot there (MOVED) and the nodes go on: a subscription made before
 * reaches its subscriber across nodes again, a new one is routed, a takeover still works, and
 * no node crashed (their connections are ready again).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient, nextMessages, waitFor } from '../helpers/broker.js';
import { type TestNode, waitForRoute } from './cluster-nodes.js';
import { FAILOVER_LEASE, RedisClusterFixture, startNodeOn } from './redis-cluster-fixture.js';

/** True once the server on `port` says `text` in INFO `section`. */
async function infoSays(port: number, section: string, text: string): Promise<boolean> {
  const server = new Redis(port, '127.0.0.1', { protocol: 2, lazyConnect: true });
  try {
    await server.connect();
    return (await server.info(section)).includes(text);
  } catch {
    return false;
  } finally {
    server.disconnect();
  }
}

describe('cluster: a failover of the Redis Cluster master holding the Pipit cluster', () => {
  let fixture: RedisClusterFixture;
  let a: TestNode;
  let b: TestNode;
  const clients: MqttClient[] = [];

  before(async () => {
    fixture = await RedisClusterFixture.start({ replicas: 1 });
    a = await startNodeOn(fixture, FAILOVER_LEASE);
    b = await startNodeOn(fixture, FAILOVER_LEASE);
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    await a?.close();
    await b?.close();
    await fixture?.stop();
  });

  it('goes on once the replica is promoted: routes, forwarding, a new subscription and a takeover', async () => {
    const sub = await connectClient(b.url, { protocolVersion: 5, clientId: 'fo-sub' });
    clients.push(sub);
    await sub.subscribeAsync('fo/before', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'fo/before');
    const pub = await connectClient(a.url, { protocolVersion: 5 });
    clients.push(pub);
    const first = nextMessages(sub, 1);
    await pub.publishAsync('fo/before', 'one', { qos: 1 });
    assert.equal((await first)[0]!.payload.toString(), 'one');

    let master = 0;
    let replica = 0;
    await waitFor(
      async () => {
        const found = await fixture.slotServers('pipit');
        master = found.master;
        replica = found.replicas[0] ?? 0;
        return replica > 0 && (await infoSays(replica, 'replication', 'master_link_status:up'));
      },
      30_000,
      'a replica of the master of the slot, in sync',
    );
    await fixture.kill(master);
    await waitFor(
      () => infoSays(replica, 'replication', 'role:master'),
      60_000,
      'the replica to be promoted',
    );
    await waitFor(
      async () => (await fixture.slotServers('pipit').catch(() => undefined))?.master === replica,
      30_000,
      'the slot to be served by the promoted replica',
    );

    // Publishes during the failover may be refused (0x97): the publisher tries again.
    const again = nextMessages(sub, 1);
    await waitFor(
      async () => {
        try {
          await pub.publishAsync('fo/before', 'two', { qos: 1 });
          return true;
        } catch {
          return false;
        }
      },
      30_000,
      'a publish acknowledged after the failover',
    );
    assert.equal((await again)[0]!.payload.toString(), 'two');

    await sub.subscribeAsync('fo/after', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'fo/after');
    const third = nextMessages(sub, 1);
    await pub.publishAsync('fo/after', 'three', { qos: 1 });
    assert.equal((await third)[0]!.payload.toString(), 'three');

    const disconnected = new Promise<number | undefined>((resolve) =>
      sub.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    // The store's first reads after the failover may be refused (0x88, "Connection is
    // closed": ioredis's map of the slots still names the dead master, and the store never
    // resends): the client connects again.
    await waitFor(
      async () => {
        const moved = await connectClient(a.url, { protocolVersion: 5, clientId: 'fo-sub' }).catch(
          () => undefined,
        );
        if (moved !== undefined) clients.push(moved);
        return moved !== undefined;
      },
      30_000,
      'a takeover accepted after the failover',
    );
    assert.equal(await disconnected, 0x8e);
    assert.equal(a.broker.cluster!.status().redis, 'ready');
    assert.equal(b.broker.cluster!.status().redis, 'ready');
  });
});
