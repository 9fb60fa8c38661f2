/**
 * The `$SYS` tree over real MQTT (MQTT.js): Mosquitto's topic names with sane values that
 * move with the traffic the test makes, retained, never matched by `#`, never writable by a
 * client, and absent with `sysInterval: 0`. The brokers update every second; the tests wait
 * for values, never for a time.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { createBroker } from '../../src/index.js';
import {
  collectUntil,
  connectClient,
  endClient,
  startBroker,
  type TestBroker,
} from '../helpers/broker.js';
import { TopicValues } from '../helpers/topic-values.js';

const VERSION = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
  .version as string;

/** Mosquitto's counters and gauges (integers), as `$SYS/broker/<name>`. */
const MOSQUITTO_COUNTERS = [
  'clients/connected',
  'clients/disconnected',
  'clients/total',
  'clients/maximum',
  'clients/expired',
  'messages/received',
  'messages/sent',
  'messages/stored',
  'store/messages/count',
  'publish/messages/received',
  'publish/messages/sent',
  'publish/messages/dropped',
  'bytes/received',
  'bytes/sent',
  'subscriptions/count',
  'retained messages/count',
  'heap/current',
  'heap/maximum',
  'publish/bytes/received',
  'publish/bytes/sent',
  'shared_subscriptions/count',
  'connections/socket/count',
];

/** Mosquitto's load averages, as `$SYS/broker/load/<name>/<window>`. */
const LOADS = [
  'messages/received',
  'messages/sent',
  'publish/received',
  'publish/sent',
  'publish/dropped',
  'bytes/received',
  'bytes/sent',
  'sockets',
  'connections',
].flatMap((name) => ['1min', '5min', '15min'].map((w) => `load/${name}/${w}`));

const sys = (name: string): string => `$SYS/broker/${name}`;
const int = (value: string): number => {
  assert.match(value, /^\d+$/, `an integer, got "${value}"`);
  return Number(value);
};

describe('$SYS topics', () => {
  let tb: TestBroker | undefined;
  const clients: MqttClient[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => endClient(c, true)));
    await tb?.close();
    tb = undefined;
  });

  async function client(options: Parameters<typeof connectClient>[1] = {}): Promise<MqttClient> {
    const c = await connectClient(tb!.url, options);
    clients.push(c);
    return c;
  }

  it('every topic arrives, retained, with a sane value', async () => {
    tb = await startBroker({ sysInterval: 1 });
    const counters = await tb.broker.admin.counters();
    const pipit = [
      ...Object.keys(counters.dropped).map((r) => `pipit/dropped/${r}`),
      ...Object.keys(counters.refused).map((k) => `pipit/refused/${k}`),
      'pipit/memory/used',
      'pipit/memory/limit',
      'pipit/connections/open',
    ];
    const watcher = await client();
    const values = new TopicValues(watcher);
    await watcher.subscribeAsync('$SYS/#', { qos: 1 });
    const all = ['version', 'uptime', ...MOSQUITTO_COUNTERS, ...LOADS, ...pipit].map(sys);
    await values.untilAll(all);
    assert.equal(values.latest.get(sys('version')), `pipit version ${VERSION}`);
    assert.match(values.latest.get(sys('uptime'))!, /^\d+ seconds$/);
    for (const name of [...MOSQUITTO_COUNTERS, ...pipit]) int(values.latest.get(sys(name))!);
    for (const name of LOADS) assert.match(values.latest.get(sys(name))!, /^\d+\.\d\d$/, name);
    assert.ok(int(values.latest.get(sys('heap/current'))!) > 0, 'heap/current');
    assert.ok(int(values.latest.get(sys('pipit/memory/limit'))!) > 0, 'memory limit');
    // Retained: a subscriber gets them at once (what it received first carries RETAIN).
    for (const topic of [sys('version'), sys('clients/total'), sys('load/bytes/sent/1min')]) {
      assert.ok(values.retained.has(topic), `${topic} retained`);
    }
    // The broker's own: listed by the read API, outside the retained count and the store.
    const listed = await tb.broker.admin.retained({ filter: '$SYS/#', limit: 1000 });
    assert.ok(listed.items.some((m) => m.topic === sys('version')));
    assert.equal((await tb.broker.admin.counters()).retainedMessages, 0);
  });

  it('values move when clients connect, publish and leave', async () => {
    tb = await startBroker({ sysInterval: 1 });
    const watcher = await client({ clientId: 'watcher' });
    const values = new TopicValues(watcher);
    await watcher.subscribeAsync('$SYS/broker/#');
    const uptime = await values.until(sys('uptime'), () => true);
    // The watcher alone, then two more clients, one of them persistent.
    await values.until(sys('clients/connected'), (v) => v === '1');
    const publisher = await client({ clientId: 'pub', protocolVersion: 5 });
    const subscriber = await client({
      clientId: 'keeper',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    await subscriber.subscribeAsync('data/#', { qos: 1 });
    await values.until(sys('clients/connected'), (v) => v === '3');
    await values.until(sys('clients/maximum'), (v) => v === '3');
    const before = int(values.latest.get(sys('publish/messages/received'))!);
    const bytesBefore = int(values.latest.get(sys('bytes/received'))!);
    for (let i = 0; i < 20; i++)
      await publisher.publishAsync(`data/${i}`, 'x'.repeat(100), { qos: 1 });
    await values.until(sys('publish/messages/received'), (v) => int(v) >= before + 20);
    await values.until(sys('publish/messages/sent'), (v) => int(v) >= 20);
    await values.until(sys('bytes/received'), (v) => int(v) >= bytesBefore + 20 * 100);
    await values.until(sys('messages/received'), (v) => int(v) > 20); // every packet counts
    await values.until(sys('subscriptions/count'), (v) => v === '2');
    await values.until(sys('load/publish/received/1min'), (v) => Number(v) > 0);
    await values.until(sys('load/connections/1min'), (v) => Number(v) > 0);
    // The persistent client leaves: it stays in the total, counted as disconnected.
    await endClient(subscriber);
    await values.until(sys('clients/disconnected'), (v) => v === '1');
    await values.until(sys('clients/total'), (v) => v === '3');
    await values.until(sys('clients/connected'), (v) => v === '2');
    assert.equal(values.latest.get(sys('clients/maximum')), '3', 'the peak stays');
    // While it is away, its QoS 1 messages queue: they are stored.
    await publisher.publishAsync('data/late', 'x', { qos: 1 });
    await values.until(sys('messages/stored'), (v) => int(v) >= 1);
    await values.until(sys('uptime'), (v) => v !== uptime);
  });

  it('publish/bytes count payload bytes, shared_subscriptions/count the $share members, connections/socket/count the sockets accepted', async () => {
    tb = await startBroker({ sysInterval: 1 });
    const watcher = await client({ clientId: 'watcher' });
    const values = new TopicValues(watcher);
    await watcher.subscribeAsync('$SYS/broker/#');
    const sockets = int(await values.until(sys('connections/socket/count'), (v) => int(v) >= 1));
    await values.until(sys('shared_subscriptions/count'), (v) => v === '0');
    const received = int(await values.until(sys('publish/bytes/received'), () => true));
    const publisher = await client({ clientId: 'pub', protocolVersion: 5 });
    const [a, b] = [await client({ protocolVersion: 5 }), await client({ protocolVersion: 5 })];
    await a.subscribeAsync(['$share/g/data/#', '$share/h/data/#', 'plain/#'], { qos: 0 });
    await b.subscribeAsync('$share/g/data/#', { qos: 0 });
    // Three members of two groups; the plain subscription is not a shared one.
    await values.until(sys('shared_subscriptions/count'), (v) => v === '3');
    await values.until(sys('subscriptions/count'), (v) => v === '5');
    await values.until(sys('connections/socket/count'), (v) => int(v) === sockets + 3);
    const sent = int(values.latest.get(sys('publish/bytes/sent'))!);
    for (let i = 0; i < 10; i++) await publisher.publishAsync('data/x', 'y'.repeat(50), { qos: 1 });
    // Payload bytes only (10 x 50): not the topics, headers or properties.
    await values.until(sys('publish/bytes/received'), (v) => int(v) === received + 500);
    // Each message went to one member of g and one of h: 2 x 500 payload bytes, plus the
    // $SYS messages the watcher got meanwhile.
    await values.until(sys('publish/bytes/sent'), (v) => int(v) >= sent + 1000);
    await b.unsubscribeAsync('$share/g/data/#');
    await values.until(sys('shared_subscriptions/count'), (v) => v === '2');
    const counters = await tb.broker.admin.counters();
    assert.equal(counters.sharedSubscriptions, 2);
    assert.equal(counters.publishBytesReceived, received + 500);
  });

  it("the broker's 'published' event does not fire for $SYS updates; 'delivered' does for a $SYS subscriber", async () => {
    tb = await startBroker({ sysInterval: 1 });
    const published: string[] = [];
    const delivered: string[] = [];
    tb.broker.on('published', (_client, message) => published.push(message.topic));
    tb.broker.on('delivered', (_clientId, message) => delivered.push(message.topic));
    const watcher = await client({ clientId: 'watcher' });
    const values = new TopicValues(watcher);
    await watcher.subscribeAsync('$SYS/broker/#');
    const uptime = await values.until(sys('uptime'), () => true);
    await watcher.publishAsync('plain/topic', 'x', { qos: 1 });
    // At least one more update after the subscription, with the client's message counted.
    await values.until(sys('uptime'), (v) => v !== uptime);
    await values.until(sys('publish/messages/received'), (v) => v === '1');
    assert.deepEqual(published, ['plain/topic'], 'only the client message is a published event');
    assert.ok(
      delivered.some((topic) => topic.startsWith('$SYS/')),
      '$SYS deliveries notify',
    );
  });

  it('an expired session counts in clients/expired', async () => {
    tb = await startBroker({ sysInterval: 1 });
    const watcher = await client();
    const values = new TopicValues(watcher);
    await watcher.subscribeAsync('$SYS/broker/clients/#');
    await values.until(sys('clients/expired'), (v) => v === '0');
    const brief = await client({
      clientId: 'brief',
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 1 },
    });
    await endClient(brief);
    await values.until(sys('clients/expired'), (v) => v === '1');
    await values.until(sys('clients/total'), (v) => v === '1');
  });

  it('[MQTT-4.7.2-1] "#" and "+/..." do not match $SYS topics', async () => {
    tb = await startBroker({ sysInterval: 1 });
    const watcher = await client();
    const values = new TopicValues(watcher);
    await watcher.subscribeAsync('$SYS/broker/uptime');
    const everything = await client();
    await everything.subscribeAsync(['#', '+/broker/#', '+/+/uptime']);
    const got = collectUntil(everything, 'done');
    const first = await values.until(sys('uptime'), () => true);
    await values.until(sys('uptime'), (v) => v !== first); // an update went out meanwhile
    await everything.publishAsync('done', '');
    const received = await got;
    assert.deepEqual(
      received.filter((m) => m.topic.startsWith('$')),
      [],
      'no $SYS message through a leading wildcard',
    );
  });

  it('[MQTT-3.3.5-2] a client cannot publish under $SYS: v5 PUBACK 0x87, v3 acknowledged and dropped, counted', async () => {
    tb = await startBroker({ sysInterval: 1 });
    const v5 = await client({ protocolVersion: 5 });
    await assert.rejects(
      v5.publishAsync('$SYS/broker/uptime', 'hacked', { qos: 1, retain: true }),
      (err: Error & { code?: number }) => err.code === 0x87,
    );
    const v3 = await client({ protocolVersion: 4 });
    await v3.publishAsync('$SYS/broker/version', 'hacked', { qos: 1, retain: true });
    await v3.publishAsync('$SYS/fake', 'hacked', { qos: 0 });
    const watcher = await client();
    const values = new TopicValues(watcher);
    await watcher.subscribeAsync(['$SYS/#']);
    await values.until(sys('pipit/refused/publish-denied'), (v) => v === '3');
    assert.equal(values.latest.get(sys('version')), `pipit version ${VERSION}`);
    assert.match(values.latest.get(sys('uptime'))!, /^\d+ seconds$/);
    assert.equal(values.latest.has('$SYS/fake'), false);
    assert.equal((await tb.broker.admin.counters()).refused['publish-denied'], 3);
  });

  it('a will under $SYS is not published', async () => {
    tb = await startBroker({ sysInterval: 1 });
    const watcher = await client();
    const values = new TopicValues(watcher);
    await watcher.subscribeAsync('$SYS/#');
    const doomed = await client({
      protocolVersion: 5,
      will: {
        topic: '$SYS/broker/clients/connected',
        payload: Buffer.from('999'),
        qos: 0,
        retain: true,
      },
    });
    doomed.stream.destroy(); // no DISCONNECT: the will falls due
    await values.until(sys('pipit/refused/publish-denied'), (v) => v === '1');
    assert.notEqual(values.latest.get(sys('clients/connected')), '999');
  });

  it('sysInterval 0 publishes nothing under $SYS', async () => {
    tb = await startBroker({ sysInterval: 0 });
    const watcher = await client();
    await watcher.subscribeAsync(['$SYS/#', 'done']);
    const got = collectUntil(watcher, 'done');
    const publisher = await client();
    await publisher.publishAsync('traffic', 'x', { qos: 1 });
    await publisher.publishAsync('done', '', { qos: 1 });
    assert.deepEqual(await got, []);
    assert.deepEqual((await tb.broker.admin.retained({ filter: '$SYS/#' })).items, []);
  });

  it('a bad sysInterval is refused with a message naming the option', () => {
    for (const bad of [-1, 86_401, Number.NaN, '10' as unknown as number]) {
      assert.throws(
        () => createBroker({ sysInterval: bad }),
        /^TypeError: sysInterval: expected a number of seconds 0-86400/,
      );
    }
  });
});
