/**
 * QoS 2 across kill -9: every message whose PUBREC the publisher received is delivered
 * exactly once [MQTT-4.3.3-10] [MQTT-4.3.3-11], also when the kill falls between PUBREC and
 * PUBREL: the publisher then sends PUBREL after the restart [MQTT-4.4.0-1] and the broker,
 * which stored the packet id, neither loses nor repeats the message.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ProtocolVersion } from '../../src/protocol/index.js';
import { BrokerProcess, freePort, random, sleep, tempDir, waitUntil } from './harness.js';
import { missing, Publisher, Subscriber } from './peers.js';

const running = new Set<BrokerProcess>();
after(async () => {
  for (const b of running) await b.kill();
});

interface Variant {
  name: string;
  version: ProtocolVersion;
  online: boolean;
  /** The publisher withholds every PUBREL until after the restart. */
  holdPubrel: boolean;
  seed: number;
}

const variants: Variant[] = [
  {
    name: 'v5, kill between PUBREC and PUBREL, subscriber offline',
    version: 5,
    online: false,
    holdPubrel: true,
    seed: 21,
  },
  {
    name: 'v3.1.1, kill between PUBREC and PUBREL, subscriber online',
    version: 4,
    online: true,
    holdPubrel: true,
    seed: 22,
  },
  {
    name: 'v5, full flow, subscriber online',
    version: 5,
    online: true,
    holdPubrel: false,
    seed: 23,
  },
];

/** Payloads delivered more than once. */
function duplicates(sub: Subscriber): string[] {
  return [...sub.counts].filter(([, n]) => n > 1).map(([p]) => p);
}

describe('durability: QoS 2 across kill -9', () => {
  for (const v of variants) {
    it(`every PUBRECed message is delivered exactly once [MQTT-4.3.3-10] (${v.name})`, async () => {
      const rnd = random(v.seed);
      const dataDir = tempDir();
      const port = await freePort();
      let broker = await BrokerProcess.start(port, dataDir);
      running.add(broker);
      const sub = new Subscriber('sub2', v.version);
      await sub.connect(port);
      assert.deepEqual(await sub.subscribe('e/#', 2), [2]);
      if (!v.online) {
        sub.client!.disconnect();
        await sub.client!.closed;
      }
      const pub = new Publisher('pub2', v.version, 'e/1');
      pub.holdPubrel = v.holdPubrel;
      await pub.connect(port);
      // Withheld PUBRELs keep messages in flight: v5 allows at most the broker's Receive
      // Maximum (100) of them, v3.1.1 has no such limit.
      const window = !v.holdPubrel ? 64 : v.version === 5 ? 90 : 1000;
      pub.start(4000, 2, window);
      const threshold =
        v.holdPubrel && v.version === 5
          ? 90
          : 150 + Math.floor(rnd() * (window === 1000 ? 800 : 1500));
      await pub.whenAcknowledged(threshold);
      await broker.kill();
      running.delete(broker);
      const acked = new Set(pub.acknowledged);
      const between = pub.betweenRecAndComp.length;
      if (v.holdPubrel) assert.ok(between >= threshold, 'the kill fell between PUBREC and PUBREL');

      broker = await BrokerProcess.start(port, dataDir);
      running.add(broker);
      pub.holdPubrel = false;
      assert.equal(await pub.connect(port), true, "the publisher's session survived");
      assert.equal(await sub.connect(port), true, "the subscriber's session survived");
      await waitUntil(
        () => pub.pending === 0 && missing(acked, sub).length === 0 && sub.held === 0,
        20_000,
        () =>
          `publisher pending ${pub.pending}, missing ${missing(acked, sub).length} of ${acked.size}, held ${sub.held}`,
      );
      await sleep(200); // anything still to come would be a duplicate
      assert.deepEqual(missing(acked, sub), [], 'no PUBRECed message lost');
      assert.deepEqual(
        [...acked].filter((p) => sub.counts.get(p) !== 1),
        [],
        'each PUBRECed message delivered exactly once',
      );
      assert.deepEqual(duplicates(sub), [], 'no message delivered twice');
      sub.client!.destroy();
      pub.client?.destroy();
      await broker.stop();
      running.delete(broker);
    });
  }
});
