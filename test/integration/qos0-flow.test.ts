/**
 * QoS 0 flow control over real sockets (issue #17): a QoS 0 subscriber that keeps reading
 * loses nothing of a burst far larger than `maxSocketBufferBytes`, because its publishers are
 * held until it has caught up; one that stops reading holds them for at most
 * `qos0DrainWaitMs`, then its QoS 0 messages are dropped (counted) and the others served.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { BrokerOptions } from '../../src/index.js';
import type { PublishPacket } from '../../src/protocol/index.js';
import { encode } from '../../src/protocol/index.js';
import type { TestBroker } from '../helpers/broker.js';
import { startBroker, waitFor } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

let tb: TestBroker | undefined;
const raws: RawClient[] = [];
afterEach(async () => {
  for (const raw of raws.splice(0)) raw.destroy();
  await tb?.close();
  tb = undefined;
});

/** 64 KiB: far less than the burst below, and than what loopback sockets buffer. */
const BOUND = 64 * 1024;
/** 3,000 messages of 10 KiB: 30 MB in one write, more than the kernel buffers on loopback. */
const COUNT = 3000;
const PAYLOAD_BYTES = 10 * 1024;

async function subscriber(port: number, clientId: string): Promise<RawClient> {
  const sub = await RawClient.connected(port, 4, clientId);
  raws.push(sub);
  sub.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [
      { filter: 'burst/#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
    ],
  });
  await sub.next('suback');
  return sub;
}

/** The burst as one buffer: every PUBLISH numbered in its first four payload bytes. */
function burst(): Buffer {
  const packets: Buffer[] = [];
  const payload = Buffer.alloc(PAYLOAD_BYTES, 3);
  for (let i = 0; i < COUNT; i++) {
    payload.writeUInt32BE(i, 0);
    packets.push(
      encode({ type: 'publish', topic: 'burst/t', payload, qos: 0, retain: false, dup: false }, 4),
    );
  }
  return Buffer.concat(packets);
}

/**
 * Publishes the burst while `sub` does not read, so that its output surely goes over the
 * bound (a reader as fast as the broker would never get there), then lets it read.
 */
async function burstPastTheBound(broker: TestBroker['broker'], port: number, sub: RawClient) {
  sub.socket.pause();
  await publishBurst(port, { withPing: false });
  await waitFor(() => broker.core.metrics.outputHolds >= 1, 60_000, 'the output over its bound');
  sub.socket.resume();
}

function numbers(client: RawClient): number[] {
  return client.received
    .filter((p): p is PublishPacket => p.type === 'publish')
    .map((p) => p.payload.readUInt32BE(0));
}

/** Publishes the burst and waits until the publisher's PINGREQ behind it is answered. */
async function publishBurst(port: number, options: { withPing: boolean }): Promise<RawClient> {
  const pub = await RawClient.connected(port, 4, 'burster');
  raws.push(pub);
  pub.write(burst());
  if (options.withPing) {
    pub.send({ type: 'pingreq' });
    await pub.next('pingresp', 60_000);
  }
  return pub;
}

async function start(options: BrokerOptions): Promise<TestBroker> {
  tb = await startBroker({ maxSocketBufferBytes: BOUND, ...options });
  return tb;
}

describe('QoS 0 flow control', () => {
  it('a QoS 0 subscriber whose output went over the bound and that reads gets every message of a burst 450x maxSocketBuffer, in order', async () => {
    // The wait is long here so that a loaded machine cannot make the reader look behind; the
    // wait's end is checked below and in test/core/output-backpressure.test.ts.
    const { broker, port } = await start({ qos0DrainWaitMs: 60_000 });
    const sub = await subscriber(port, 'reader');
    await burstPastTheBound(broker, port, sub);
    await sub.until(() => numbers(sub).length >= COUNT, 60_000, 'every message');
    assert.deepEqual(
      numbers(sub),
      Array.from({ length: COUNT }, (_, i) => i),
    );
    assert.equal(broker.core.metrics.dropped['socket-congested'], 0);
  });

  it('with qos0DrainWaitMs 0 the same burst is dropped in part for that reader, and counted', async () => {
    const { broker, port } = await start({ qos0DrainWaitMs: 0 });
    const sub = await subscriber(port, 'reader');
    await burstPastTheBound(broker, port, sub);
    const dropped = (): number => broker.core.metrics.dropped['socket-congested'];
    await sub.until(() => numbers(sub).length + dropped() >= COUNT, 60_000, 'every message');
    assert.ok(dropped() > 0, 'messages were dropped while its output was over the bound');
    assert.equal(numbers(sub).length + dropped(), COUNT, 'each one received or counted');
  });

  it('a subscriber that stops reading holds the publisher at most qos0DrainWaitMs: then it loses its QoS 0 messages and a reading one gets all', async () => {
    const { broker, port } = await start({ qos0DrainWaitMs: 200 });
    const stalled = await subscriber(port, 'stalled');
    stalled.socket.pause(); // never reads again
    const reader = await subscriber(port, 'reader');
    await publishBurst(port, { withPing: true });
    await reader.until(() => numbers(reader).length >= COUNT, 60_000, 'every message');
    assert.deepEqual(
      numbers(reader),
      Array.from({ length: COUNT }, (_, i) => i),
    );
    const dropped = broker.core.metrics.dropped['socket-congested'];
    assert.ok(dropped > 0, 'the stalled subscriber lost messages (it fell behind)');
    const held = (await broker.admin.client('stalled'))!.outputBufferedBytes;
    assert.ok(
      held <= 2 * BOUND + PAYLOAD_BYTES + 64,
      `it holds ${held} bytes: at most twice the bound`,
    );
    assert.ok(await broker.admin.client('stalled'), 'a slow reader is not disconnected for QoS 0');
  });
});
