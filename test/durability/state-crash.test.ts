/**
 * State other than queues across kill -9, seen by MQTT.js (an independent client):
 * retained messages, persistent subscriptions with their options, session expiry that keeps
 * counting while the broker is down, and wills: one whose delay fell due while the broker was
 * down, and one whose client was connected at the crash, are published at start.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import mqtt, {
  type IClientOptions,
  type IConnackPacket,
  type IPublishPacket,
  type MqttClient,
} from 'mqtt';
import { nextMessages } from '../helpers/broker.js';
import { BrokerProcess, freePort, sleep, tempDir } from './harness.js';

const running = new Set<BrokerProcess>();
after(async () => {
  for (const b of running) await b.kill();
});

async function start(port: number, dataDir: string): Promise<BrokerProcess> {
  const broker = await BrokerProcess.start(port, dataDir);
  running.add(broker);
  return broker;
}

async function kill(broker: BrokerProcess): Promise<void> {
  await broker.kill();
  running.delete(broker);
}

/** A message as MQTT.js handed it over. */
interface Got {
  topic: string;
  payload: string;
  packet: IPublishPacket;
}

/**
 * Connects MQTT.js v5 (persistent session unless told otherwise) and returns its CONNACK
 * and every message it receives from the start (a resumed session's messages may follow
 * CONNACK at once).
 */
function connect(
  port: number,
  clientId: string,
  options: IClientOptions = {},
): Promise<{ client: MqttClient; connack: IConnackPacket; messages: Got[] }> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 5,
      clientId,
      clean: false,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      properties: { sessionExpiryInterval: 3600 },
      ...options,
    });
    const messages: Got[] = [];
    client.on('message', (topic, payload, packet) =>
      messages.push({ topic, payload: payload.toString(), packet }),
    );
    client.once('connect', (connack) => resolve({ client, connack, messages }));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

describe('durability: retained messages, subscriptions and session expiry across kill -9', () => {
  it('retained messages and subscription options (QoS, no-local, retain-as-published, identifiers) come back', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    let broker = await start(port, dataDir);
    const { client: pub } = await connect(port, 'r-pub', { clean: true, properties: {} });
    await pub.publishAsync('r/a', 'A', { qos: 1, retain: true });
    await pub.publishAsync('r/b', 'B', { qos: 1, retain: true });
    await pub.publishAsync('r/b', '', { qos: 1, retain: true }); // [MQTT-3.3.1-6] cleared
    const { client: sub } = await connect(port, 'r-sub');
    const granted = [
      ...(await sub.subscribeAsync('o/a', {
        qos: 1,
        nl: true,
        rap: true,
        properties: { subscriptionIdentifier: 7 },
      })),
      ...(await sub.subscribeAsync('o/b', { qos: 0, properties: { subscriptionIdentifier: 9 } })),
    ];
    assert.deepEqual(
      granted.map((g) => g.qos),
      [1, 0],
    );
    await kill(broker); // SUBACK and PUBACK came: all of it was durable
    pub.end(true);
    sub.end(true);

    broker = await start(port, dataDir);
    const { client: again, connack } = await connect(port, 'r-sub');
    assert.equal(connack.sessionPresent, true);
    const { client: other } = await connect(port, 'r-other', { clean: true, properties: {} });
    // Retained: only r/a survives (r/b was cleared before the kill) [MQTT-3.3.1-5].
    const retained = nextMessages(again, 1);
    await again.subscribeAsync('r/#', { qos: 1 });
    const [r] = await retained;
    assert.equal(r.topic, 'r/a');
    assert.equal(r.payload.toString(), 'A');
    assert.equal(r.packet.retain, true);
    // No-local [MQTT-3.8.3-3]: the subscriber's own message is routed (PUBACK) but not sent back.
    const got = nextMessages(again, 2);
    await again.publishAsync('o/a', 'mine', { qos: 1 });
    await other.publishAsync('o/a', 'theirs', { qos: 1, retain: true });
    await other.publishAsync('o/b', 'to-b', { qos: 1 });
    const [a, b] = await got;
    assert.equal(a.payload.toString(), 'theirs');
    assert.equal(a.packet.qos, 1);
    assert.equal(a.packet.retain, true, 'retain-as-published [MQTT-3.3.1-13]');
    assert.deepEqual(a.packet.properties?.subscriptionIdentifier, 7);
    assert.equal(b.payload.toString(), 'to-b');
    assert.equal(b.packet.qos, 0, 'granted QoS 0 kept');
    assert.deepEqual(b.packet.properties?.subscriptionIdentifier, 9);
    again.end(true);
    other.end(true);
    await broker.stop();
    running.delete(broker);
  });

  it('session expiry keeps counting while the broker is down [MQTT-3.1.2-23] (v5)', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    let broker = await start(port, dataDir);
    // Three sessions disconnected at t0 with expiry 4 s, 10 s and one hour.
    const sessions: [string, number][] = [
      ['exp-4', 4],
      ['exp-10', 10],
      ['exp-long', 3600],
    ];
    for (const [id, expiry] of sessions) {
      const { client } = await connect(port, id, { properties: { sessionExpiryInterval: expiry } });
      await client.subscribeAsync('x/#', { qos: 1 });
      await client.endAsync();
    }
    const t0 = Date.now();
    await kill(broker);
    await sleep(Math.max(0, t0 + 5000 - Date.now())); // down past the 4 s expiry

    broker = await start(port, dataDir);
    const present = async (id: string): Promise<boolean> => {
      const { client, connack } = await connect(port, id);
      client.end(true);
      return connack.sessionPresent === true;
    };
    assert.equal(await present('exp-4'), false, 'expired while the broker was down');
    assert.equal(await present('exp-long'), true);
    await sleep(Math.max(0, t0 + 11_000 - Date.now()));
    // Counted from t0, not from the restart: gone 10 s after its disconnect.
    assert.equal(await present('exp-10'), false, 'expiry counted across the restart');
    await broker.stop();
    running.delete(broker);
  });

  it('[MQTT-3.1.3-9] (v5) a delayed will that fell due while the broker was down, and the will of a client connected at the crash, are published at start', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    let broker = await start(port, dataDir);
    // A watcher with a persistent session: wills published at the restart are queued for it.
    const { client: watcher } = await connect(port, 'w-watch');
    await watcher.subscribeAsync('will/#', { qos: 1 });
    watcher.end(true);
    // 'w-delayed' loses its connection with a 2 s will delay; 'w-live' is connected at the kill.
    const { client: delayed } = await connect(port, 'w-delayed', {
      will: {
        topic: 'will/delayed',
        payload: Buffer.from('d'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 2 },
      },
    });
    const { client: live } = await connect(port, 'w-live', {
      will: { topic: 'will/live', payload: Buffer.from('l'), qos: 1, retain: false },
    });
    delayed.stream.destroy(); // abnormal: the delayed will is stored with its due time
    await sleep(300);
    await kill(broker);
    live.end(true);
    await sleep(2500); // the delay passes while the broker is down
    broker = await start(port, dataDir);
    const { client: back, messages } = await connect(port, 'w-watch');
    const deadline = Date.now() + 10_000;
    while (messages.length < 2 && Date.now() < deadline) await sleep(50);
    assert.deepEqual(messages.map((m) => m.topic).sort(), ['will/delayed', 'will/live']);
    back.end(true);
    await broker.stop();
    running.delete(broker);
  });
});
