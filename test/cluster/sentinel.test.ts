/**
 * A cluster whose Redis is reached through Redis Sentinel (a real master, replica and
 * sentinel): two nodes with the Redis store (the default of a cluster) connect through the
 * sentinel, a message crosses from one to the other, the session lands in the master, and
 * after a Sentinel failover the nodes follow the new master.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type Broker, createBroker } from '../../src/index.js';
import {
  connectClient,
  endClient,
  nextMessages,
  type TestBroker,
  waitFor,
} from '../helpers/broker.js';
import { TEST_LEASE, waitForRoute } from './cluster-nodes.js';
import { SentinelFixture } from './sentinel-fixture.js';

type Node = TestBroker & { nodeId: number };

describe('cluster: Redis through Sentinel (cluster.sentinels, cluster.name)', () => {
  let sentinel: SentinelFixture;
  let a: Node;
  let b: Node;
  const clients: MqttClient[] = [];

  /** A node whose cluster and store reach Redis through the sentinel (`name` from the URL). */
  async function startSentinelNode(): Promise<Node> {
    const broker: Broker = createBroker({
      cluster: { url: 'redis://mymaster', sentinels: sentinel.sentinels, ...TEST_LEASE },
    });
    const address = await broker.listen({ port: 0, host: '127.0.0.1' });
    return {
      broker,
      port: address.port,
      url: `mqtt://127.0.0.1:${address.port}`,
      close: () => broker.close(),
      nodeId: broker.cluster!.nodeId,
    };
  }

  async function client(node: Node, clientId: string): Promise<MqttClient> {
    const c = await connectClient(node.url, {
      protocolVersion: 5,
      clientId,
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    });
    clients.push(c);
    return c;
  }

  before(async () => {
    sentinel = await SentinelFixture.start();
    a = await startSentinelNode();
    b = await startSentinelNode();
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    await a?.close();
    await b?.close();
    await sentinel?.stop();
  });

  it('joins two nodes through the sentinel; a message crosses between them; the session is in the master', async () => {
    assert.notEqual(a.nodeId, b.nodeId);
    const sub = await client(b, 'sentinel-sub');
    await sub.subscribeAsync('sentinel/one', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'sentinel/one');
    const pub = await client(a, 'sentinel-pub');
    const got = nextMessages(sub, 1, 10_000);
    await pub.publishAsync('sentinel/one', 'through the sentinel', { qos: 1 });
    assert.equal((await got)[0]!.payload.toString(), 'through the sentinel');
    const master = await sentinel.master();
    try {
      assert.equal(await master.sismember('pipit:sessions', 'sentinel-sub'), 1);
      assert.equal(await master.sismember('pipit:nodes', String(a.nodeId)), 1);
    } finally {
      master.disconnect();
    }
  });

  it('follows the new master after a Sentinel failover: routes, forwarding and the store work again', async () => {
    const before = await sentinel.masterPort();
    await sentinel.failover();
    assert.notEqual(await sentinel.masterPort(), before);
    // The nodes reconnect through the sentinel to the new master, set their leases again
    // and rewrite their route tables there.
    const master = await sentinel.master();
    try {
      await waitFor(
        async () =>
          (await master.exists(`pipit:node:${a.nodeId}`)) === 1 &&
          (await master.exists(`pipit:node:${b.nodeId}`)) === 1,
        30_000,
        'both leases on the new master',
      );
      // Each node's store has its own connection, which may still be reconnecting (a CONNECT
      // meanwhile gets 0x88 Server unavailable): wait until both nodes are ready again.
      await waitFor(
        async () =>
          (await a.broker.readiness()).status === 'ready' &&
          (await b.broker.readiness()).status === 'ready',
        30_000,
        'both nodes ready (cluster and store connections)',
      );
      const sub = await client(b, 'sentinel-sub-2');
      await sub.subscribeAsync('sentinel/two', { qos: 1 });
      await waitForRoute(a, b.nodeId, 'sentinel/two');
      const pub = await client(a, 'sentinel-pub-2');
      const got = nextMessages(sub, 1, 10_000);
      await pub.publishAsync('sentinel/two', 'after the failover', { qos: 1 });
      assert.equal((await got)[0]!.payload.toString(), 'after the failover');
      assert.equal(await master.sismember('pipit:sessions', 'sentinel-sub-2'), 1);
    } finally {
      master.disconnect();
    }
  });
});
