/**
 * TCP and TLS sockets read into one buffer shared by every socket (src/transport/shared-read-buffer.ts):
 * the Node internals it needs are there, reads, the peer's close and pause work on a plain
 * socket, and many publishers whose packets straddle reads of the shared buffer, interleaved,
 * reach a subscriber byte for byte and in order.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createBroker } from '../../src/index.js';
import { encode, type Packet } from '../../src/protocol/index.js';
import {
  readIntoSharedBuffer,
  sharedReadBufferAvailable,
} from '../../src/transport/shared-read-buffer.js';
import {
  pauseSharedReads,
  readUntilPeerCloses,
  resumeSharedReads,
} from '../../src/transport/shared-read-pause.js';
import {
  connectClient,
  endClient,
  startBroker,
  type TestBroker,
  waitFor,
} from '../helpers/broker.js';
import { makeTestCerts } from '../helpers/certs.js';
import { RawClient } from '../helpers/raw-client.js';

/** A server whose accepted sockets read into the shared buffer; returns what each read. */
async function sharedReadServer(): Promise<{
  port: number;
  accepted: Promise<{ socket: Socket; engaged: boolean; bytes: Buffer[] }>;
  close: () => Promise<void>;
}> {
  let resolveAccepted!: (v: { socket: Socket; engaged: boolean; bytes: Buffer[] }) => void;
  const accepted = new Promise<{ socket: Socket; engaged: boolean; bytes: Buffer[] }>(
    (r) => (resolveAccepted = r),
  );
  const server = createServer((socket) => {
    const bytes: Buffer[] = [];
    const engaged = readIntoSharedBuffer(socket, (n, buffer) => {
      bytes.push(Buffer.from(buffer.subarray(0, n)));
    });
    resolveAccepted({ socket, engaged, bytes });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    accepted,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('the shared read buffer on a plain socket', () => {
  it('is available on this Node (else TCP sockets are read the slower default way)', () => {
    assert.equal(sharedReadBufferAvailable(), true);
  });

  it('reads what the peer sends and sees its close (end, then close)', async () => {
    const server = await sharedReadServer();
    const client = connect(server.port, '127.0.0.1');
    const { socket, engaged, bytes } = await server.accepted;
    assert.equal(engaged, true);
    assert.equal(socket.listenerCount('data'), 0, 'no data events in this mode');
    const ended = once(socket, 'end');
    const closed = once(socket, 'close');
    client.end(Buffer.from('hello, shared buffer'));
    await ended;
    await closed;
    assert.equal(Buffer.concat(bytes).toString(), 'hello, shared buffer');
    await server.close();
  });

  it('a paused socket still sees its peer close, as a paused stream does (below 16 KiB held)', async () => {
    const server = await sharedReadServer();
    const client = connect(server.port, '127.0.0.1');
    const { socket, bytes } = await server.accepted;
    client.write('before');
    await waitFor(() => bytes.length > 0, 5000, 'the first read');
    assert.equal(pauseSharedReads(socket), true);
    const closed = once(socket, 'close');
    client.end('while paused');
    await closed;
    assert.equal(Buffer.concat(bytes).toString(), 'before', 'nothing handed over while paused');
    await server.close();
  });

  it('what a paused socket read is handed over on resume, in order, before later reads', async () => {
    const server = await sharedReadServer();
    const client = connect(server.port, '127.0.0.1');
    const { socket, bytes } = await server.accepted;
    assert.equal(pauseSharedReads(socket), true);
    // More than the 16 KiB a paused socket holds: it must stop reading, then take it all.
    const sent = Buffer.alloc(256 * 1024);
    for (let i = 0; i < sent.length; i++) sent[i] = i % 253;
    client.write(sent);
    await waitFor(() => socket.isPaused(), 5000, 'the socket to stop reading');
    assert.equal(bytes.length, 0);
    assert.equal(resumeSharedReads(socket), true);
    await waitFor(
      () => bytes.reduce((n, b) => n + b.length, 0) === sent.length,
      5000,
      'every byte after resume',
    );
    assert.ok(Buffer.concat(bytes).equals(sent), 'the same bytes, in order');
    client.destroy();
    await server.close();
  });

  it('a paused socket reads nothing; once ended by us it reads again to see the peer close', async () => {
    const server = await sharedReadServer();
    const client = connect(server.port, '127.0.0.1');
    const { socket, bytes } = await server.accepted;
    client.write('first');
    await waitFor(() => bytes.length > 0, 5000, 'the first read');
    socket.pause();
    client.write('while paused');
    // The client's bytes are in our kernel buffer, not read: ending our side and letting the
    // peer end its own must still close the socket (readUntilPeerCloses reads again).
    const closed = once(socket, 'close');
    readUntilPeerCloses(socket);
    socket.end();
    client.end();
    await closed;
    assert.equal(Buffer.concat(bytes).toString('latin1').startsWith('first'), true);
    await server.close();
  });
});

describe('publishers interleaved through the shared read buffer (broker over TCP)', () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker();
  });
  after(async () => {
    await b.close();
  });

  it('every payload of 12 publishers (1 B to 150 KiB, split across reads) arrives intact and in order', async () => {
    const sub = await RawClient.connected(b.port, 4, 'shared-read-sub');
    sub.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        // QoS 0 out: the raw subscriber sends no PUBACKs (its inflight window would stop it).
        { filter: 'shared/#', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    await sub.next('suback');
    const sizes = [1, 63, 700, 4096, 20_000, 70_000, 150 * 1024];
    const perPublisher = 14;
    const publishers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => RawClient.connected(b.port, 4, `shared-read-pub-${i}`)),
    );
    const payloadOf = (p: number, k: number): Buffer => {
      const size = sizes[(p + k) % sizes.length]!;
      const payload = Buffer.alloc(size);
      for (let i = 0; i < size; i++) payload[i] = (p * 31 + k * 7 + i) % 251;
      return payload;
    };
    // Each publisher's packets go out as one byte stream in uneven writes, all publishers
    // writing in turn, so reads of different sockets alternate inside the shared buffer.
    const streams = publishers.map((_, p) =>
      Buffer.concat(
        Array.from({ length: perPublisher }, (_, k) =>
          encode(
            {
              type: 'publish',
              topic: `shared/${p}`,
              payload: payloadOf(p, k),
              qos: 1,
              retain: false,
              dup: false,
              packetId: k + 1,
            } satisfies Packet,
            4,
          ),
        ),
      ),
    );
    const pieces = [3, 1000, 33_333, 5, 90_000, 17];
    const offsets = streams.map(() => 0);
    for (let round = 0; offsets.some((o, p) => o < streams[p]!.length); round++) {
      for (let p = 0; p < publishers.length; p++) {
        const stream = streams[p]!;
        if (offsets[p]! >= stream.length) continue;
        const size = pieces[(round + p) % pieces.length]!;
        publishers[p]!.socket.write(stream.subarray(offsets[p]!, offsets[p]! + size));
        offsets[p]! += size;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const total = publishers.length * perPublisher;
    await waitFor(
      () => sub.received.filter((p) => p.type === 'publish').length === total,
      30_000,
      `${total} messages at the subscriber`,
    );
    const next = publishers.map(() => 0);
    for (const packet of sub.received) {
      if (packet.type !== 'publish') continue;
      const p = Number(packet.topic.split('/')[1]);
      const k = next[p]!++;
      assert.ok(packet.payload.equals(payloadOf(p, k)), `publisher ${p}, message ${k} intact`);
    }
    assert.deepEqual(
      next,
      publishers.map(() => perPublisher),
    );
    for (const pub of publishers) pub.socket.destroy();
    sub.socket.destroy();
  });
});

describe('the shared read buffer over TLS (mqtts)', () => {
  it('payloads of 1 B to 150 KiB from 3 MQTT.js publishers arrive intact and in order', async () => {
    const certs = makeTestCerts();
    const broker = createBroker();
    try {
      const { url } = await broker.listen({
        type: 'mqtts',
        port: 0,
        tls: { cert: certs.server.cert, key: certs.server.key },
      });
      const tls = { ca: certs.ca.certPem, protocolVersion: 5 as const };
      const sub = await connectClient(url, { ...tls, clientId: 'tls-shared-sub' });
      await sub.subscribeAsync('tls-shared/#', { qos: 1 });
      const got: { topic: string; payload: Buffer }[] = [];
      sub.on('message', (topic, payload) => got.push({ topic, payload }));
      const sizes = [1, 700, 20_000, 70_000, 150 * 1024];
      const payloadOf = (p: number, k: number): Buffer =>
        Buffer.alloc(sizes[(p + k) % sizes.length]!, (p * 17 + k) % 251);
      const publishers = await Promise.all(
        [0, 1, 2].map((p) => connectClient(url, { ...tls, clientId: `tls-shared-pub-${p}` })),
      );
      await Promise.all(
        publishers.map(async (pub, p) => {
          for (let k = 0; k < 10; k++) {
            await pub.publishAsync(`tls-shared/${p}`, payloadOf(p, k), { qos: 1 });
          }
        }),
      );
      await waitFor(() => got.length === 30, 20_000, '30 messages at the subscriber');
      const next = [0, 0, 0];
      for (const { topic, payload } of got) {
        const p = Number(topic.split('/')[1]);
        const k = next[p]!++;
        assert.ok(payload.equals(payloadOf(p, k)), `publisher ${p}, message ${k} intact`);
      }
      await Promise.all([...publishers, sub].map((c) => endClient(c)));
    } finally {
      await broker.close();
      certs.cleanup();
    }
  });
});
