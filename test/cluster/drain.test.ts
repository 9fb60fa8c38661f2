/**
 * Graceful drain of a cluster node: it stops accepting, sends MQTT 5 clients DISCONNECT 0x9C
 * Use another server with the Server Reference a live peer advertises (`cluster.advertise`),
 * closes 3.x clients, lets the sessions go without deleting them (the client resumes its
 * session on the peer), and leaves the cluster. Two nodes in this process on a real
 * redis-server, with the shared Redis store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type Broker, createBroker } from '../../src/index.js';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { connectCollecting, TEST_LEASE } from './cluster-nodes.js';
import { freePort, RedisFixture } from './redis-fixture.js';

/** A node on `port` that advertises `127.0.0.1:<port>` to the others. */
async function advertisedNode(redis: RedisFixture): Promise<{ broker: Broker; address: string }> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const broker = createBroker({ cluster: { url: redis.url, ...TEST_LEASE, advertise: address } });
  await broker.listen({ port, host: '127.0.0.1' });
  return { broker, address };
}

describe('cluster: graceful drain', () => {
  let redis: RedisFixture;
  let a: Awaited<ReturnType<typeof advertisedNode>>;
  let b: Awaited<ReturnType<typeof advertisedNode>>;
  const clients: MqttClient[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    a = await advertisedNode(redis);
    b = await advertisedNode(redis);
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    await a.broker.close();
    await b.broker.close();
    await redis.stop();
  });

  it('sends MQTT 5 clients DISCONNECT 0x9C with the Server Reference of a live peer, closes 3.x ones, hands the session to that peer, and it resumes there with what was queued meanwhile', async () => {
    assert.equal(
      await redis.redis.hget('pipit:addresses', String(b.broker.cluster!.nodeId)),
      b.address,
    );
    const persistent = {
      protocolVersion: 5,
      clientId: 'drained',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    } as const;
    const v5 = await connectCollecting(`mqtt://${a.address}`, persistent);
    clients.push(v5.client);
    await v5.client.subscribeAsync('drain/#', { qos: 1 });
    const disconnect = new Promise<{ reasonCode?: number; ref?: string }>((resolve) =>
      v5.client.once('disconnect', (packet) =>
        resolve({ reasonCode: packet.reasonCode, ref: packet.properties?.serverReference }),
      ),
    );
    const v3 = await connectClient(`mqtt://${a.address}`, { protocolVersion: 4 });
    clients.push(v3);
    const v3Closed = new Promise<void>((resolve) => v3.once('close', () => resolve()));

    // A names a peer its heartbeat has seen live: B joined after A, wait for that beat.
    await waitFor(
      async () => (await a.broker.cluster!.serverReference()) === b.address,
      10_000,
      'node A to see node B as a live peer',
    );
    const result = await a.broker.drain();
    assert.deepEqual(await disconnect, { reasonCode: 0x9c, ref: b.address });
    await v3Closed;
    assert.equal(result.clients, 2);
    assert.equal(result.serverReference, b.address);
    assert.ok(result.sessions >= 1);
    // Kept in the store and handed to the peer, which routes it while the client moves.
    assert.equal(await redis.redis.hexists('pipit:{c:drained}:sub', 'drain/#'), 1);
    assert.equal(b.broker.core.sessions.has('drained'), true);
    assert.match(
      (await redis.redis.get('pipit:owner:drained')) ?? '',
      new RegExp(`^${b.broker.cluster!.nodeId}/`),
    );
    await waitFor(
      () => b.broker.cluster!.status().peers.length === 0,
      5000,
      'the drained node to leave',
    );

    // Published while the client moves: queued in its session on the peer.
    const publisher = await connectClient(`mqtt://${b.address}`, { protocolVersion: 5 });
    clients.push(publisher);
    await publisher.publishAsync('drain/moving', 'queued', { qos: 1 });
    // The client follows the Server Reference and resumes its session there.
    const resumed = await connectCollecting(`mqtt://${result.serverReference}`, persistent);
    clients.push(resumed.client);
    assert.equal(resumed.sessionPresent, true);
    await publisher.publishAsync('drain/after', 'here', { qos: 1 });
    await waitFor(() => resumed.messages.length === 2, 5000, 'the messages on the peer');
    assert.deepEqual(
      resumed.messages.map((m) => m.payload),
      ['queued', 'here'],
    );
  });

  it('refuses to drain a broker that is not a cluster node, saying why', async () => {
    const single = createBroker({ sysInterval: 0 });
    await assert.rejects(single.drain(), /drain: this broker is not a cluster node/);
    await single.close();
  });

  it('refuses a cluster.advertise that is not host:port, naming it', () => {
    assert.throws(
      () => createBroker({ cluster: { url: redis.url, advertise: 'no-port' } }),
      /cluster\.advertise: "no-port" is not host:port/,
    );
  });
});
