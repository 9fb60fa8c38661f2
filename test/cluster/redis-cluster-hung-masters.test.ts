/**
 * Masters of the Redis Cluster other than the one holding the `{pipit}` slot hang (SIGSTOP):
 * the Pipit cluster needs only that slot's master, so it goes on. In particular its
 * announcements (retained changes, takeover requests and answers) go to that master: a
 * PUBLISH names no key, and ioredis would send it to any master, where a hung one would hold
 * it for good (a retained change never heard, a takeover that never completes). Three
 * masters, no replicas, `cluster-require-full-coverage no` (the `{pipit}` slot stays served);
 * both Pipit nodes' pub/sub connections are placed on the `{pipit}` master, so that they
 * still hear what Redis broadcasts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient, nextMessages, waitFor } from '../helpers/broker.js';
import type { TestNode } from './cluster-nodes.js';
import {
  FAILOVER_LEASE,
  placePubSub,
  RedisClusterFixture,
  startNodeOn,
} from './redis-cluster-fixture.js';

describe('cluster: Redis Cluster masters outside the {pipit} slot hang', () => {
  let fixture: RedisClusterFixture;
  let a: TestNode;
  let b: TestNode;
  const clients: MqttClient[] = [];

  async function client(node: TestNode, clientId: string): Promise<MqttClient> {
    const c = await connectClient(node.url, { protocolVersion: 5, clientId });
    clients.push(c);
    return c;
  }

  before(async () => {
    fixture = await RedisClusterFixture.start({ fullCoverage: false });
    const { master } = await fixture.slotServers('pipit');
    a = await startNodeOn(fixture, FAILOVER_LEASE);
    const onA = await placePubSub(fixture, [], (port) => port === master);
    b = await startNodeOn(fixture, FAILOVER_LEASE);
    await placePubSub(fixture, [onA.addr], (port) => port === master);
    await waitFor(
      () => a.broker.cluster!.status().peers.some((p) => p.nodeId === b.nodeId),
      30_000,
      'A to know B',
    );
    for (const port of fixture.ports) if (port !== master) fixture.pause(port);
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    await a?.close();
    await b?.close();
    await fixture?.stop();
  });

  it('announces a retained message to the other node through the {pipit} master', async () => {
    const heard = a.broker.cluster!.status().retained!.heard;
    const publisher = await client(b, 'hung-pub');
    await publisher.publishAsync('hung/kept', 'heard on A', { qos: 1, retain: true });
    await waitFor(
      () => a.broker.cluster!.status().retained!.heard > heard,
      30_000,
      'A to hear B’s retained announcement',
    );
    const reader = await client(a, 'hung-reader');
    const retained = nextMessages(reader, 1, 30_000);
    await reader.subscribeAsync('hung/kept', { qos: 1 });
    assert.equal((await retained)[0]!.payload.toString(), 'heard on A');
  });

  it('takes a session over across nodes, again and again (requests and answers through the {pipit} master) [MQTT-3.1.4-3]', async () => {
    let holder = await client(a, 'hung-taken');
    for (const node of [b, a, b]) {
      const disconnected = new Promise<number | undefined>((resolve) =>
        holder.once('disconnect', (packet) => resolve(packet.reasonCode)),
      );
      holder = await client(node, 'hung-taken');
      assert.equal(await disconnected, 0x8e);
    }
  });
});
