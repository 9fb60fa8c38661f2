/**
 * The client against a real Mosquitto: connect with MQTT 3.1.1 and 5.0, QoS 0/1/2 round
 * trips, subscribe/unsubscribe, retained messages, wills and keepalive.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BrokerProcess } from '../../bench/harness/brokers.js';
import { connect, type MqttClient } from '../../src/client/index.js';
import type { PublishPacket, QoS } from '../../src/protocol/index.js';
import { nextEvent, startMosquitto } from './brokers.js';

let broker: BrokerProcess;
const open: MqttClient[] = [];

before(async () => {
  broker = await startMosquitto();
});
after(async () => {
  await Promise.all(open.map((c) => c.end().catch(() => {})));
  await broker.stop();
});

async function client(version: 4 | 5, extra: Parameters<typeof connect>[0] = {}) {
  const c = await connect({ port: broker.port, protocolVersion: version, ...extra });
  open.push(c);
  return c;
}

for (const version of [4, 5] as const) {
  describe(`MQTT ${version === 5 ? '5.0' : '3.1.1'} against mosquitto`, { timeout: 30_000 }, () => {
    test('connects and receives a successful CONNACK', async () => {
      const c = await client(version, { clientId: `conn-${version}` });
      assert.equal(c.connected, true);
      assert.equal(c.connack?.reasonCode, 0);
      assert.equal(c.connack?.sessionPresent, false);
      assert.equal(c.clientId, `conn-${version}`);
    });

    for (const qos of [0, 1, 2] as const) {
      test(`QoS ${qos} round trip: publish resolves and the subscriber gets the message once`, async () => {
        const topic = `t/${version}/q${qos}`;
        const sub = await client(version);
        const pub = await client(version);
        assert.deepEqual(await sub.subscribe(topic, { qos }), [qos]);
        const got = nextEvent<[string, Buffer, PublishPacket]>(sub, 'message');
        await pub.publish(topic, `hello ${qos}`, { qos });
        const [t, payload, packet] = await got;
        assert.equal(t, topic);
        assert.equal(payload.toString(), `hello ${qos}`);
        assert.equal(packet.qos, qos);
      });
    }

    test('QoS is the minimum of published and granted QoS; many QoS 2 in flight', async () => {
      const topic = `t/${version}/many`;
      const sub = await client(version);
      const pub = await client(version);
      await sub.subscribe(topic, { qos: 1 });
      const received: [string, QoS][] = [];
      sub.on('message', (_t, p, packet) => received.push([p.toString(), packet.qos]));
      const done = new Promise<void>((resolve) =>
        sub.on('message', () => received.length === 50 && resolve()),
      );
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => pub.publish(topic, `m${i}`, { qos: 2 })),
      );
      await done;
      assert.deepEqual(
        received,
        Array.from({ length: 50 }, (_, i) => [`m${i}`, 1]),
      );
    });

    test('unsubscribe stops delivery', async () => {
      const sub = await client(version);
      const pub = await client(version);
      await sub.subscribe([`u/${version}/a`, `u/${version}/b`], { qos: 1 });
      const codes = await sub.unsubscribe(`u/${version}/a`);
      assert.deepEqual(codes, version === 5 ? [0] : []);
      const topics: string[] = [];
      sub.on('message', (t) => topics.push(t));
      const marker = nextEvent(sub, 'message');
      await pub.publish(`u/${version}/a`, 'gone', { qos: 1 });
      await pub.publish(`u/${version}/b`, 'marker', { qos: 1 });
      await marker;
      assert.deepEqual(topics, [`u/${version}/b`]);
    });

    test('retained message reaches a later subscriber with the retain flag', async () => {
      const topic = `r/${version}`;
      const pub = await client(version);
      await pub.publish(topic, 'kept', { qos: 1, retain: true });
      const sub = await client(version);
      const got = nextEvent<[string, Buffer, PublishPacket]>(sub, 'message');
      await sub.subscribe(topic, { qos: 1 });
      const [, payload, packet] = await got;
      assert.equal(payload.toString(), 'kept');
      assert.equal(packet.retain, true);
      await pub.publish(topic, '', { qos: 1, retain: true });
    });

    test('a will is published when the client goes away without DISCONNECT', async () => {
      const topic = `w/${version}`;
      const watcher = await client(version);
      await watcher.subscribe(topic, { qos: 1 });
      const dying = await connect({
        port: broker.port,
        protocolVersion: version,
        will: { topic, payload: Buffer.from('bye'), qos: 1, retain: false },
      });
      const got = nextEvent<[string, Buffer]>(watcher, 'message');
      dying.destroy();
      const [, payload] = await got;
      assert.equal(payload.toString(), 'bye');
    });

    test('end() sends DISCONNECT, so no will and a clean close', async () => {
      const c = await client(version);
      const closed = nextEvent<[Error | undefined]>(c, 'close');
      await c.end();
      const [err] = await closed.catch(() => [undefined] as [undefined]);
      assert.equal(err, undefined);
      assert.equal(c.connected, false);
      await assert.rejects(c.publish('x', 'y'), /closed/);
    });

    test('[MQTT-3.1.2-23] keepalive: PINGREQs keep an idle connection open past 1.5x keepalive', async () => {
      const c = await client(version, { keepAlive: 1 });
      let pings = 0;
      const socket = (c as unknown as { socket: import('node:net').Socket }).socket;
      const write = socket.write.bind(socket);
      socket.write = ((chunk: Buffer, ...rest: never[]) => {
        if (chunk[0] === 0xc0) pings++;
        return write(chunk, ...rest);
      }) as typeof socket.write;
      // Wait until two PINGREQs went out and came back, rather than for a fixed time.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no PINGREQ')), 10_000);
        const poll = setInterval(() => {
          if (pings >= 2) {
            clearInterval(poll);
            clearTimeout(timer);
            resolve();
          }
        }, 50);
      });
      assert.equal(c.connected, true);
      await c.publish('k/alive', 'still here', { qos: 1 });
    });
  });
}

test('MQTT 5: an empty client id gets the server-assigned one', { timeout: 10_000 }, async () => {
  const c = await client(5, { clientId: '' });
  assert.ok(c.clientId.length > 0);
  assert.equal(c.clientId, c.connack?.properties?.assignedClientIdentifier);
});

test('[MQTT-3.1.2-24] MQTT 5: the server holds back packets over our maximumPacketSize', {
  timeout: 10_000,
}, async () => {
  const small = await client(5, { maximumPacketSize: 200 });
  const pub = await client(5);
  await small.subscribe('size/+', { qos: 1 });
  const topics: string[] = [];
  small.on('message', (t) => topics.push(t));
  const marker = nextEvent(small, 'message');
  await pub.publish('size/big', Buffer.alloc(1000), { qos: 1 });
  await pub.publish('size/small', 'fits', { qos: 1 });
  await marker;
  assert.deepEqual(topics, ['size/small']);
});

test('MQTT 3.1 (MQIsdp) connects and round-trips QoS 1', { timeout: 10_000 }, async () => {
  const c = await connect({ port: broker.port, protocolVersion: 3 });
  open.push(c);
  await c.subscribe('v31', { qos: 1 });
  const got = nextEvent<[string, Buffer]>(c, 'message');
  await c.publish('v31', 'old', { qos: 1 });
  assert.equal((await got)[1].toString(), 'old');
});

test('connecting to a closed port rejects', { timeout: 10_000 }, async () => {
  await assert.rejects(connect({ port: 1, connectTimeoutMs: 2000 }), /ECONNREFUSED|timed out/);
});
