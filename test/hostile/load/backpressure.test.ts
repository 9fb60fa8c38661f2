/**
 * Hostile load against output backpressure (issue #16 items 1, 4 and 14), on the real
 * `pipit broker` in a child process. Each attack checks that the broker stays alive, that
 * its RSS stays under a stated bound, and that a well-behaved client is served within a
 * second while the attack runs and after it.
 *
 * Measured on the 2-core dev machine (broker baseline ~105 MiB then; ~125 MiB since $SYS, metrics
 * and the cluster code; bounds are growth over the broker's own start). Before the fix these cases
 * fail: RSS 405 MiB after 6.8 MB of PINGREQ (2.2 GB after 22 MiB when pushed on), all 128 MiB
 * read over WebSocket, 505 MiB after 17 MB of QoS 1 (1.6 GB after 64 MiB), 732 MiB with the
 * stalled subscribers, and the '#' subscriber got 80,115 of 100,000 retained messages while a
 * SUBACK took over a second. After: the floods stall after 11-18 MiB at 130-170 MiB RSS, the
 * stalled subscribers cost 240 MiB (60 MiB of it the shared messages), all 100,000 retained
 * messages arrive, and every served check answers within tens of milliseconds.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { Packet, PublishPacket } from '../../../src/protocol/index.js';
import { Decoder, encode } from '../../../src/protocol/index.js';
import { connectClient, endClient, nextMessages } from '../../helpers/broker.js';
import {
  flood,
  pingreqChunk,
  qos1PublishChunk,
  socketTarget,
  webSocketTarget,
} from '../../helpers/flood.js';
import { connectBytes, RawClient } from '../../helpers/raw-client.js';
import { assertRssGrowthBelow, assertServed, freePort, LoadBroker } from './harness.js';

/** What a flood may send at most; the fixed broker stops reading long before. */
const FLOOD_CAP = 128 * 1024 * 1024;
/** What a flood from a client that does not read may add to the broker's RSS, in MiB. */
const FLOOD_GROWTH_MIB = 95;
/**
 * The same over WebSocket: `ws` makes more garbage per packet, and V8 keeps its pages. Measured
 * 66-89 MiB up after 12 MiB of PINGREQ; a forced full GC then brings the heap back to 19 MiB
 * while RSS stays up, so it is not held. Before the fix the broker read all 128 MiB.
 */
const WS_FLOOD_GROWTH_MIB = 120;
/** Seconds a stalled client keeps its connection in these cases. */
const STALL_SECONDS = 6;
/** A flood counts as stalled after this long without the broker taking a byte. */
const STALL_MS = 2000;

const brokers: LoadBroker[] = [];
after(async () => {
  for (const broker of brokers) await broker.stop();
});

async function start(config: string): Promise<LoadBroker> {
  const broker = await LoadBroker.start({ config });
  brokers.push(broker);
  return broker;
}

/** The figures of one case, for the test log. */
function figures(broker: LoadBroker, bytes: number, rss: number, servedMs: number): string {
  const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);
  return `${mib(bytes)} MiB sent; RSS ${rss.toFixed(0)} MiB (peak ${broker.peakRssMiB().toFixed(0)}); served in ${servedMs.toFixed(0)} ms`;
}

/** Resolves once the broker logged that it closed a stalled connection. */
function stallClose(broker: LoadBroker): Promise<void> {
  return broker.proc.waitForOutput('"limit":"output-stalled"', (STALL_SECONDS + 10) * 1000);
}

describe('hostile load: output backpressure', () => {
  it('a client that writes PINGREQs over TCP and never reads: held at its bound, served during and after, closed after the stall time', async (t) => {
    const broker = await start(`limits:\n  outputStallTimeout: ${STALL_SECONDS}\n`);
    const attacker = await RawClient.connected(broker.port, 4, 'ping-flood');
    attacker.socket.pause(); // never reads
    const result = await flood(socketTarget(attacker.socket), pingreqChunk(), FLOOD_CAP, STALL_MS);
    assert.ok(result.stalled, `the broker read all ${result.sent} bytes`);
    const rss = assertRssGrowthBelow(
      broker,
      FLOOD_GROWTH_MIB,
      `after ${result.sent} bytes of PINGREQ`,
    );
    const served = await assertServed(broker, 'ping-during');
    t.diagnostic(figures(broker, result.sent, rss, served));
    assert.ok(attacker.isOpen, 'the attack is still on');
    await stallClose(broker);
    attacker.socket.resume();
    await attacker.waitClose(10_000);
    assert.ok(attacker.received.every((p) => p.type === 'pingresp'));
    await assertServed(broker, 'ping-after');
    assertRssGrowthBelow(broker, FLOOD_GROWTH_MIB, 'after the PINGREQ flood');
  });

  it('[MQTT-3.14.2-1] the same over WebSocket with MQTT 5: held, served, then DISCONNECT 0x97 behind the unread answers', async (t) => {
    const wsPort = await freePort();
    const broker = await start(
      `listeners:\n  - type: mqtt\n    port: 0\n  - type: ws\n    port: ${wsPort}\n` +
        `limits:\n  outputStallTimeout: ${STALL_SECONDS}\n`,
    );
    const ws = new WebSocket(`ws://127.0.0.1:${wsPort}/mqtt`, 'mqtt');
    ws.on('error', () => {});
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const received: Packet[] = [];
    const decoder = new Decoder({ protocolVersion: 5 });
    ws.on('message', (data: Buffer) => decoder.push(data, (p) => received.push(p)));
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.send(connectBytes(5, 'ws-flood'));
    while (received.length === 0) await new Promise((r) => setTimeout(r, 10));
    assert.equal(received.shift()?.type, 'connack');
    ws.pause(); // never reads
    const result = await flood(webSocketTarget(ws), pingreqChunk(), FLOOD_CAP, STALL_MS);
    assert.ok(result.stalled, `the broker read all ${result.sent} bytes`);
    const rss = assertRssGrowthBelow(
      broker,
      WS_FLOOD_GROWTH_MIB,
      `after ${result.sent} bytes over WebSocket`,
    );
    const served = await assertServed(broker, 'ws-during');
    t.diagnostic(figures(broker, result.sent, rss, served));
    await stallClose(broker);
    ws.resume();
    await closed;
    const last = received.at(-1);
    assert.ok(last?.type === 'disconnect', `the last packet is ${last?.type}`);
    assert.equal(last.reasonCode, 0x97);
    assert.ok(received.slice(0, -1).every((p) => p.type === 'pingresp'));
    await assertServed(broker, 'ws-after');
    assertRssGrowthBelow(broker, WS_FLOOD_GROWTH_MIB, 'after the WebSocket flood');
  });

  it('a client that sends QoS 1 PUBLISHes and never reads its PUBACKs: held at its bound, served during and after', async (t) => {
    const broker = await start(`limits:\n  outputStallTimeout: ${STALL_SECONDS}\n`);
    const attacker = await RawClient.connected(broker.port, 4, 'qos1-flood');
    attacker.socket.pause();
    const result = await flood(
      socketTarget(attacker.socket),
      qos1PublishChunk(4),
      FLOOD_CAP,
      STALL_MS,
    );
    assert.ok(result.stalled, `the broker read all ${result.sent} bytes`);
    const rss = assertRssGrowthBelow(
      broker,
      FLOOD_GROWTH_MIB,
      `after ${result.sent} bytes of QoS 1 PUBLISH`,
    );
    const served = await assertServed(broker, 'qos1-during');
    t.diagnostic(figures(broker, result.sent, rss, served));
    assert.ok(attacker.isOpen, 'the attack is still on');
    attacker.destroy();
    await assertServed(broker, 'qos1-after');
    assertRssGrowthBelow(broker, FLOOD_GROWTH_MIB, 'after the QoS 1 flood');
  });

  it('10 stalled QoS 1 subscribers and 60 messages of 1 MiB: each holds its bound, not maxInflight copies; a reading subscriber gets all', async (t) => {
    const broker = await start('limits:\n  maxPacketSize: 2MiB\n');
    const stalled: RawClient[] = [];
    for (let i = 0; i < 10; i++) {
      const sub = await RawClient.connected(broker.port, 4, `stalled-${i}`);
      sub.send({
        type: 'subscribe',
        packetId: 1,
        subscriptions: [
          { filter: 'big/#', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 },
        ],
      });
      await sub.next('suback');
      sub.socket.pause(); // never reads again
      stalled.push(sub);
    }
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const reader = await connectClient(url, { clientId: 'reader' });
    await reader.subscribeAsync('big/#', { qos: 1 });
    const count = 60;
    const got = nextMessages(reader, count, 60_000);
    const pub = await RawClient.connected(broker.port, 4, 'big-publisher');
    const payload = Buffer.alloc(1024 * 1024, 7);
    for (let i = 0; i < count; i++) {
      payload.writeUInt32BE(i, 0);
      pub.send({
        type: 'publish',
        topic: 'big/t',
        payload,
        qos: 1,
        retain: false,
        dup: false,
        packetId: i + 1,
      });
      await pub.next('puback', 30_000);
    }
    const order = (await got).map((m) => m.payload.readUInt32BE(0));
    assert.deepEqual(
      order,
      Array.from({ length: count }, (_, i) => i),
    );
    // 60 MiB of shared messages plus 10 x (4 MiB + one message) buffered; before: 738 MiB.
    const rss = assertRssGrowthBelow(broker, 245, 'with 10 stalled QoS 1 subscribers');
    const served = await assertServed(broker, 'stalled-during');
    t.diagnostic(figures(broker, count * payload.length, rss, served));
    for (const sub of stalled) sub.destroy();
    pub.destroy();
    await endClient(reader);
    await assertServed(broker, 'stalled-after');
    assertRssGrowthBelow(broker, 245, 'after the stalled subscribers closed');
  });

  it('[MQTT-3.3.1-9] a subscriber to # reading normally gets every one of 100,000 retained messages, then what was published after it subscribed', async (t) => {
    const broker = await start('limits:\n  maxRetainedMessages: 100000\n');
    const total = 100_000;
    const pub = await RawClient.connected(broker.port, 4, 'retainer');
    const payload = Buffer.alloc(100, 1);
    const packets: Buffer[] = [];
    for (let i = 0; i < total; i++) {
      const topic = `r/${i}`;
      packets.push(
        encode({ type: 'publish', topic, payload, qos: 0, retain: true, dup: false }, 4),
      );
    }
    pub.write(Buffer.concat(packets));
    pub.send({ type: 'pingreq' });
    await pub.next('pingresp', 60_000); // every retained PUBLISH before it was handled
    const sub = await RawClient.connected(broker.port, 4, 'everything');
    sub.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter: '#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    await sub.next('suback');
    // [MQTT-4.6.0-6] published after the SUBSCRIBE: they come after the retained messages.
    const live = ['r/0', `r/${total / 2}`, `r/${total - 1}`];
    for (const topic of live) {
      pub.send({
        type: 'publish',
        topic,
        payload: Buffer.from('live'),
        qos: 0,
        retain: false,
        dup: false,
      });
    }
    const served = await assertServed(broker, 'retained-during');
    // The '#' subscriber also gets the served check's message: only r/ topics are compared.
    const onR = (): PublishPacket[] =>
      (sub.received as PublishPacket[]).filter((p) => p.topic.startsWith('r/'));
    await sub.until(
      () => sub.received.length >= total + live.length && onR().length === total + live.length,
      30_000,
      'every message',
    );
    const got = onR();
    const retained = got.slice(0, total);
    assert.ok(
      retained.every((p) => p.type === 'publish' && p.retain && p.payload.length === 100),
      'first the retained messages [MQTT-3.3.1-8]',
    );
    assert.equal(new Set(retained.map((p) => p.topic)).size, total, 'each topic once');
    assert.deepEqual(
      got.slice(total).map((p) => `${p.topic} ${p.payload.toString()} ${p.retain}`),
      live.map((topic) => `${topic} live false`),
    );
    const rss = assertRssGrowthBelow(broker, 195, 'with 100,000 retained messages');
    t.diagnostic(figures(broker, total * payload.length, rss, served));
    sub.destroy();
    pub.destroy();
    await assertServed(broker, 'retained-after');
  });
});
