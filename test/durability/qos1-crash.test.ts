/**
 * QoS 1 across kill -9: every message whose PUBACK the publisher received reaches the
 * persistent subscriber after the restart (duplicates allowed), and a message that was in
 * flight to it is resent with DUP set [MQTT-4.4.0-1] [MQTT-3.3.1-1].
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ProtocolVersion } from '../../src/protocol/index.js';
import { BrokerProcess, freePort, random, tempDir, waitUntil } from './harness.js';
import { missing, Publisher, Subscriber } from './peers.js';

const running = new Set<BrokerProcess>();
after(async () => {
  for (const b of running) await b.kill();
});

async function start(port: number, dataDir: string): Promise<BrokerProcess> {
  const broker = await BrokerProcess.start(port, dataDir);
  running.add(broker);
  return broker;
}

interface Variant {
  name: string;
  version: ProtocolVersion;
  /** Subscriber connected during the traffic. */
  online: boolean;
  /** Subscriber acknowledges while online (false: everything stays in flight or queued). */
  acks: boolean;
  seed: number;
}

const variants: Variant[] = [
  { name: 'v3.1.1, subscriber offline', version: 4, online: false, acks: true, seed: 11 },
  {
    name: 'v5, subscriber online and acknowledging',
    version: 5,
    online: true,
    acks: true,
    seed: 12,
  },
  {
    name: 'v5, subscriber online, PUBACK withheld',
    version: 5,
    online: true,
    acks: false,
    seed: 13,
  },
];

describe('durability: QoS 1 across kill -9 [MQTT-4.3.2-2] (3.1.1) [MQTT-4.3.2-4] (5.0)', () => {
  for (const v of variants) {
    it(`every PUBACKed message reaches the persistent subscriber (${v.name})`, async () => {
      const rnd = random(v.seed);
      const dataDir = tempDir();
      const port = await freePort();
      let broker = await start(port, dataDir);
      const sub = new Subscriber('sub', v.version);
      assert.equal(await sub.connect(port), false);
      assert.deepEqual(await sub.subscribe('d/#', 1), [1]);
      sub.ackQos1 = v.acks;
      if (!v.online) {
        sub.client!.disconnect();
        await sub.client!.closed;
      }
      const pub = new Publisher('pub', v.version, 'd/1');
      await pub.connect(port);
      pub.start(6000, 1, 64);
      const threshold = 200 + Math.floor(rnd() * 1500);
      await pub.whenAcknowledged(threshold);
      await broker.kill();
      running.delete(broker);
      const acked = new Set(pub.acknowledged);
      assert.ok(acked.size >= threshold);

      broker = await start(port, dataDir);
      sub.ackQos1 = true;
      assert.equal(await sub.connect(port), true, 'the session survived the crash');
      await waitUntil(
        () => missing(acked, sub).length === 0,
        20_000,
        () => `${missing(acked, sub).length} of ${acked.size} acknowledged messages missing`,
      );
      if (v.online && !v.acks) {
        // Received before the crash, never acknowledged, acknowledged to the publisher: the
        // inflight entry was durable, so it comes again with DUP set.
        const inflight = [...sub.unacknowledged].filter((p) => acked.has(p));
        assert.ok(inflight.length > 0, 'some messages were in flight at the kill');
        for (const p of inflight) {
          const again = sub.log.find((r) => r.connection === 1 && r.payload === p);
          assert.ok(again, `${p} redelivered`);
          assert.equal(again.dup, true, `${p} redelivered with DUP`);
        }
      }
      sub.client!.destroy();
      pub.client?.destroy();
      await broker.stop();
      running.delete(broker);
    });
  }
});
