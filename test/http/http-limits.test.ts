/**
 * What the HTTP listener bounds, over real sockets: open sockets in all and per source
 * address (closed at once, counted and logged as refusals), an idle connection and slow
 * headers (408 at `headersTimeout`), oversized headers (431), idle keep-alive connections
 * (closed at `keepAliveTimeout`); and the same refusals counted by a broker's listener.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import type { HttpRefusalKind } from '../../src/http/connection-caps.js';
import { httpAddressKey } from '../../src/http/connection-caps.js';
import { startHttpListener } from '../../src/http/http-listener.js';
import type { HttpRoute } from '../../src/http/route.js';
import { createBroker } from '../../src/index.js';
import type { Listener } from '../../src/transport/listener.js';
import { waitFor } from '../helpers/broker.js';
import { rawHttp, recordingLogger } from '../helpers/http.js';

const okRoute: HttpRoute = {
  prefix: '/ok',
  handle(_req, res) {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  },
};

/** A refusal log that keeps what it is told. */
function recordingRefusals(): { kinds: HttpRefusalKind[]; note(kind: HttpRefusalKind): void } {
  const kinds: HttpRefusalKind[] = [];
  return { kinds, note: (kind) => kinds.push(kind) };
}

/** Opens a socket from `localAddress` and resolves once it is connected. */
async function openSocket(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

/** Resolves when `socket` closes. */
function closed(socket: Socket): Promise<unknown> {
  return socket.destroyed ? Promise.resolve() : once(socket, 'close');
}

let listener: Listener | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await listener?.close();
  listener = undefined;
});

describe('HTTP listener limits', () => {
  it('closes a socket over maxConnectionsPerAddress at once; other addresses are served', async () => {
    const refusals = recordingRefusals();
    listener = await startHttpListener(
      { port: 0, maxConnectionsPerAddress: 2, refusals },
      [okRoute],
      recordingLogger(),
    );
    const { port } = listener.address;
    sockets.push(await openSocket(port, '127.0.0.2'), await openSocket(port, '127.0.0.2'));
    const third = await openSocket(port, '127.0.0.2');
    sockets.push(third);
    await closed(third);
    assert.deepEqual(refusals.kinds, ['http-address-connections']);
    assert.equal((await fetch(`${listener.address.url}/ok`)).status, 200);
    // A slot frees when one of the address's sockets closes.
    sockets[0]!.destroy();
    await waitFor(async () => {
      const again = await openSocket(port, '127.0.0.2');
      sockets.push(again);
      await new Promise((resolve) => setTimeout(resolve, 50));
      return !again.destroyed;
    });
  });

  it('closes a socket over the listener maxConnections at once, whatever its address', async () => {
    const refusals = recordingRefusals();
    listener = await startHttpListener(
      { port: 0, maxConnections: 2, maxConnectionsPerAddress: 0, refusals },
      [okRoute],
      recordingLogger(),
    );
    const { port } = listener.address;
    sockets.push(await openSocket(port, '127.0.0.2'), await openSocket(port, '127.0.0.3'));
    const third = await openSocket(port, '127.0.0.4');
    sockets.push(third);
    await closed(third);
    assert.deepEqual(refusals.kinds, ['http-connections']);
  });

  it('answers 408 to a connection that sends nothing within headersTimeout, and counts it', async () => {
    const refusals = recordingRefusals();
    listener = await startHttpListener(
      { port: 0, headersTimeoutMs: 200, requestTimeoutMs: 5000, refusals },
      [okRoute],
      recordingLogger(),
    );
    const answer = await rawHttp(listener.address.port, '');
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout/);
    assert.match(answer, /headersTimeout/);
    assert.deepEqual(refusals.kinds, ['http-timeout']);
  });

  it('answers 408 to headers sent a byte at a time past headersTimeout', async () => {
    const refusals = recordingRefusals();
    listener = await startHttpListener(
      { port: 0, headersTimeoutMs: 300, requestTimeoutMs: 5000, refusals },
      [okRoute],
      recordingLogger(),
    );
    const socket = await openSocket(listener.address.port);
    sockets.push(socket);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    const request =
      'GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    for (const byte of request) {
      if (socket.destroyed) break;
      socket.write(byte);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await closed(socket);
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout/);
    assert.deepEqual(refusals.kinds, ['http-timeout']);
  });

  it('answers 431 to headers over maxHeaderSize, and counts it', async () => {
    const refusals = recordingRefusals();
    listener = await startHttpListener(
      { port: 0, maxHeaderBytes: 1024, refusals },
      [okRoute],
      recordingLogger(),
    );
    const big = `GET /ok HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`;
    const answer = await rawHttp(listener.address.port, big);
    assert.match(answer, /^HTTP\/1\.1 431 /);
    assert.match(answer, /maxHeaderSize/);
    assert.deepEqual(refusals.kinds, ['http-header-size']);
    assert.equal((await fetch(`${listener.address.url}/ok`)).status, 200);
  });

  it('closes a kept-alive connection idle for keepAliveTimeout', async () => {
    listener = await startHttpListener(
      { port: 0, keepAliveTimeoutMs: 200 },
      [okRoute],
      recordingLogger(),
    );
    const socket = await openSocket(listener.address.port);
    sockets.push(socket);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.write('GET /ok HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed(socket);
    assert.match(answer, /^HTTP\/1\.1 200 OK/);
    assert.match(answer, /Keep-Alive: timeout=0/i);
  });
});

describe('HTTP listener limits in a broker', () => {
  it('counts refused HTTP connections in refused[...] and /metrics, and logs them', async () => {
    const logger = recordingLogger();
    const broker = createBroker({ logger });
    try {
      const address = await broker.listen({ type: 'http', port: 0, maxConnectionsPerAddress: 1 });
      const first = await openSocket(address.port, '127.0.0.2');
      sockets.push(first);
      const second = await openSocket(address.port, '127.0.0.2');
      sockets.push(second);
      await closed(second);
      assert.equal(broker.core.metrics.refused['http-address-connections'], 1);
      const text = await broker.metricsText();
      assert.match(text, /pipit_refusals_total\{kind="http-address-connections"\} 1/);
      const line = logger.lines.find((l) => l.fields.limit === 'http-address-connections');
      assert.equal(line?.level, 'warn');
      assert.equal(line?.fields.remoteAddress, '127.0.0.2');
      assert.match(line?.message ?? '', /HTTP connection refused: maxConnectionsPerAddress/);
    } finally {
      await broker.close();
    }
  });

  it('keys IPv4, IPv4-mapped and IPv6 addresses as per-address limits do', () => {
    assert.equal(httpAddressKey('10.0.0.1'), '10.0.0.1');
    assert.equal(httpAddressKey('::ffff:10.0.0.1'), '10.0.0.1');
    assert.equal(httpAddressKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(httpAddressKey('2001:db8:1:2::9'), '2001:db8:1:2::/64');
  });
});
