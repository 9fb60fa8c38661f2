/**
 * Hostile remotes for a bridge (issue #14), on the real `pipit broker` in a child process: a
 * fake remote made of raw sockets that accepts the bridge's CONNECT and SUBSCRIBE, then
 * either floods it with QoS 1 PUBLISH packets as fast as TCP takes them, or stops reading
 * what the bridge sends. Each case checks that the broker stays up, that its RSS grows less
 * than a stated bound, that a well-behaved local client is served within a second during and
 * after the attack, and that what could not be kept was dropped and counted.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import type { Packet } from '../../../src/protocol/index.js';
import { Decoder, encode } from '../../../src/protocol/index.js';
import { connectClient, endClient } from '../../helpers/broker.js';
import { flood, socketTarget } from '../../helpers/flood.js';
import { assertRssGrowthBelow, assertServed, freePort, LoadBroker, waitUntil } from './harness.js';

/** What a flooding remote sends at most. */
const FLOOD_BYTES = 48 * 1024 * 1024;
/** The flooded bridge's maxIncomingRate, messages a second. */
const RATE = 2000;
/** What an attack through the bridge may add to the broker's RSS, in MiB. */
const GROWTH_MIB = 95;

/**
 * About 64 KiB of QoS 1 PUBLISH packets on topic `q` with 64-byte payloads, packet ids 1, 2,
 * ... The payload keeps the work of one socket read (Node reads 64 KiB at a time, and the
 * broker handles a read at once) near 900 messages, as from a real device stream; empty
 * payloads would make it 9,000, a cost of the engine per read and not of the bridge.
 */
function publishChunk(): Buffer {
  const parts: Buffer[] = [];
  let size = 0;
  const payload = Buffer.alloc(64, 0x61);
  for (let id = 1; size < 64 * 1024; id++) {
    const p = { type: 'publish', topic: 'q', payload, qos: 1, retain: false, dup: false } as const;
    const bytes = encode({ ...p, packetId: id }, 4);
    parts.push(bytes);
    size += bytes.length;
  }
  return Buffer.concat(parts);
}

/** A remote broker that answers CONNECT and SUBSCRIBE and otherwise does what a test says. */
class FakeRemote {
  readonly sockets: net.Socket[] = [];
  private readonly subscribed: Promise<net.Socket>;
  private onSubscribed: (socket: net.Socket) => void = () => {};

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {
    this.subscribed = new Promise((resolve) => {
      this.onSubscribed = resolve;
    });
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(): Promise<FakeRemote> {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new FakeRemote(server, (server.address() as net.AddressInfo).port);
  }

  /** The connection of the bridge, once it subscribed. */
  bridgeSocket(): Promise<net.Socket> {
    return this.subscribed;
  }

  private accept(socket: net.Socket): void {
    this.sockets.push(socket);
    socket.on('error', () => {});
    const decoder = new Decoder();
    socket.on('data', (chunk) => {
      try {
        decoder.push(chunk, (p) => this.answer(socket, p));
      } catch {
        socket.destroy();
      }
    });
  }

  private answer(socket: net.Socket, p: Packet): void {
    if (p.type === 'connect') {
      socket.write(encode({ type: 'connack', sessionPresent: false, reasonCode: 0 }, 4));
    } else if (p.type === 'subscribe') {
      const reasonCodes = p.subscriptions.map((s) => s.qos);
      socket.write(encode({ type: 'suback', packetId: p.packetId, reasonCodes }, 4));
      this.onSubscribed(socket);
    } else if (p.type === 'pingreq') {
      socket.write(encode({ type: 'pingresp' }, 4));
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * A broker whose bridge `hostile` goes to `remote` (at most `rate` messages a second from it;
 * 0 = no limit), with an HTTP listener for /metrics.
 */
async function brokerFor(remote: FakeRemote, httpPort: number, rate = 0): Promise<LoadBroker> {
  return LoadBroker.start({
    config: [
      'listeners:',
      '  - { type: mqtt, port: 0 }',
      `  - { type: http, port: ${httpPort} }`,
      'limits:',
      '  maxQueuedMessages: 1000',
      'bridges:',
      '  - name: hostile',
      `    addresses: ["127.0.0.1:${remote.port}"]`,
      '    tryPrivate: false',
      `    maxIncomingRate: ${rate}`,
      '    reconnectDelay: 0.05',
      '    maxReconnectDelay: 0.3',
      '    topics:',
      '      - { pattern: "q", direction: in, qos: 1, localPrefix: "in/" }',
      '      - { pattern: "out/#", direction: out, qos: 1 }',
      '',
    ].join('\n'),
  });
}

/** The sum of `pipit_messages_dropped_total` over its reasons, scraped over HTTP. */
async function droppedTotal(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('pipit_messages_dropped_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

describe('hostile load: a bridge to a hostile remote', () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('a remote that floods the bridge with QoS 1 PUBLISH: held at maxIncomingRate, bounded, served, drops counted', async (t) => {
    const remote = await FakeRemote.start();
    cleanup.push(() => remote.close());
    const httpPort = await freePort();
    const broker = await brokerFor(remote, httpPort, RATE);
    cleanup.push(() => broker.stop());
    // A persistent local subscriber gone offline: its queue fills to its bound, then drops.
    const sub = await connectClient(`mqtt://127.0.0.1:${broker.port}`, {
      clientId: 'offline-sub',
      clean: false,
    });
    await sub.subscribeAsync('in/q', { qos: 1 });
    await endClient(sub);
    const socket = await remote.bridgeSocket();
    const result = await flood(socketTarget(socket), publishChunk(), FLOOD_BYTES, 2000);
    assert.ok(result.stalled, `the bridge read all ${result.sent} bytes`);
    // The attack goes on: megabytes wait in the socket for the bridge, which takes RATE a second.
    assert.ok(socket.writableLength > 0 && !socket.destroyed);
    const servedDuring = await assertServed(broker, 'bridge-flood-during');
    assert.ok(socket.writableLength > 0, 'the flood was still pending during the served check');
    const rss = assertRssGrowthBelow(
      broker,
      GROWTH_MIB,
      `after ${result.sent} bytes from the remote`,
    );
    socket.destroy(); // the attack ends; the bridge reconnects
    const servedAfter = await assertServed(broker, 'bridge-flood-after');
    await waitUntil(
      () => broker.alive,
      1000,
      () => 'the broker died',
    );
    const dropped = await droppedTotal(httpPort);
    assert.ok(dropped > 0, 'the offline subscriber queue dropped and counted');
    t.diagnostic(
      `${(result.sent / 1048576).toFixed(0)} MiB flooded (stalled: ${result.stalled}); RSS ${rss.toFixed(0)} MiB ` +
        `(baseline ${broker.baselineMiB.toFixed(0)}, peak ${broker.peakRssMiB().toFixed(0)}); ` +
        `served in ${servedDuring.toFixed(0)} / ${servedAfter.toFixed(0)} ms; ${dropped} dropped`,
    );
  });

  it('a remote that stops reading: the bridge queue is bounded, its drops counted and logged, clients served', async (t) => {
    const remote = await FakeRemote.start();
    cleanup.push(() => remote.close());
    const httpPort = await freePort();
    const broker = await brokerFor(remote, httpPort);
    cleanup.push(() => broker.stop());
    const socket = await remote.bridgeSocket();
    socket.pause(); // reads nothing more
    const pub = await connectClient(`mqtt://127.0.0.1:${broker.port}`, { clientId: 'edge-pub' });
    cleanup.push(() => endClient(pub, true));
    const payload = Buffer.alloc(2048, 0x61);
    const total = 12_000;
    for (let i = 0; i < total; i += 200) {
      const batch = [];
      for (let j = i; j < i + 200; j++)
        batch.push(pub.publishAsync(`out/${j % 10}`, payload, { qos: 1 }));
      await Promise.all(batch);
    }
    const served = await assertServed(broker, 'bridge-stall');
    const rss = assertRssGrowthBelow(
      broker,
      GROWTH_MIB,
      `after ${total} messages for a remote that does not read`,
    );
    await broker.proc.waitForOutput('"msg":"bridge: message for the remote dropped"', 10_000);
    const dropped = await droppedTotal(httpPort);
    assert.ok(dropped > 0 && dropped < total, `${dropped} dropped of ${total}`);
    t.diagnostic(
      `${total} x 2 KiB to a stalled remote: RSS ${rss.toFixed(0)} MiB (baseline ${broker.baselineMiB.toFixed(0)}, ` +
        `peak ${broker.peakRssMiB().toFixed(0)}); served in ${served.toFixed(0)} ms; ${dropped} dropped`,
    );
  });
});
