/**
 * Limits over real sockets: bounded session queues with a drop counter, a subscriber that
 * stops reading (its QoS 0 messages are dropped and counted, others keep receiving, the
 * broker's buffer for it stays bounded), and oversize/invalid packets from a raw v5 socket.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import type { Packet, ProtocolVersion } from '../../src/protocol/index.js';
import { Decoder, encode } from '../../src/protocol/index.js';
import type { TestBroker } from '../helpers/broker.js';
import { connectClient, endClient, nextMessages, startBroker, waitFor } from '../helpers/broker.js';

/** A raw TCP MQTT peer: sends exact packets, decodes what it reads while reading. */
class RawClient {
  readonly received: Packet[] = [];
  closed = false;
  private readonly decoder: Decoder;

  private constructor(
    readonly socket: Socket,
    readonly version: ProtocolVersion,
  ) {
    this.decoder = new Decoder({ protocolVersion: version });
    socket.on('data', (chunk) => this.decoder.push(chunk, (p) => this.received.push(p)));
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {});
  }

  static open(port: number, version: ProtocolVersion): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ port, host: '127.0.0.1' }, () =>
        resolve(new RawClient(socket, version)),
      );
      socket.once('error', reject);
    });
  }

  send(packet: Packet): void {
    this.socket.write(encode(packet, this.version));
  }

  async connect(clientId: string): Promise<void> {
    this.send({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: this.version,
      clean: true,
      keepAlive: 0,
      clientId,
    });
    await waitFor(() => this.received.some((p) => p.type === 'connack'), 5000, 'CONNACK');
  }

  async subscribe(filter: string): Promise<void> {
    this.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter, qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    await waitFor(() => this.received.some((p) => p.type === 'suback'), 5000, 'SUBACK');
  }
}

describe('integration: robustness and limits', () => {
  let tb: TestBroker | undefined;
  const clients: MqttClient[] = [];
  const raws: RawClient[] = [];
  afterEach(async () => {
    for (const r of raws.splice(0)) r.socket.destroy();
    await Promise.all(clients.splice(0).map((c) => endClient(c, true)));
    await tb?.close();
    tb = undefined;
  });

  it('a session queue is bounded: extra messages are dropped and counted as queue-full', async () => {
    tb = await startBroker({ maxQueuedMessages: 5 });
    const options = {
      protocolVersion: 5 as const,
      clientId: 'offline',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    };
    const sub = await connectClient(tb.url, options);
    await sub.subscribeAsync('q/t', { qos: 1 });
    await endClient(sub);
    const pub = await connectClient(tb.url, { protocolVersion: 5 });
    clients.push(pub);
    for (let i = 0; i < 12; i++) await pub.publishAsync('q/t', String(i), { qos: 1 });
    assert.equal(tb.broker.core.metrics.dropped['queue-full'], 7);
    assert.equal((await tb.broker.admin.session('offline'))?.queuedMessages, 5);
    // Listen before CONNACK: the queued messages follow it at once.
    const back = mqtt.connect(tb.url, { ...options, reconnectPeriod: 0 });
    clients.push(back);
    const got = await nextMessages(back, 5);
    assert.deepEqual(
      got.map((m) => m.payload.toString()),
      ['0', '1', '2', '3', '4'],
      'the oldest messages were kept',
    );
  });

  it('a subscriber that stops reading does not stall others; its QoS 0 drops are counted and its buffer bounded', async () => {
    const maxSocketBufferBytes = 256 * 1024;
    tb = await startBroker({ maxSocketBufferBytes });
    const slowDrops: string[] = [];
    tb.broker.on('dropped', (clientId, _m, reason) => {
      if (clientId === 'slow') slowDrops.push(reason);
    });
    const slow = await RawClient.open(tb.port, 4);
    raws.push(slow);
    await slow.connect('slow');
    await slow.subscribe('flood/#');
    slow.socket.pause(); // never reads again
    const fast = await connectClient(tb.url, { protocolVersion: 5 });
    clients.push(fast);
    await fast.subscribeAsync('flood/#');
    const pub = await connectClient(tb.url, { protocolVersion: 5 });
    clients.push(pub);
    const count = 200; // 12.8 MB: well past what the kernel buffers on loopback
    const payload = Buffer.alloc(64 * 1024, 7);
    const got = nextMessages(fast, count, 20_000);
    let maxBuffered = 0;
    const admin = tb.broker.admin;
    assert.ok(await admin.client('slow'), 'the slow connection is known');
    for (let i = 0; i < count; i++) {
      await pub.publishAsync('flood/t', payload, { qos: 1 }); // routed before the PUBACK
      maxBuffered = Math.max(maxBuffered, (await admin.client('slow'))!.outputBufferedBytes);
    }
    assert.equal((await got).length, count, 'the reading subscriber got every message');
    assert.ok(slowDrops.length > 0, 'messages to the stalled subscriber were dropped');
    assert.ok(slowDrops.every((r) => r === 'socket-congested'));
    assert.equal(tb.broker.core.metrics.dropped['socket-congested'], slowDrops.length);
    // A QoS 0 message may go over the bound while the subscriber might be reading (it holds
    // the publisher instead, qos0DrainWaitMs): never past twice the bound plus one message.
    assert.ok(
      maxBuffered <= 2 * maxSocketBufferBytes + payload.length + 16,
      `buffered ${maxBuffered} stays within twice the limit plus one message`,
    );
    assert.ok(await admin.client('slow'), 'a slow reader is not disconnected for QoS 0');
  });

  it('§3.2.2.3.6 a raw v5 PUBLISH above our Maximum Packet Size: DISCONNECT 0x95 over TCP', async () => {
    tb = await startBroker({ maximumPacketSize: 1024 });
    const raw = await RawClient.open(tb.port, 5);
    raws.push(raw);
    await raw.connect('big');
    raw.send({
      type: 'publish',
      topic: 't',
      payload: Buffer.alloc(2048),
      qos: 0,
      retain: false,
      dup: false,
    });
    await waitFor(() => raw.closed, 5000, 'close');
    const disconnect = raw.received.find((p) => p.type === 'disconnect');
    assert.equal(disconnect?.type === 'disconnect' && disconnect.reasonCode, 0x95);
  });

  it('[MQTT-3.3.2-8] a raw v5 PUBLISH with Topic Alias 0: DISCONNECT 0x94 over TCP, others unaffected', async () => {
    tb = await startBroker();
    const other = await connectClient(tb.url, { protocolVersion: 5 });
    clients.push(other);
    await other.subscribeAsync('a/t');
    const raw = await RawClient.open(tb.port, 5);
    raws.push(raw);
    await raw.connect('alias0');
    raw.send({
      type: 'publish',
      topic: 'a/t',
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 0 },
    });
    await waitFor(() => raw.closed, 5000, 'close');
    const disconnect = raw.received.find((p) => p.type === 'disconnect');
    assert.equal(disconnect?.type === 'disconnect' && disconnect.reasonCode, 0x94);
    const got = nextMessages(other, 1);
    await other.publishAsync('a/t', 'still fine');
    assert.equal((await got)[0]!.payload.toString(), 'still fine');
  });

  it('many connect/disconnect cycles leave no connections or sessions behind', async () => {
    tb = await startBroker();
    for (let i = 0; i < 30; i++) {
      const c = await connectClient(tb.url, {
        protocolVersion: i % 2 ? 5 : 4,
        clientId: `cyc-${i}`,
      });
      await c.subscribeAsync(`cyc/${i}`);
      await endClient(c, i % 3 === 0);
    }
    await waitFor(
      async () => (await tb!.broker.admin.counters()).connectionsOpen === 0,
      5000,
      'all connections closed',
    );
    assert.equal((await tb.broker.admin.counters()).sessions, 0);
    assert.equal((await tb.broker.admin.counters()).subscriptions, 0);
    assert.equal(tb.broker.core.metrics.connectionsCurrent, 0);
  });
});
