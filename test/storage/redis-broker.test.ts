/**
 * A broker on the Redis store (embedded: `createBroker({ store: new RedisStore(...) })`)
 * while Redis goes away and comes back: work that needs the store is refused with a reason
 * code and never acknowledged, work that needs none keeps flowing, the broker does not
 * crash, and acknowledgements resume once Redis is back.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type Broker, createBroker, type ReadinessReport } from '../../src/index.js';
import type { ConnackPacket, PublishPacket } from '../../src/protocol/index.js';
import { ReasonCode } from '../../src/protocol/index.js';
import { RedisStore } from '../../src/storage/index.js';
import { TEST_LEASE } from '../cluster/cluster-nodes.js';
import { connectBytes, RawClient, roundTrip } from '../helpers/raw-client.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

let redis: RedisServer | undefined;
after(async () => {
  await redis?.destroy();
});

const PERSISTENT = { clean: false, properties: { sessionExpiryInterval: 3600 } };

function publish(packetId: number, payload: string): PublishPacket {
  return {
    type: 'publish',
    topic: 'r/1',
    qos: 1,
    packetId,
    payload: Buffer.from(payload),
    retain: false,
    dup: false,
  } as PublishPacket;
}

test('Redis gone: a QoS 1 publish for an offline persistent session gets PUBACK 0x97, other traffic flows; once Redis is back it is acknowledged and delivered', async () => {
  redis = await startRedisServer();
  const broker = createBroker({
    store: new RedisStore({ url: redis.url, commandTimeoutMs: 2000 }),
  });
  const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
  try {
    const sub = await RawClient.connected(port, 5, 'sub', PERSISTENT);
    sub.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter: 'r/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    assert.deepEqual((await sub.next('suback')).reasonCodes, [1]);
    sub.send({ type: 'disconnect', reasonCode: 0 });
    await sub.waitClose();
    const pub = await RawClient.connected(port, 5, 'pub');

    await redis.kill();
    pub.send(publish(1, 'refused'));
    const refused = await pub.next('puback');
    assert.equal(refused.reasonCode, ReasonCode.QuotaExceeded, 'not durable: 0x97');
    await roundTrip(port, 'while-redis-is-down'); // needs no store: still served

    await redis.start();
    let packetId = 2;
    const deadline = Date.now() + 15_000;
    for (;;) {
      pub.send(publish(packetId, 'kept'));
      const ack = await pub.next('puback');
      if (ack.reasonCode === 0) break;
      assert.equal(ack.reasonCode, ReasonCode.QuotaExceeded);
      assert.ok(Date.now() < deadline, 'acknowledged again once Redis is back');
      packetId++;
      await new Promise((r) => setTimeout(r, 100));
    }
    const again = await RawClient.connected(port, 5, 'sub', PERSISTENT);
    // The acknowledged one arrives (the refused one may too: the publisher would send it
    // again anyway, so at least once holds either way).
    const payloads: string[] = [];
    while (!payloads.includes('kept'))
      payloads.push((await again.next('publish')).payload.toString());
    assert.ok(
      payloads.every((p) => p === 'kept' || p === 'refused'),
      payloads.join(','),
    );
    again.destroy();
    pub.destroy();
  } finally {
    await broker.close();
  }
});

test('Redis gone: readiness names the store connection as not ready; back: ready again', async () => {
  const server = await startRedisServer();
  const broker = createBroker({
    store: new RedisStore({ url: server.url, commandTimeoutMs: 2000 }),
  });
  await broker.listen({ port: 0, host: '127.0.0.1' });
  try {
    assert.equal((await broker.readiness()).status, 'ready');
    await server.kill();
    const report = await readinessUntil(broker, 'not ready');
    const store = report.checks.find((c) => c.name === 'store');
    assert.match(store?.detail ?? '', /^Redis connection /, JSON.stringify(report));
    await server.start();
    await readinessUntil(broker, 'ready');
  } finally {
    await broker.close();
    await server.destroy();
  }
});

test('a cluster node whose store cannot be read refuses a persistent session with 0x88 Server unavailable (v3: 0x03), not 0x83; accepted once the store is back', async () => {
  const clusterRedis = await startRedisServer();
  const storeRedis = await startRedisServer();
  const broker = createBroker({
    cluster: { url: clusterRedis.url, ...TEST_LEASE },
    store: new RedisStore({ url: storeRedis.url, commandTimeoutMs: 2000 }),
  });
  const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
  try {
    await storeRedis.kill();
    await readinessUntil(broker, 'not ready');
    // The node reads each claimed session from the shared store: the read fails.
    assert.equal(await connackFor(port, 5, 'v5-while-down'), ReasonCode.ServerUnavailable);
    assert.equal(await connackFor(port, 4, 'v3-while-down'), 0x03, 'v3 Server unavailable');
    await storeRedis.start();
    await readinessUntil(broker, 'ready');
    assert.equal(await connackFor(port, 5, 'v5-while-down'), 0);
  } finally {
    await broker.close();
    await clusterRedis.destroy();
    await storeRedis.destroy();
  }
});

/** Polls the broker's readiness until it is `status` (10 s at most); returns that report. */
async function readinessUntil(
  broker: Broker,
  status: ReadinessReport['status'],
): Promise<ReadinessReport> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const report = await broker.readiness();
    if (report.status === status) return report;
    assert.ok(Date.now() < deadline, `readiness ${status}: ${JSON.stringify(report)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The CONNACK a CONNECT with a persistent session gets. */
async function connackFor(port: number, version: 4 | 5, clientId: string): Promise<number> {
  const client = await RawClient.open(port, version);
  try {
    const fields = version === 5 ? PERSISTENT : { clean: false };
    client.write(connectBytes(version, clientId, fields));
    return ((await client.next('connack')) as ConnackPacket).reasonCode;
  } finally {
    client.destroy();
  }
}
