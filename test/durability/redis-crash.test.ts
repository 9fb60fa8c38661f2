/**
 * The Redis store under the real `pipit broker` (storage type redis): QoS 1 messages for an
 * offline persistent session survive kill -9 of the broker. Every message the publisher got
 * PUBACK for reaches the subscriber from the broker started again on the same Redis
 * [MQTT-4.3.2-2] (3.1.1) [MQTT-4.3.2-4] (5.0).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ProtocolVersion } from '../../src/protocol/index.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { BrokerProcess, freePort, tempDir, waitUntil } from './harness.js';
import { missing, Publisher, Subscriber } from './peers.js';

let redis: RedisServer | undefined;
const running = new Set<BrokerProcess>();
before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  for (const b of running) await b.kill();
  await redis?.destroy();
});

/** A config file for a broker on the test's Redis, its keys under `prefix`. */
function redisConfig(prefix: string): string {
  const file = join(tempDir(), 'pipit.yaml');
  writeFileSync(
    file,
    `storage:\n  type: redis\n  url: ${redis?.url}\n  prefix: "${prefix}"\nlimits:\n  maxQueuedMessages: 10000\n`,
  );
  return file;
}

async function start(port: number, config: string): Promise<BrokerProcess> {
  const broker = BrokerProcess.spawn([
    '--config',
    config,
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
  ]);
  running.add(broker);
  await broker.waitForOutput('"msg":"listening"');
  return broker;
}

const variants: { name: string; version: ProtocolVersion }[] = [
  { name: 'v3.1.1', version: 4 },
  { name: 'v5', version: 5 },
];

describe('durability: the Redis store under kill -9 of the broker', () => {
  for (const v of variants) {
    it(`every PUBACKed QoS 1 message reaches the offline persistent subscriber after a restart on the same Redis (${v.name}) [MQTT-4.3.2-2] (3.1.1) [MQTT-4.3.2-4] (5.0)`, async () => {
      const config = redisConfig(`crash-${v.version}:`);
      const port = await freePort();
      let broker = await start(port, config);
      assert.match(broker.output, /"store":"redis"/, 'the broker runs on the Redis store');
      const sub = new Subscriber('sub', v.version);
      assert.equal(await sub.connect(port), false);
      assert.deepEqual(await sub.subscribe('d/#', 1), [1]);
      sub.client!.disconnect();
      await sub.client!.closed;

      const pub = new Publisher('pub', v.version, 'd/1');
      await pub.connect(port);
      pub.start(3000, 1, 64);
      await pub.whenAcknowledged(500);
      await broker.kill();
      running.delete(broker);
      const acked = new Set(pub.acknowledged);
      assert.ok(acked.size >= 500);

      broker = await start(port, config);
      assert.equal(await sub.connect(port), true, 'the session survived the crash');
      await waitUntil(
        () => missing(acked, sub).length === 0,
        20_000,
        () => `${missing(acked, sub).length} of ${acked.size} acknowledged messages missing`,
      );
      sub.client!.destroy();
      pub.client?.destroy();
      await broker.stop();
      running.delete(broker);
    });
  }
});
