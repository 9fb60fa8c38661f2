/**
 * Output backpressure over real sockets: a client that sends but never reads is held and,
 * after outputStallTimeoutMs, closed (MQTT 5: DISCONNECT 0x97 on the wire, behind every
 * answer it did not read; MQTT 3.1.1: a close); a QoS 1 subscriber that stops reading loses
 * nothing; and once stalled subscribers close, nothing in the broker keeps their messages.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { BrokerCore } from '../../src/core/index.js';
import type { PublishPacket } from '../../src/protocol/index.js';
import type { TestBroker } from '../helpers/broker.js';
import { startBroker, waitFor } from '../helpers/broker.js';
import { flood, pingreqChunk, socketTarget } from '../helpers/flood.js';
import { RawClient } from '../helpers/raw-client.js';

// A forced GC shows whether anything still references what a closed connection held.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let tb: TestBroker | undefined;
const raws: RawClient[] = [];
afterEach(async () => {
  for (const raw of raws.splice(0)) raw.destroy();
  await tb?.close();
  tb = undefined;
});

/** A subscriber to `filter` at `qos` that stops reading once subscribed. */
async function stalledSubscriber(port: number, clientId: string, filter: string, qos: 0 | 1) {
  const sub = await RawClient.connected(port, 4, clientId);
  raws.push(sub);
  sub.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [{ filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
  });
  await sub.next('suback');
  sub.socket.pause();
  return sub;
}

/**
 * WeakRefs to the payloads the sessions `ids` hold (queued and in flight). A plain function:
 * an async one could keep a session alive in a suspended frame and spoil the check.
 */
function heldPayloads(core: BrokerCore, ids: string[]): WeakRef<Buffer>[] {
  const held: WeakRef<Buffer>[] = [];
  for (const id of ids) {
    const session = core.sessions.get(id)!;
    for (const d of session.queuedDeliveries()) held.push(new WeakRef(d.message.payload));
    for (const e of session.inflight.values()) held.push(new WeakRef(e.delivery.message.payload));
  }
  return held;
}

describe('output backpressure over TCP', () => {
  it('[MQTT-3.14.2-1] MQTT 5: a client that never reads gets DISCONNECT 0x97 after outputStallTimeoutMs, behind its unread answers', async () => {
    tb = await startBroker({ maxSocketBufferBytes: 64 * 1024, outputStallTimeoutMs: 500 });
    const core = tb.broker.core;
    const raw = await RawClient.connected(tb.port, 5, 'pinger');
    raws.push(raw);
    raw.socket.pause(); // never reads
    // Loopback buffers megabytes in the kernel before the broker's own buffer fills; the
    // broker shares this process, so a stall is only a stall after two quiet seconds.
    // On a loaded machine the broker may just be slow for two seconds: flood again until it
    // has held the reading (a real hold stalls every later flood at once).
    for (let round = 0; round < 5 && core.metrics.outputHolds === 0; round++) {
      const result = await flood(socketTarget(raw.socket), pingreqChunk(), 512 * 1024 * 1024, 2000);
      assert.ok(result.stalled, `the broker stopped reading after ${result.sent} bytes`);
    }
    assert.ok(core.metrics.outputHolds >= 1, 'its reading was held');
    await waitFor(() => core.metrics.refused['output-stalled'] === 1, 10_000, 'the stall close');
    raw.socket.resume(); // now read what the broker sent
    await raw.waitClose(10_000);
    const last = raw.received.at(-1);
    assert.ok(last?.type === 'disconnect', 'the last packet is a DISCONNECT');
    assert.equal(last.reasonCode, 0x97);
    const answers = raw.received.slice(0, -1);
    assert.ok(answers.length > 0);
    assert.ok(
      answers.every((p) => p.type === 'pingresp'),
      '[MQTT-3.12.4-1] PINGRESPs before it',
    );
    assert.equal((await tb.broker.admin.counters()).connectionsOpen, 0);
  });

  it('MQTT 3.1.1: a subscriber that never reads is closed after outputStallTimeoutMs, without a DISCONNECT', async () => {
    tb = await startBroker({ maxSocketBufferBytes: 64 * 1024, outputStallTimeoutMs: 500 });
    const core = tb.broker.core;
    const sub = await stalledSubscriber(tb.port, 'stalled', 'big/#', 0);
    const pub = await RawClient.connected(tb.port, 4, 'publisher');
    raws.push(pub);
    const payload = Buffer.alloc(256 * 1024, 1);
    for (let i = 0; i < 64 && core.metrics.outputHolds === 0; i++) {
      pub.send({ type: 'publish', topic: 'big/t', payload, qos: 0, retain: false, dup: false });
      pub.send({ type: 'pingreq' });
      await pub.next('pingresp');
    }
    assert.ok(core.metrics.outputHolds >= 1, 'the stalled subscriber was held');
    await waitFor(() => core.metrics.refused['output-stalled'] === 1, 10_000, 'the stall close');
    sub.socket.resume();
    await sub.waitClose(10_000);
    assert.ok(sub.received.length > 0, 'what was sent before the close arrives');
    assert.ok(sub.received.every((p) => p.type === 'publish'));
    assert.equal(
      (await tb.broker.admin.counters()).connectionsOpen,
      1,
      'the publisher is still connected',
    );
  });

  it('a QoS 1 subscriber that stops reading loses nothing: its messages wait and arrive in order once it reads', async () => {
    const maxSocketBufferBytes = 256 * 1024;
    tb = await startBroker({ maxSocketBufferBytes, outputStallTimeoutMs: 60_000 });
    const core = tb.broker.core;
    const sub = await stalledSubscriber(tb.port, 'paused-sub', 'big/#', 1);
    const pub = await RawClient.connected(tb.port, 4, 'publisher');
    raws.push(pub);
    const count = 100;
    const payload = Buffer.alloc(64 * 1024, 7);
    const admin = tb.broker.admin;
    let maxBuffered = 0;
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
      await pub.next('puback');
      maxBuffered = Math.max(maxBuffered, (await admin.client('paused-sub'))!.outputBufferedBytes);
    }
    const session = await admin.session('paused-sub');
    assert.ok(session!.queuedMessages > 0, 'deliveries wait in the session');
    assert.ok(
      maxBuffered <= maxSocketBufferBytes + payload.length + 64,
      `buffered ${maxBuffered}: the bound plus one message`,
    );
    assert.equal(core.metrics.dropped['socket-congested'], 0);
    assert.equal(core.metrics.dropped['queue-full'], 0);
    // Read again, acknowledging each PUBLISH as it comes.
    let acked = 0;
    const ack = (): void => {
      const got = sub.received.filter((p): p is PublishPacket => p.type === 'publish');
      for (; acked < got.length; acked++) {
        sub.send({ type: 'puback', packetId: got[acked]!.packetId! });
      }
    };
    sub.socket.on('data', ack);
    sub.socket.resume();
    await sub.until(
      () => sub.received.filter((p) => p.type === 'publish').length >= count,
      20_000,
      `${count} messages`,
    );
    const order = sub.received
      .filter((p): p is PublishPacket => p.type === 'publish')
      .map((p) => p.payload.readUInt32BE(0));
    assert.deepEqual(
      order,
      Array.from({ length: count }, (_, i) => i),
    );
  });

  it('stalled QoS 1 subscribers: once they close, nothing in the broker keeps their messages', async () => {
    tb = await startBroker({ maxSocketBufferBytes: 256 * 1024 });
    const core = tb.broker.core;
    const ids = ['stalled-0', 'stalled-1', 'stalled-2', 'stalled-3', 'stalled-4'];
    const stalled: RawClient[] = [];
    for (const id of ids) stalled.push(await stalledSubscriber(tb.port, id, 'big/#', 1));
    const pub = await RawClient.connected(tb.port, 4, 'publisher');
    raws.push(pub);
    for (let i = 0; i < 20; i++) {
      pub.send({
        type: 'publish',
        topic: 'big/t',
        payload: Buffer.alloc(256 * 1024, i),
        qos: 1,
        retain: false,
        dup: false,
        packetId: i + 1,
      });
      await pub.next('puback');
    }
    const held = heldPayloads(core, ids);
    assert.ok(held.length >= 5 * 19, `${held.length} messages held for the stalled subscribers`);
    for (const sub of stalled) sub.destroy();
    const admin = tb.broker.admin;
    await waitFor(
      async () => (await admin.counters()).connectionsOpen === 1,
      10_000,
      'the stalled connections closed',
    );
    assert.equal((await admin.counters()).sessions, 1, 'their sessions ended');
    await new Promise((r) => setImmediate(r));
    gc();
    await new Promise((r) => setTimeout(r, 10));
    gc();
    // message.ts remembers the last message it detached from a decoder buffer (so one fan-out
    // copies it once): that one, the last published, may stay until the next is detached.
    const alive = held.map((ref) => ref.deref()).filter((p) => p !== undefined);
    assert.ok(
      alive.every((p) => p[0] === 19),
      `payloads still referenced: ${alive.map((p) => p[0]).join(', ')}`,
    );
  });
});
