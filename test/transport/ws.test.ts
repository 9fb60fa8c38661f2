/**
 * The ws and wss listeners with MQTT.js and a raw `ws` client: pub/sub in v3.1.1 and v5,
 * packets split across frames and packed into one, text frames, paths and subprotocols.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import WebSocket from 'ws';
import { type Broker, createBroker } from '../../src/index.js';
import { waitFor } from '../helpers/broker.js';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { expectRefused, recordingBroker, roundTrip } from './helpers.js';

let certs: TestCerts;
before(() => {
  certs = makeTestCerts();
});
after(() => certs.cleanup());

const encode = (packet: object, protocolVersion = 4): Buffer =>
  mqttPacket.generate(packet as mqttPacket.Packet, { protocolVersion });

const CONNECT = encode({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clean: true,
  clientId: 'raw-ws',
  keepalive: 30,
});

/** Opens a raw WebSocket; resolves once open (rejects on error or a refused upgrade). */
function openRaw(url: string, protocols: string[] = ['mqtt']): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { handshakeTimeout: 5000 });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`HTTP ${res.statusCode}`));
      ws.terminate();
    });
  });
}

/** Collects the broker's packets from a raw WebSocket until `count` have arrived. */
function readPackets(ws: WebSocket, count: number): Promise<mqttPacket.Packet[]> {
  return new Promise((resolve, reject) => {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const got: mqttPacket.Packet[] = [];
    const timer = setTimeout(
      () => reject(new Error(`got ${got.length} of ${count} packets`)),
      5000,
    );
    parser.on('packet', (packet) => {
      got.push(packet);
      if (got.length === count) {
        clearTimeout(timer);
        ws.off('message', onMessage);
        resolve(got);
      }
    });
    const onMessage = (data: Buffer): void => {
      parser.parse(data);
    };
    ws.on('message', onMessage);
  });
}

/** Resolves with the close code once the WebSocket is closed (bounded). */
function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not closed')), 5000);
    ws.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

function httpStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('ws listener', () => {
  let broker: Broker;
  let url: string;
  let port: number;
  before(async () => {
    broker = createBroker();
    ({ url, port } = await broker.listen({ type: 'ws', port: 0 }));
  });
  after(() => broker.close());

  test('the address names the /mqtt path', () => {
    assert.equal(url, `ws://127.0.0.1:${port}/mqtt`);
  });

  test('MQTT.js publishes and subscribes over ws (v3.1.1 and v5)', async () => {
    for (const protocolVersion of [4, 5] as const) {
      assert.equal(await roundTrip(url, { protocolVersion }), 'hello over ws');
    }
  });

  test('[MQTT-6.0.0-2] one CONNECT split across 3 frames, then two packets in one frame', async () => {
    const ws = await openRaw(url);
    try {
      const connack = readPackets(ws, 1);
      ws.send(CONNECT.subarray(0, 1));
      ws.send(CONNECT.subarray(1, 5));
      ws.send(CONNECT.subarray(5));
      const [ack] = await connack;
      assert.equal(ack?.cmd, 'connack');
      assert.equal((ack as mqttPacket.IConnackPacket).returnCode, 0);

      const replies = readPackets(ws, 2);
      const subscribe = encode({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [{ topic: 'ws/t', qos: 0 }],
      });
      const publish = encode({
        cmd: 'publish',
        topic: 'ws/t',
        payload: Buffer.from('packed'),
        qos: 0,
        dup: false,
        retain: false,
      });
      ws.send(Buffer.concat([subscribe, publish]));
      const [suback, message] = await replies;
      assert.equal(suback?.cmd, 'suback');
      assert.equal(message?.cmd, 'publish');
      assert.equal((message as mqttPacket.IPublishPacket).payload.toString(), 'packed');
    } finally {
      ws.terminate();
    }
  });

  test('[MQTT-6.0.0-1] a text frame closes the connection', async () => {
    const ws = await openRaw(url);
    const connack = readPackets(ws, 1);
    ws.send(CONNECT);
    await connack;
    const done = closed(ws);
    ws.send('this is text');
    assert.equal(await done, 1003);
  });

  test('[MQTT-6.0.0-4] the server answers with the mqtt subprotocol, and accepts mqttv3.1', async () => {
    const preferred = await openRaw(url, ['mqttv3.1', 'mqtt']);
    assert.equal(preferred.protocol, 'mqtt');
    preferred.terminate();
    const legacy = await openRaw(url, ['mqttv3.1']);
    assert.equal(legacy.protocol, 'mqttv3.1');
    legacy.terminate();
  });

  test('other subprotocols are refused', async () => {
    await assert.rejects(openRaw(url, ['chat', 'stomp']), /HTTP 400/);
  });

  test('other paths answer 404, for upgrades and plain HTTP', async () => {
    await assert.rejects(openRaw(`ws://127.0.0.1:${port}/other`), /HTTP 404/);
    assert.equal(await httpStatus(port, '/'), 404);
    assert.equal(await httpStatus(port, '/mqtt'), 426);
  });

  test('a custom path replaces /mqtt', async () => {
    const other = createBroker();
    try {
      const address = await other.listen({ type: 'ws', port: 0, path: '/broker' });
      assert.equal(address.url, `ws://127.0.0.1:${address.port}/broker`);
      assert.equal(await roundTrip(address.url, {}), 'hello over ws');
      await assert.rejects(openRaw(`ws://127.0.0.1:${address.port}/mqtt`), /HTTP 404/);
    } finally {
      await other.close();
    }
  });

  test('a packet just above maximumPacketSize still reaches the core, which answers DISCONNECT 0x95 (v5)', async () => {
    const small = createBroker({ maximumPacketSize: 1024 });
    try {
      const address = await small.listen({ type: 'ws', port: 0 });
      const ws = await openRaw(address.url);
      const connect5 = encode(
        {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 5,
          clean: true,
          clientId: 'big',
          keepalive: 30,
        },
        5,
      );
      const publish = encode(
        {
          cmd: 'publish',
          topic: 'big',
          payload: Buffer.alloc(2000),
          qos: 0,
          dup: false,
          retain: false,
        },
        5,
      );
      const parser = mqttPacket.parser({ protocolVersion: 5 });
      const got: mqttPacket.Packet[] = [];
      parser.on('packet', (packet) => got.push(packet));
      ws.on('message', (data: Buffer) => parser.parse(data));
      const done = closed(ws);
      ws.send(connect5);
      ws.send(publish);
      await done;
      assert.deepEqual(
        got.map((p) => p.cmd),
        ['connack', 'disconnect'],
      );
      assert.equal((got[1] as mqttPacket.IDisconnectPacket).reasonCode, 0x95);
    } finally {
      await small.close();
    }
  });

  test('[MQTT-6.0.0-2] maxFrameSize lets one WebSocket message carry many packets beyond the default cap', async () => {
    const broker = createBroker({ maximumPacketSize: 1024 });
    try {
      const address = await broker.listen({ type: 'ws', port: 0, maxFrameSize: 1024 * 1024 });
      const ws = await openRaw(address.url);
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      const got: mqttPacket.Packet[] = [];
      parser.on('packet', (packet) => got.push(packet));
      ws.on('message', (data: Buffer) => parser.parse(data));
      const packets = [
        encode(
          { cmd: 'connect', clientId: 'batcher', protocolVersion: 4, clean: true, keepalive: 30 },
          4,
        ),
        encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'b/#', qos: 0 }] }, 4),
      ];
      // 300 QoS 1 PUBLISHes of 500 bytes: ~155 KiB in one message, over 1024 + 64 KiB.
      for (let id = 2; id < 302; id++) {
        const payload = Buffer.alloc(500, id % 256);
        packets.push(
          encode(
            {
              cmd: 'publish',
              topic: 'b/x',
              payload,
              qos: 1,
              messageId: id,
              dup: false,
              retain: false,
            },
            4,
          ),
        );
      }
      const frame = Buffer.concat(packets);
      assert.ok(frame.length > 1024 + 64 * 1024);
      ws.send(frame);
      await waitFor(
        () => got.filter((p) => p.cmd === 'puback').length === 300,
        20_000,
        '300 PUBACKs',
      );
      await waitFor(
        () => got.filter((p) => p.cmd === 'publish').length === 300,
        20_000,
        '300 PUBLISHes',
      );
      assert.equal(ws.readyState, WebSocket.OPEN);
      ws.close();
    } finally {
      await broker.close();
    }
  });

  test('a message larger than maximumPacketSize plus slack is refused by the WebSocket layer', async () => {
    const small = createBroker({ maximumPacketSize: 1024 });
    try {
      const address = await small.listen({ type: 'ws', port: 0 });
      const ws = await openRaw(address.url);
      const done = closed(ws);
      ws.send(Buffer.alloc(200 * 1024));
      assert.equal(await done, 1009);
    } finally {
      await small.close();
    }
  });
});

describe('wss listener', () => {
  test('MQTT.js publishes and subscribes over wss (v3.1.1 and v5), trusting the test CA', async () => {
    const broker = createBroker();
    try {
      const { url, port } = await broker.listen({
        type: 'wss',
        port: 0,
        tls: { cert: certs.server.cert, key: certs.server.key },
      });
      assert.equal(url, `wss://127.0.0.1:${port}/mqtt`);
      for (const protocolVersion of [4, 5] as const) {
        const got = await roundTrip(url, {
          protocolVersion,
          ca: certs.ca.certPem,
          rejectUnauthorized: true,
        });
        assert.equal(got, 'hello over wss');
      }
      const untrusted = await expectRefused(url, {
        ca: certs.otherCa.certPem,
        rejectUnauthorized: true,
      });
      assert.match(untrusted, /certificate|self.signed|unable/i);
    } finally {
      await broker.close();
    }
  });

  test('mutual TLS over wss: the certificate identity reaches hooks, a missing certificate is refused', async () => {
    const { broker, seen } = recordingBroker();
    try {
      const { url } = await broker.listen({
        type: 'wss',
        port: 0,
        tls: {
          cert: certs.server.cert,
          key: certs.server.key,
          ca: certs.ca.cert,
          requireCertificate: true,
          useIdentityAsUsername: true,
        },
      });
      const trust = { ca: certs.ca.certPem, rejectUnauthorized: true };
      await expectRefused(url, trust);
      const got = await roundTrip(url, {
        ...trust,
        cert: certs.client.certPem,
        key: certs.client.keyPem,
      });
      assert.equal(got, 'hello over wss');
      assert.ok(seen.length >= 2);
      for (const client of seen) {
        assert.equal(client.certificateIdentity, 'alice');
        assert.equal(client.username, 'alice');
        assert.equal(client.listener, 'wss');
      }
    } finally {
      await broker.close();
    }
  });
});
