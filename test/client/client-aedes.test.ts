/**
 * The client against Aedes in-process (MQTT 3.1.1), and against scripted fake servers for
 * the failure paths: refused CONNACK, a first packet that is not CONNACK, a lost PINGRESP,
 * a server DISCONNECT.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect } from '../../src/client/index.js';
import { isMqttError } from '../../src/protocol/index.js';
import { type InProcessAedes, nextEvent, startAedes } from './brokers.js';

describe('against Aedes in-process', { timeout: 20_000 }, () => {
  let broker: InProcessAedes;
  before(async () => {
    broker = await startAedes((a) => {
      a.authenticate = (_client, username, _password, done) => {
        if (username === 'intruder') {
          const err = Object.assign(new Error('bad credentials'), { returnCode: 4 as const });
          done(err, false);
        } else done(null, true);
      };
    });
  });
  after(() => broker.stop());

  for (const qos of [0, 1, 2] as const) {
    test(`QoS ${qos} round trip`, async () => {
      const sub = await connect({ port: broker.port });
      const pub = await connect({ port: broker.port });
      try {
        assert.deepEqual(await sub.subscribe('a/+', { qos }), [qos]);
        const got = nextEvent<[string, Buffer]>(sub, 'message');
        await pub.publish(`a/${qos}`, Buffer.from([1, 2, 3]), { qos });
        const [topic, payload] = await got;
        assert.equal(topic, `a/${qos}`);
        assert.deepEqual([...payload], [1, 2, 3]);
      } finally {
        await Promise.all([sub.end(), pub.end()]);
      }
    });
  }

  test('a refused CONNACK rejects connect() with the return code', async () => {
    const err = await connect({ port: broker.port, username: 'intruder', password: 'x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isMqttError(err), String(err));
    assert.equal(err.reasonCode, 4);
  });
});

/** A one-connection fake server: `script` gets each chunk the client sends and the socket. */
async function fakeServer(script: (chunk: Buffer, socket: net.Socket) => void) {
  const server = net.createServer((socket) => socket.on('data', (c) => script(c, socket)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return { port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const CONNACK_OK = Buffer.from([0x20, 0x02, 0x00, 0x00]);

describe('failure paths against fake servers', { timeout: 20_000 }, () => {
  test('[MQTT-3.2.0-1] a first packet other than CONNACK fails the connection', async () => {
    const srv = await fakeServer((_c, s) => s.write(Buffer.from([0xd0, 0x00])));
    try {
      await assert.rejects(connect({ port: srv.port }), /expected CONNACK/);
    } finally {
      await srv.close();
    }
  });

  test('keepalive: no PINGRESP closes the connection with a keepalive error', async () => {
    let pings = 0;
    const srv = await fakeServer((chunk, s) => {
      if (chunk[0] === 0x10) s.write(CONNACK_OK);
      if (chunk[0] === 0xc0) pings++; // never answered
    });
    try {
      const c = await connect({ port: srv.port, keepAlive: 1 });
      const [err] = await nextEvent<[Error | undefined]>(c, 'close', 10_000);
      assert.match(String(err), /keepalive timeout/);
      assert.ok(pings >= 1);
    } finally {
      await srv.close();
    }
  });

  test('MQTT 5: a server DISCONNECT is reported with its reason code', async () => {
    const srv = await fakeServer((chunk, s) => {
      if (chunk[0] === 0x10) {
        // CONNACK (v5: flags, reason, empty properties), then DISCONNECT 0x8b shutting down.
        s.write(Buffer.from([0x20, 0x03, 0x00, 0x00, 0x00, 0xe0, 0x02, 0x8b, 0x00]));
        s.end();
      }
    });
    try {
      const c = await connect({ port: srv.port, protocolVersion: 5 });
      const [err] = await nextEvent<[Error | undefined]>(c, 'close');
      assert.ok(isMqttError(err));
      assert.equal(err.reasonCode, 0x8b);
    } catch (err) {
      // The DISCONNECT may arrive in the same chunk as CONNACK, before connect() resolves.
      assert.ok(isMqttError(err) || /closed/.test(String(err)), String(err));
    } finally {
      await srv.close();
    }
  });

  test('MQTT 5: a PUBACK failure code rejects publish with that code', async () => {
    const srv = await fakeServer((chunk, s) => {
      if (chunk[0] === 0x10) s.write(Buffer.from([0x20, 0x03, 0x00, 0x00, 0x00]));
      if (chunk[0] >> 4 === 3) {
        // PUBLISH QoS 1 v5: topic "x" (2+1 bytes), then the packet id.
        const id = chunk.readUInt16BE(5);
        s.write(Buffer.from([0x40, 0x03, id >> 8, id & 0xff, 0x87]));
      }
    });
    try {
      const c = await connect({ port: srv.port, protocolVersion: 5 });
      const err = await c.publish('x', 'y', { qos: 1 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(isMqttError(err));
      assert.equal(err.reasonCode, 0x87);
      await c.end();
    } finally {
      await srv.close();
    }
  });

  test('[MQTT-3.3.4-7] MQTT 5: Receive Maximum bounds QoS 1 publishes in flight', async () => {
    let peak = 0;
    const held: number[] = [];
    let server: net.Socket | undefined;
    const srv = await fakeServer((chunk, s) => {
      server = s;
      if (chunk[0] === 0x10) {
        // CONNACK with properties: Receive Maximum (0x21) = 2.
        s.write(Buffer.from([0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x02]));
        return;
      }
      for (let pos = 0; pos < chunk.length; pos += 2 + chunk[pos + 1]) {
        if (chunk[pos] >> 4 === 3) held.push(chunk.readUInt16BE(pos + 5));
      }
      peak = Math.max(peak, held.length);
    });
    // The server acknowledges slowly, one held publish at a time.
    const acker = setInterval(() => {
      const id = held.shift();
      if (id !== undefined) server?.write(Buffer.from([0x40, 0x02, id >> 8, id & 0xff]));
    }, 5);
    try {
      const c = await connect({ port: srv.port, protocolVersion: 5 });
      await Promise.all(Array.from({ length: 6 }, () => c.publish('x', 'y', { qos: 1 })));
      assert.ok(peak <= 2, `peak in flight ${peak}`);
      assert.ok(peak >= 1);
      await c.end();
    } finally {
      clearInterval(acker);
      await srv.close();
    }
  });
});
