/**
 * Which browser pages may open an MQTT WebSocket: with a real `ws` client setting the Origin
 * header as a browser would. Foreign origins get HTTP 403 (counted in refused['ws-origin']);
 * same host and port, no Origin at all (not a browser) and listed origins are served.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { type Broker, createBroker } from '../../src/index.js';
import { originAllowed, originPolicy } from '../../src/transport/ws-origin.js';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { connectBytes } from '../helpers/raw-client.js';

/**
 * Opens an MQTT WebSocket with these upgrade `options` and resolves with the CONNACK's
 * first byte, or with `HTTP <status>` when the upgrade is refused.
 */
function tryConnect(url: string, options: WebSocket.ClientOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['mqtt'], { handshakeTimeout: 5000, ...options });
    ws.once('unexpected-response', (_req, res) => {
      resolve(`HTTP ${res.statusCode}`);
      ws.terminate();
    });
    ws.once('error', reject);
    ws.once('open', () => ws.send(connectBytes(4, 'origin-test')));
    ws.once('message', (data: Buffer) => {
      resolve(data[0] === 0x20 && data[3] === 0 ? 'CONNACK 0' : `other 0x${data.toString('hex')}`);
      ws.close();
    });
  });
}

describe('WebSocket Origin check', () => {
  let broker: Broker;
  let port: number;
  let listedPort: number;
  before(async () => {
    broker = createBroker();
    ({ port } = await broker.listen({ type: 'ws', port: 0, name: 'default' }));
    ({ port: listedPort } = await broker.listen({
      type: 'ws',
      port: 0,
      name: 'listed',
      allowedOrigins: ['https://dashboard.example.com', 'http://localhost:3000'],
    }));
  });
  after(() => broker.close());

  test('a page of a foreign origin gets 403, counted', async () => {
    const before = broker.core.metrics.refused['ws-origin'];
    const url = `ws://127.0.0.1:${port}/mqtt`;
    assert.equal(await tryConnect(url, { origin: 'https://evil.example' }), 'HTTP 403');
    assert.equal(await tryConnect(url, { origin: 'null' }), 'HTTP 403', 'a sandboxed page');
    assert.equal(
      await tryConnect(url, { origin: `http://127.0.0.1:${port + 1}` }),
      'HTTP 403',
      'same host, another port',
    );
    assert.equal(broker.core.metrics.refused['ws-origin'] - before, 3);
  });

  test('a page served by the same host and port, and a client without Origin, are served', async () => {
    const url = `ws://127.0.0.1:${port}/mqtt`;
    assert.equal(await tryConnect(url, { origin: `http://127.0.0.1:${port}` }), 'CONNACK 0');
    assert.equal(await tryConnect(url), 'CONNACK 0');
    const byName = `ws://localhost:${port}/mqtt`;
    assert.equal(await tryConnect(byName, { origin: `http://LOCALHOST:${port}` }), 'CONNACK 0');
  });

  test('listed origins are served; others still get 403', async () => {
    const url = `ws://127.0.0.1:${listedPort}/mqtt`;
    assert.equal(await tryConnect(url, { origin: 'https://dashboard.example.com' }), 'CONNACK 0');
    assert.equal(await tryConnect(url, { origin: 'http://localhost:3000' }), 'CONNACK 0');
    assert.equal(
      await tryConnect(url, { origin: 'https://dashboard.example.com:8443' }),
      'HTTP 403',
    );
    assert.equal(await tryConnect(url, { origin: 'http://dashboard.example.com' }), 'HTTP 403');
  });

  test('wss: the same host rule uses the https default port', async () => {
    const certs: TestCerts = makeTestCerts();
    const secure = createBroker();
    try {
      const { port: wssPort } = await secure.listen({
        type: 'wss',
        port: 0,
        tls: { cert: certs.server.cert, key: certs.server.key },
      });
      const url = `wss://127.0.0.1:${wssPort}/mqtt`;
      const tls = { ca: certs.ca.certPem };
      assert.equal(
        await tryConnect(url, { ...tls, origin: `https://127.0.0.1:${wssPort}` }),
        'CONNACK 0',
      );
      assert.equal(await tryConnect(url, { ...tls, origin: 'https://127.0.0.1' }), 'HTTP 403');
    } finally {
      await secure.close();
      certs.cleanup();
    }
  });
});

describe('originAllowed', () => {
  const none = originPolicy([]);
  test('default ports, case and IPv6 hosts compare as the same host', () => {
    assert.equal(originAllowed('https://Example.com', 'example.com:443', none, true), true);
    assert.equal(originAllowed('http://example.com', 'example.com', none, false), true);
    assert.equal(originAllowed('http://example.com:80', 'example.com', none, false), true);
    assert.equal(originAllowed('http://[::1]:8080', '[::1]:8080', none, false), true);
    assert.equal(originAllowed('https://example.com', 'example.com', none, false), false);
    assert.equal(originAllowed('http://example.com', undefined, none, false), false);
    assert.equal(originAllowed('not a url', 'example.com', none, false), false);
  });

  test('no Origin is not a browser; `*` accepts any origin; entries are normalized', () => {
    assert.equal(originAllowed(undefined, 'example.com', none, false), true);
    assert.equal(
      originAllowed('https://x.example', 'example.com', originPolicy(['*']), false),
      true,
    );
    const listed = originPolicy(['HTTPS://Dash.Example.com:443/', 'null']);
    assert.equal(originAllowed('https://dash.example.com', 'broker:1', listed, false), true);
    assert.equal(originAllowed('null', 'broker:1', listed, false), true);
    assert.throws(() => originPolicy(['dash.example.com']), /not an origin/);
  });
});
