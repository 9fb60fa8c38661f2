/**
 * The command API (`broker.admin`) over real connections: each command has its effect on the
 * wire. Disconnect: MQTT 5 sees DISCONNECT 0x98, 3.1.1 a close, no will. Delete session: the
 * next connection finds none (Session Present 0) and nothing queued arrives. Clear retained:
 * a new subscriber gets nothing, current subscribers get nothing either. Also the counters,
 * and the requests the API refuses.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import mqttjs, { type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import { InvalidRequestError } from '../../src/index.js';
import {
  collectFor,
  collectUntil,
  connectClient,
  endClient,
  nextMessages,
  startBroker,
  type TestBroker,
} from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

let tb: TestBroker | undefined;
const mqttClients: MqttClient[] = [];
const raws: RawClient[] = [];

afterEach(async () => {
  for (const client of mqttClients.splice(0)) await endClient(client, true);
  for (const raw of raws.splice(0)) raw.destroy();
  await tb?.close();
  tb = undefined;
});

async function broker(): Promise<TestBroker> {
  tb = await startBroker();
  return tb;
}

async function mqtt(url: string, options: IClientOptions): Promise<MqttClient> {
  const client = await connectClient(url, options);
  mqttClients.push(client);
  return client;
}

/** Connects MQTT.js and resolves with the client and its CONNACK. */
function mqttWithConnack(
  url: string,
  options: IClientOptions,
): Promise<{ client: MqttClient; connack: IConnackPacket }> {
  return new Promise((resolve, reject) => {
    const client = mqttjs.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    mqttClients.push(client);
    client.once('error', reject);
    client.once('connect', (connack) => resolve({ client, connack }));
  });
}

/** Resolves with the reason code of the DISCONNECT the broker sends `client`. */
function disconnectReason(client: MqttClient): Promise<number | undefined> {
  return new Promise((resolve) =>
    client.once('disconnect', (packet) => resolve(packet.reasonCode)),
  );
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

async function watch(url: string, filter: string): Promise<MqttClient> {
  const watcher = await mqtt(url, { clientId: `watch-${filter}`, protocolVersion: 5 });
  await watcher.subscribeAsync(filter, { qos: 1 });
  return watcher;
}

const persistent = { protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 300 } };

describe('admin API: disconnect', () => {
  it('[MQTT-3.14.2-1] MQTT 5: DISCONNECT 0x98 Administrative action, no will, the session stays', async () => {
    const { url, broker: b } = await broker();
    const watcher = await watch(url, 'will/#');
    const victim = await mqtt(url, {
      clientId: 'victim',
      ...persistent,
      will: { topic: 'will/victim', payload: Buffer.from('gone'), qos: 1, retain: false },
    } as IClientOptions);
    const reason = disconnectReason(victim);
    const gone = closed(victim);
    assert.equal(await b.admin.disconnect('victim'), true);
    assert.equal(await reason, 0x98);
    await gone;
    // A sentinel after the close: a will would have arrived before it.
    const wills = collectUntil(watcher, 'will/sentinel');
    await b.publish({ topic: 'will/sentinel', payload: 'x', qos: 1 });
    assert.deepEqual(await wills, [], 'no will');
    assert.equal((await b.admin.session('victim'))?.connected, false, 'the session stays');
    assert.deepEqual(
      (await b.admin.clients()).items.map((c) => c.clientId),
      ['watch-will/#'],
    );
    assert.equal(await b.admin.disconnect('victim'), false, 'no longer connected');
  });

  it('MQTT 3.1.1: the connection is closed without a DISCONNECT; sendWill publishes the will', async () => {
    const { url, port, broker: b } = await broker();
    const watcher = await watch(url, 'will/#');
    const victim = await RawClient.connected(port, 4, 'v4-victim', {
      will: { topic: 'will/v4', payload: Buffer.from('bye'), qos: 0, retain: false },
    });
    raws.push(victim);
    const will = nextMessages(watcher, 1);
    assert.equal(await b.admin.disconnect('v4-victim', { sendWill: true }), true);
    await victim.waitClose();
    assert.deepEqual(victim.received, [], 'nothing sent: 3.1.1 has no server DISCONNECT');
    const [message] = await will;
    assert.equal(message?.topic, 'will/v4');
  });
});

describe('admin API: delete a session', () => {
  it('[MQTT-3.2.2-3] an offline session: the next connection finds none and nothing queued arrives', async () => {
    const { url, broker: b } = await broker();
    const first = await mqtt(url, { clientId: 'del-off', ...persistent } as IClientOptions);
    await first.subscribeAsync('q/#', { qos: 1 });
    await endClient(first);
    const pub = await mqtt(url, { clientId: 'del-pub' });
    await pub.publishAsync('q/1', 'queued', { qos: 1 });
    assert.equal((await b.admin.session('del-off'))?.queuedMessages, 1);
    const before = (await b.admin.counters()).subscriptions;
    assert.equal(await b.admin.deleteSession('del-off'), true);
    assert.equal(await b.admin.session('del-off'), undefined);
    assert.deepEqual((await b.admin.subscriptions({ clientId: 'del-off' })).items, []);
    assert.equal((await b.admin.counters()).subscriptions, before - 1);
    const again = await mqttWithConnack(url, {
      clientId: 'del-off',
      ...persistent,
    } as IClientOptions);
    assert.equal(again.connack.sessionPresent, false, 'Session Present 0: no session');
    assert.deepEqual(await collectFor(again.client, 300), [], 'its queue went with it');
    assert.equal(await b.admin.deleteSession('nobody'), false);
  });

  it('[MQTT-3.14.2-1] a live session: DISCONNECT 0x98 first, then the reconnect finds none [MQTT-3.2.2-3]', async () => {
    const { url, broker: b } = await broker();
    const live = await mqtt(url, { clientId: 'del-live', ...persistent } as IClientOptions);
    await live.subscribeAsync('live/#', { qos: 1 });
    const reason = disconnectReason(live);
    assert.equal(await b.admin.deleteSession('del-live'), true);
    assert.equal(await reason, 0x98);
    const again = await mqttWithConnack(url, {
      clientId: 'del-live',
      ...persistent,
    } as IClientOptions);
    assert.equal(again.connack.sessionPresent, false);
    assert.deepEqual((await b.admin.subscriptions({ clientId: 'del-live' })).items, []);
  });

  it('a will waiting for its delay is dropped with the session, or sent at once with sendWill', async () => {
    const { url, port, broker: b } = await broker();
    const watcher = await watch(url, 'will/#');
    for (const [id, sendWill] of [
      ['delayed-a', false],
      ['delayed-b', true],
    ] as const) {
      const client = await RawClient.connected(port, 5, id, {
        properties: { sessionExpiryInterval: 300 },
        will: {
          topic: `will/${id}`,
          payload: Buffer.from(id),
          qos: 1,
          retain: false,
          properties: { willDelayInterval: 600 },
        },
      });
      client.destroy(); // lost without DISCONNECT: the will waits 600 s
      await client.closed;
      assert.equal(await b.admin.deleteSession(id, { sendWill }), true);
    }
    const wills = collectUntil(watcher, 'will/sentinel');
    await b.publish({ topic: 'will/sentinel', payload: 'x', qos: 1 });
    assert.deepEqual(
      (await wills).map((m) => m.topic),
      ['will/delayed-b'],
    );
  });
});

describe('admin API: clear a retained message', () => {
  it('[MQTT-3.3.1-10] a new subscriber gets nothing for the topic; subscribers get no message either', async () => {
    const { url, broker: b } = await broker();
    await b.publish({ topic: 'r/a', payload: 'a', retain: true });
    await b.publish({ topic: 'r/b', payload: 'b', retain: true });
    const current = await mqtt(url, { clientId: 'current', protocolVersion: 5 });
    const retainedNow = nextMessages(current, 2);
    await current.subscribeAsync('r/#', { qos: 1 });
    await retainedNow;
    assert.equal(await b.admin.clearRetained('r/a'), true);
    const seen = collectUntil(current, 'r/zz');
    await b.publish({ topic: 'r/zz', payload: 'sentinel', qos: 1 });
    assert.deepEqual(await seen, [], 'clearing publishes nothing');
    const fresh = await mqtt(url, { clientId: 'fresh', protocolVersion: 5 });
    const onSubscribe = nextMessages(fresh, 1);
    await fresh.subscribeAsync('r/#', { qos: 1 });
    const [only] = await onSubscribe;
    assert.equal(only?.topic, 'r/b');
    assert.deepEqual(await collectFor(fresh, 200), [], 'r/a is not sent');
    assert.equal(await b.admin.retainedMessage('r/a'), undefined);
    assert.equal(await b.admin.clearRetained('r/a'), false, 'nothing left to clear');
    assert.equal((await b.admin.counters()).retainedMessages, 1);
  });
});

describe('admin API: counters and refused requests', () => {
  it('the counters are a copy of every metric, with what the broker holds', async () => {
    const { url, broker: b } = await broker();
    const client = await mqtt(url, { clientId: 'counted', protocolVersion: 5 });
    await client.subscribeAsync('c/#', { qos: 1 });
    await client.publishAsync('c/1', 'x', { qos: 1, retain: true });
    const counters = await b.admin.counters();
    assert.equal(JSON.stringify(JSON.parse(JSON.stringify(counters))), JSON.stringify(counters));
    assert.equal(counters.connectionsCurrent, 1);
    assert.equal(counters.connectionsOpen, 1);
    assert.equal(counters.sessions, 1);
    assert.equal(counters.subscriptions, 1);
    assert.equal(counters.retainedMessages, 1);
    assert.ok(counters.messagesReceived >= 1);
    assert.equal(counters.dropped['queue-full'], 0);
    assert.ok(counters.memory.usedBytes > 0 && counters.memory.limitBytes > 0);
    counters.dropped['queue-full'] = 99;
    counters.memory.usedBytes = -1;
    const again = await b.admin.counters();
    assert.equal(again.dropped['queue-full'], 0, 'a copy: changing it changes nothing');
    assert.notEqual(again.memory.usedBytes, -1);
  });

  it('refuses page sizes out of range, foreign cursors and malformed topics or filters', async () => {
    const { broker: b } = await broker();
    for (const limit of [0, 1001, 1.5, Number.NaN]) {
      await assert.rejects(b.admin.clients({ limit }), InvalidRequestError, `limit ${limit}`);
    }
    await assert.rejects(b.admin.sessions({ cursor: 'not a cursor!' }), InvalidRequestError);
    await assert.rejects(b.admin.retained({ filter: 'a/#/b' }), InvalidRequestError);
    await assert.rejects(b.admin.retainedMessage('a/+'), InvalidRequestError);
    await assert.rejects(b.admin.clearRetained(''), InvalidRequestError);
    assert.equal((await b.admin.clients({ limit: 1000 })).items.length, 0);
  });
});

describe('admin API: commands reach the store', () => {
  it('a deleted session and a cleared retained message stay gone after a restart (SQLite)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pipit-admin-'));
    try {
      const options = {
        persistence: { kind: 'sqlite' as const, dataDir, durability: 'fsync' as const },
      };
      tb = await startBroker(options);
      const keep = await mqtt(tb.url, { clientId: 'keep', ...persistent } as IClientOptions);
      await keep.subscribeAsync('k/#', { qos: 1 });
      await endClient(keep);
      const drop = await mqtt(tb.url, { clientId: 'drop', ...persistent } as IClientOptions);
      await drop.subscribeAsync('d/#', { qos: 1 });
      await endClient(drop);
      await tb.broker.publish({ topic: 'r/kept', payload: 'k', retain: true, qos: 1 });
      await tb.broker.publish({ topic: 'r/cleared', payload: 'c', retain: true, qos: 1 });
      assert.equal(await tb.broker.admin.deleteSession('drop'), true);
      assert.equal(await tb.broker.admin.clearRetained('r/cleared'), true);
      await tb.close();
      tb = await startBroker(options);
      const admin = tb.broker.admin;
      assert.deepEqual(
        (await admin.sessions()).items.map((s) => s.clientId),
        ['keep'],
      );
      assert.deepEqual(
        (await admin.retained()).items.map((m) => m.topic),
        ['r/kept'],
      );
    } finally {
      await tb?.close();
      tb = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
