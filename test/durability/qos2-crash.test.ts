/**
 * QoS 2 across kill -9: every message whose PUBREC the publisher received is delivered
 * exactly once [MQTT-4.3.3-10] [MQTT-4.3.3-11], also when the kill falls between PUBREC and
 * PUBREL: the publisher then sends PUBREL after the restart [MQTT-4.4.0-1] and the broker,
 * which stored the packet id, neither loses nor repeats the message.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
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
    it(`every PUBRECed message is delivered exactly once [MQTT-4.3.3-2] (3.1.1) [MQTT-4.3.3-10] (5.0) (${v.name})`, async () => {
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
  it('[MQTT-4.3.3-10] (v5) a QoS 2 message taken at QoS 0 by an online WebSocket subscriber is not delivered twice across the kill', async () => {
    // Onward delivery waits for the commit that stores the inbound packet id. Sent before it
    // (a WebSocket sink writes on the next tick, before the store's commit), a message whose
    // commit the kill cut off would come again when the publisher resent it after the
    // restart: the broker no longer knows its id and routes it a second time. The kill only
    // sometimes lands in that window (measured: 0.8-7 ms between a subscriber's copy and the
    // publisher's PUBREC before the change), so this run guards the whole path end to end;
    // test/core/qos2-onward-after-commit.test.ts checks the order deterministically.
    const dataDir = tempDir();
    const port = await freePort();
    const wsPort = await freePort();
    const config = join(dataDir, 'pipit.yaml');
    writeFileSync(
      config,
      [
        'listeners:',
        `  - { type: mqtt, port: ${port}, host: 127.0.0.1 }`,
        `  - { type: ws, port: ${wsPort}, host: 127.0.0.1 }`,
        '',
      ].join('\n'),
    );
    let broker = await BrokerProcess.start(port, dataDir, ['-c', config]);
    running.add(broker);
    const counts = new Map<string, number>();
    // The kill falls right when the subscriber holds a message whose PUBREC the publisher has
    // not seen yet: routed, maybe not yet durable (or after 5 s, should that never happen).
    let killNow: () => void = () => {};
    const killMoment = new Promise<void>((resolve) => {
      killNow = resolve;
      setTimeout(resolve, 5000).unref();
    });
    const subscribeOverWs = async (): Promise<mqtt.MqttClient> => {
      const client = await mqtt.connectAsync(`ws://127.0.0.1:${wsPort}/mqtt`, {
        clientId: 'ws0',
        protocolVersion: 5,
        clean: true,
        reconnectPeriod: 0,
      });
      client.on('message', (_topic, payload) => {
        const key = payload.toString();
        counts.set(key, (counts.get(key) ?? 0) + 1);
        if (pub.acknowledged.size >= 300 && !pub.acknowledged.has(key)) killNow();
      });
      client.on('error', () => {});
      await client.subscribeAsync('z/#', { qos: 0 });
      return client;
    };
    const pub = new Publisher('pub0', 5, 'z/1');
    let sub = await subscribeOverWs();
    await pub.connect(port);
    pub.start(4000, 2, 64);
    await killMoment;
    await broker.kill();
    running.delete(broker);
    const before = counts.size;
    console.log(
      [...counts.keys()].filter((k) => !pub.acknowledged.has(k)).length,
      'pending',
      pub.pending,
      'received',
      before,
      'acked',
      pub.acknowledged.size,
    );
    sub.end(true);

    broker = await BrokerProcess.start(port, dataDir, ['-c', config]);
    running.add(broker);
    // The subscriber is back (clean, subscribed again) before the publisher resends.
    sub = await subscribeOverWs();
    assert.equal(await pub.connect(port), true, "the publisher's session survived");
    await waitUntil(
      () => pub.pending === 0,
      20_000,
      () => `publisher pending ${pub.pending}`,
    );
    await sleep(200);
    assert.ok(before > 0 && counts.size > before, 'messages flowed before and after the kill');
    assert.deepEqual(
      [...counts].filter(([, n]) => n > 1).map(([p]) => p),
      [],
      'no message delivered twice',
    );
    sub.end(true);
    pub.client?.destroy();
    await broker.stop();
    running.delete(broker);
  });
});
