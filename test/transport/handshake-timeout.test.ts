/**
 * The handshake deadline of TLS and WebSocket listeners: with connectTimeoutMs at 600 ms, an
 * idle socket, a partial ClientHello, a ClientHello dripped one byte at a time (which must
 * not extend the deadline), an idle socket on a ws listener and upgrade headers sent slowly
 * are all closed by the broker and counted in refused['handshake-timeout']; a client that
 * completes its handshake in time is served, and an upgraded WebSocket outlives the deadline.
 */
import assert from 'node:assert/strict';
import { type AddressInfo, createServer, connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { type Broker, createBroker } from '../../src/index.js';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { connectBytes } from '../helpers/raw-client.js';

const TIMEOUT_MS = 600;
/** How long a test waits for the broker to close a socket before calling it a failure. */
const CLOSE_BOUND_MS = 8000;

let certs: TestCerts;
/** The first bytes a real TLS client sends (a complete ClientHello record). */
let clientHello: Buffer;

before(async () => {
  certs = makeTestCerts();
  clientHello = await captureClientHello();
});
after(() => certs.cleanup());

/** Records the first flight of a Node TLS client against a plain TCP server. */
function captureClientHello(): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = createServer((socket) => {
      socket.once('data', (data: Buffer) => {
        resolve(data);
        socket.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      tlsConnect({ port, host: '127.0.0.1' }).on('error', () => {});
    });
  });
}

/** Resolves once `condition` holds; rejects after `boundMs`. */
async function waitFor(condition: () => boolean, boundMs: number, what: string): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Opens a raw TCP socket to `port`; resolves once connected. */
function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host: '127.0.0.1' }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with what the broker sent before it closed `socket`; rejects past the bound. */
function closedByBroker(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    socket.on('data', (d: Buffer) => {
      received += d.toString('latin1');
    });
    socket.on('error', () => {});
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the broker did not close the socket within ${CLOSE_BOUND_MS} ms`));
    }, CLOSE_BOUND_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

/** Writes `bytes` one byte every `everyMs` until the socket closes. */
function drip(socket: Socket, bytes: Buffer, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= bytes.length) {
      clearInterval(timer);
      return;
    }
    socket.write(bytes.subarray(i, ++i));
  }, everyMs);
}

describe('handshake deadline of TLS listeners (mqtts)', () => {
  let broker: Broker;
  let port: number;
  before(async () => {
    broker = createBroker({ connectTimeoutMs: TIMEOUT_MS });
    ({ port } = await broker.listen({
      type: 'mqtts',
      port: 0,
      tls: { cert: certs.server.cert, key: certs.server.key },
    }));
  });
  after(() => broker.close());

  test('an idle socket, a partial ClientHello and a dripped ClientHello are closed and counted', async () => {
    const before = broker.core.metrics.refused['handshake-timeout'];
    const idle = await open(port);
    const partial = await open(port);
    partial.write(clientHello.subarray(0, 20));
    const dripped = await open(port);
    // A byte every 100 ms: the whole hello would take far longer than the timeout.
    drip(dripped, clientHello, 100);
    await Promise.all([idle, partial, dripped].map(closedByBroker));
    assert.equal(broker.core.metrics.refused['handshake-timeout'] - before, 3);
  });

  test('a client that completes its handshake in time is served', async () => {
    const socket = tlsConnect({ port, host: '127.0.0.1', ca: certs.ca.certPem });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    socket.write(connectBytes(4, 'in-time'));
    const connack = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
    assert.deepEqual([...connack], [0x20, 0x02, 0x00, 0x00]);
    socket.destroy();
  });
});

describe('handshake deadline of WebSocket listeners', () => {
  let broker: Broker;
  let wsPort: number;
  let wssPort: number;
  before(async () => {
    broker = createBroker({ connectTimeoutMs: TIMEOUT_MS });
    ({ port: wsPort } = await broker.listen({ type: 'ws', port: 0 }));
    ({ port: wssPort } = await broker.listen({
      type: 'wss',
      port: 0,
      tls: { cert: certs.server.cert, key: certs.server.key },
    }));
  });
  after(() => broker.close());

  test('ws: an idle socket and upgrade headers sent one byte at a time get 408 and are closed', async () => {
    const before = broker.core.metrics.refused['handshake-timeout'];
    const idle = await open(wsPort);
    const slow = await open(wsPort);
    const upgrade =
      'GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
      'Sec-WebSocket-Protocol: mqtt\r\n\r\n';
    drip(slow, Buffer.from(upgrade), 50);
    const answers = await Promise.all([idle, slow].map(closedByBroker));
    for (const answer of answers) assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.equal(broker.core.metrics.refused['handshake-timeout'] - before, 2);
  });

  test('wss: an idle socket is closed in the TLS handshake', async () => {
    const before = broker.core.metrics.refused['handshake-timeout'];
    const idle = await open(wssPort);
    assert.equal(await closedByBroker(idle), '');
    assert.equal(broker.core.metrics.refused['handshake-timeout'] - before, 1);
  });

  test('an upgraded WebSocket outlives the handshake deadline', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${wsPort}/mqtt`, ['mqtt']);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const packets: Buffer[] = [];
    ws.on('message', (data: Buffer) => packets.push(data));
    ws.send(connectBytes(4, 'ws-long'));
    // Three handshake timeouts later the connection is still served: PINGREQ, PINGRESP.
    await new Promise((r) => setTimeout(r, 3 * TIMEOUT_MS));
    assert.equal(ws.readyState, WebSocket.OPEN);
    ws.send(Buffer.from([0xc0, 0x00]));
    await waitFor(() => packets.length >= 2, 5000, 'the PINGRESP');
    assert.deepEqual(
      packets.map((p) => p[0]),
      [0x20, 0xd0],
      'CONNACK, then PINGRESP',
    );
    ws.close();
  });
});
