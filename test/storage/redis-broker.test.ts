/**
 * A broker on the Redis store (embedded: `createBroker({ store: new RedisStore(...) })`)
 * while Redis goes away and comes back: work that needs the store is refused with a reason
 * code and never acknowledged, work that needs none keeps flowing, the broker does not
 * crash, and acknowledgements resume once Redis is back.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createBroker } from '../../src/index.js';
import type { PublishPacket } from '../../src/protocol/index.js';
import { ReasonCode } from '../../src/protocol/index.js';
import { RedisStore } from '../../src/storage/index.js';
import { RawClient, roundTrip } from '../helpers/raw-client.js';
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
