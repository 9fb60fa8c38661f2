/**
 * The read API (`broker.admin`) over real connections (MQTT.js and raw clients): each list
 * returns what the test set up, paging covers every item once in a stable order while
 * clients come and go, the filters select what they name, results are plain JSON data.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { Page } from '../../src/index.js';
import type { QoS, SubscriptionRequest } from '../../src/protocol/index.js';
import {
  connectClient,
  endClient,
  startBroker,
  type TestBroker,
  waitFor,
} from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { testStoreKind } from '../helpers/test-store.js';

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

async function mqtt(url: string, options: Parameters<typeof connectClient>[1]) {
  const client = await connectClient(url, options);
  mqttClients.push(client);
  return client;
}

async function raw(
  port: number,
  clientId: string,
  fields: Parameters<typeof RawClient.connected>[3] = {},
  version: 3 | 4 | 5 = 4,
): Promise<RawClient> {
  const client = await RawClient.connected(port, version, clientId, fields);
  raws.push(client);
  return client;
}

/** Subscribes a raw client and waits for the SUBACK. */
async function subscribe(
  client: RawClient,
  filter: string,
  qos: QoS,
  options: Partial<SubscriptionRequest> = {},
  subscriptionId?: number,
): Promise<void> {
  client.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [
      { filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...options },
    ],
    properties:
      subscriptionId === undefined ? undefined : { subscriptionIdentifiers: [subscriptionId] },
  });
  await client.next('suback');
}

/** Every item of a paged list, following the cursors; also how many pages it took. */
async function allPages<T>(
  fetch: (cursor: string | undefined) => Promise<Page<T>>,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await fetch(cursor);
    pages++;
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return { items, pages };
}

/** Results are plain data: JSON keeps every field as it is. */
function assertPlainJson(value: unknown): void {
  assert.deepEqual(JSON.parse(JSON.stringify(value)), value);
}

describe('admin API: clients', () => {
  it('lists the connected clients with who they are, in client id order', async () => {
    const { url, port, broker: b } = await broker();
    const before = Date.now();
    await mqtt(url, {
      clientId: 'alpha',
      username: 'alice',
      protocolVersion: 5,
      keepalive: 30,
      properties: { sessionExpiryInterval: 120 },
    });
    await mqtt(url, { clientId: 'beta', username: 'bob', protocolVersion: 4, keepalive: 10 });
    await raw(port, 'gamma', { keepAlive: 0 }, 3);
    raws.push(await RawClient.open(port, 4)); // no CONNECT yet: not a client
    const page = await b.admin.clients();
    assertPlainJson(page);
    assert.equal(page.nextCursor, null);
    assert.deepEqual(
      page.items.map((c) => [c.clientId, c.protocolVersion, c.username, c.keepAlive]),
      [
        ['alpha', 5, 'alice', 30],
        ['beta', 4, 'bob', 10],
        ['gamma', 3, null, 0],
      ],
    );
    const alpha = page.items[0]!;
    assert.equal(alpha.usernameVerified, false, 'no authenticate hook vouched for it');
    assert.equal(alpha.address, '127.0.0.1');
    assert.equal(alpha.listener, 'tcp');
    assert.equal(alpha.sessionExpiryInterval, 120);
    assert.equal(page.items[1]!.sessionExpiryInterval, 0, 'v3.1.1 Clean Session 1');
    assert.ok(alpha.connectedAt >= before && alpha.connectedAt <= Date.now());
  });

  it('pages cover every client exactly once, in order, while clients come and go', async () => {
    const { port, broker: b } = await broker();
    const ids = Array.from({ length: 23 }, (_, i) => `c${String(i).padStart(2, '0')}`);
    const byId = new Map<string, RawClient>();
    for (const id of ids) byId.set(id, await raw(port, id));
    const first = await b.admin.clients({ limit: 5 });
    assert.deepEqual(
      first.items.map((c) => c.clientId),
      ids.slice(0, 5),
    );
    assert.ok(first.nextCursor !== null);
    // Between pages: one joins before the cursor, one after it, one not yet listed leaves.
    await raw(port, 'a-late');
    await raw(port, 'c99');
    byId.get('c10')!.destroy();
    await waitFor(async () => (await b.admin.client('c10')) === undefined, 5000, 'c10 gone');
    const rest = await allPages((cursor) =>
      b.admin.clients({ limit: 5, cursor: cursor ?? first.nextCursor! }),
    );
    const listed = [...first.items, ...rest.items].map((c) => c.clientId);
    const expected = [...ids.filter((id) => id !== 'c10'), 'c99'];
    assert.deepEqual(listed, expected, 'each once, in order; a-late joined behind the cursor');
    const whole = await allPages((cursor) => b.admin.clients({ limit: 1000, cursor }));
    assert.equal(whole.pages, 1);
    assert.equal(whole.items.length, 24);
  });

  it('filters by client id prefix, username, address and listener (combined: all hold)', async () => {
    const { url, port, broker: b } = await broker();
    const plant = await b.listen({ port: 0, host: '127.0.0.1', name: 'plant' });
    await mqtt(url, { clientId: 'dev-1', username: 'carol' });
    await mqtt(url, { clientId: 'dev-2', username: 'dave' });
    await mqtt(`mqtt://127.0.0.1:${plant.port}`, { clientId: 'dev-3', username: 'carol' });
    // Another loopback address looks like another source.
    const other = await RawClient.openFrom(port, 4, '127.0.0.7');
    raws.push(other);
    other.send({
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepAlive: 0,
      clientId: 'ops-1',
    });
    await other.next('connack');
    const ids = async (query: Parameters<typeof b.admin.clients>[0]) =>
      (await b.admin.clients(query)).items.map((c) => c.clientId);
    assert.deepEqual(await ids({ clientIdPrefix: 'dev-' }), ['dev-1', 'dev-2', 'dev-3']);
    assert.deepEqual(await ids({ username: 'carol' }), ['dev-1', 'dev-3']);
    assert.deepEqual(await ids({ address: '127.0.0.7' }), ['ops-1']);
    assert.deepEqual(await ids({ listener: 'plant' }), ['dev-3']);
    assert.deepEqual(await ids({ username: 'carol', listener: 'tcp' }), ['dev-1']);
    assert.deepEqual(await ids({ clientIdPrefix: 'nobody' }), []);
  });

  it("one client's details: subscriptions, inflight, queue depth, will; undefined when not connected", async () => {
    const { port, broker: b } = await broker();
    const sub = await raw(
      port,
      'detail',
      {
        properties: { receiveMaximum: 1, sessionExpiryInterval: 60 },
        will: {
          topic: 'will/detail',
          payload: Buffer.from('bye'),
          qos: 1,
          retain: false,
          properties: { willDelayInterval: 5 },
        },
      },
      5,
    );
    await subscribe(sub, 'd/#', 1, {}, 7);
    await subscribe(sub, 'e', 0, { noLocal: true });
    const pub = await raw(port, 'detail-pub');
    for (let i = 1; i <= 3; i++) {
      pub.send({
        type: 'publish',
        topic: 'd/x',
        payload: Buffer.alloc(10, i),
        qos: 1,
        retain: false,
        dup: false,
        packetId: i,
      });
      await pub.next('puback');
    }
    // The subscriber never acknowledges: one in flight (its Receive Maximum), two queued.
    await sub.until(() => sub.received.some((p) => p.type === 'publish'), 5000);
    const details = await b.admin.client('detail');
    assert.ok(details);
    assertPlainJson(details);
    assert.equal(details.protocolVersion, 5);
    assert.equal(details.sessionExpiryInterval, 60);
    assert.equal(details.receiveMaximum, 1);
    assert.equal(details.inflight, 1);
    assert.equal(details.queuedMessages, 2);
    assert.equal(details.queuedBytes, 20);
    assert.equal(details.retainedBacklog, 0);
    assert.equal(details.certificateIdentity, null);
    assert.equal(typeof details.outputBufferedBytes, 'number');
    assert.ok(details.lastActivity >= details.connectedAt);
    assert.deepEqual(details.will, {
      topic: 'will/detail',
      qos: 1,
      retain: false,
      payloadBytes: 3,
      delayInterval: 5,
    });
    assert.deepEqual(details.subscriptions, [
      {
        clientId: 'detail',
        filter: 'd/#',
        qos: 1,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
        subscriptionId: 7,
        shareGroup: null,
      },
      {
        clientId: 'detail',
        filter: 'e',
        qos: 0,
        noLocal: true,
        retainAsPublished: false,
        retainHandling: 0,
        subscriptionId: null,
        shareGroup: null,
      },
    ]);
    assert.equal(await b.admin.client('nobody'), undefined);
  });
});

describe('admin API: sessions and subscriptions', () => {
  it('lists sessions connected or not, with their state; filters by prefix and connection', async () => {
    const { port, broker: b } = await broker();
    const persistent = { properties: { sessionExpiryInterval: 300 } };
    await raw(port, 'online', persistent, 5);
    const offline = await raw(port, 'offline', persistent, 5);
    await subscribe(offline, 'q/#', 1);
    offline.send({ type: 'disconnect', reasonCode: 0 });
    await offline.closed;
    await raw(port, 'clean-one');
    const gone = await raw(port, 'gone', {}, 5);
    gone.send({ type: 'disconnect', reasonCode: 0 }); // expiry 0: the session ends with it
    await gone.closed;
    const pub = await raw(port, 'pub-q');
    pub.send({
      type: 'publish',
      topic: 'q/1',
      payload: Buffer.from('queued'),
      qos: 1,
      retain: false,
      dup: false,
      packetId: 1,
    });
    await pub.next('puback');
    const page = await b.admin.sessions();
    assertPlainJson(page);
    assert.deepEqual(
      page.items.map((s) => [s.clientId, s.connected, s.expiryInterval]),
      [
        ['clean-one', true, 0],
        ['offline', false, 300],
        ['online', true, 300],
        ['pub-q', true, 0],
      ],
    );
    const away = await b.admin.session('offline');
    assert.deepEqual(away, {
      clientId: 'offline',
      connected: false,
      owner: { username: null },
      expiryInterval: 300,
      stored: testStoreKind() !== 'none',
      subscriptions: 1,
      inflight: 0,
      queuedMessages: 1,
      queuedBytes: 6,
    });
    assert.equal(await b.admin.session('gone'), undefined);
    const names = async (query: Parameters<typeof b.admin.sessions>[0]) =>
      (await b.admin.sessions(query)).items.map((s) => s.clientId);
    assert.deepEqual(await names({ connected: false }), ['offline']);
    assert.deepEqual(await names({ clientIdPrefix: 'o' }), ['offline', 'online']);
    assert.deepEqual(await names({ clientIdPrefix: 'o', connected: true }), ['online']);
  });

  it('lists subscriptions by client id then filter, of one client, or of one filter; pages cover each once', async () => {
    const { port, broker: b } = await broker();
    const plan: [string, string[]][] = [
      ['s-b', ['z/#', 'a/+', '$share/g/jobs/#']],
      ['s-a', ['a/+', 'm']],
      ['s-c', ['$share/g/jobs/#']],
    ];
    for (const [id, filters] of plan) {
      const client = await raw(port, id, {}, 5);
      for (const filter of filters) await subscribe(client, filter, 1);
    }
    const every = await allPages((cursor) => b.admin.subscriptions({ limit: 2, cursor }));
    assert.equal(every.pages, 3);
    assert.deepEqual(
      every.items.map((s) => `${s.clientId} ${s.filter}`),
      ['s-a a/+', 's-a m', 's-b $share/g/jobs/#', 's-b a/+', 's-b z/#', 's-c $share/g/jobs/#'],
    );
    assertPlainJson(every.items);
    assert.equal(every.items[2]!.shareGroup, 'g');
    const ofB = await b.admin.subscriptions({ clientId: 's-b' });
    assert.deepEqual(
      ofB.items.map((s) => s.filter),
      ['$share/g/jobs/#', 'a/+', 'z/#'],
    );
    const shared = await b.admin.subscriptions({ filter: '$share/g/jobs/#' });
    assert.deepEqual(
      shared.items.map((s) => s.clientId),
      ['s-b', 's-c'],
    );
    assert.deepEqual((await b.admin.subscriptions({ clientId: 'nobody' })).items, []);
  });
});

describe('admin API: retained messages', () => {
  it('lists retained messages by topic under a filter, payloads shortened; one topic in full', async () => {
    const { url, broker: b } = await broker();
    const before = Date.now();
    const big = Buffer.alloc(1000, 7);
    const pub = await mqtt(url, { clientId: 'retainer', protocolVersion: 5 });
    await pub.publishAsync('r/b', big, {
      qos: 1,
      retain: true,
      properties: {
        contentType: 'application/octet-stream',
        messageExpiryInterval: 60,
        userProperties: { origin: 'test' },
      },
    });
    await pub.publishAsync('r/a', 'small', {
      qos: 1,
      retain: true,
      properties: { payloadFormatIndicator: true },
    });
    await b.publish({ topic: 'other/c', payload: 'c', retain: true });
    await b.publish({ topic: '$SYS/x', payload: 'sys', retain: true });
    const everything = await b.admin.retained();
    assertPlainJson(everything);
    assert.deepEqual(
      everything.items.map((m) => m.topic),
      ['other/c', 'r/a', 'r/b'],
      '[MQTT-4.7.2-1] # does not match $-topics',
    );
    assert.deepEqual(
      (await b.admin.retained({ filter: '$SYS/#' })).items.map((m) => m.topic),
      ['$SYS/x'],
    );
    const paged = await allPages((cursor) => b.admin.retained({ filter: 'r/+', limit: 1, cursor }));
    assert.equal(paged.pages, 2);
    const [a, listedB] = paged.items;
    assert.equal(a?.topic, 'r/a');
    assert.equal(Buffer.from(a!.payloadBase64, 'base64').toString(), 'small');
    assert.equal(a?.payloadIsUtf8, true);
    assert.equal(a?.publisherClientId, 'retainer');
    assert.equal(a?.expiresAt, null);
    assert.equal(listedB?.payloadBytes, 1000);
    assert.equal(listedB?.payloadTruncated, true);
    assert.deepEqual(Buffer.from(listedB!.payloadBase64, 'base64'), big.subarray(0, 256));
    const full = await b.admin.retainedMessage('r/b');
    assert.ok(full);
    assert.deepEqual(Buffer.from(full.payloadBase64, 'base64'), big);
    assert.equal(full.payloadTruncated, false);
    assert.equal(full.qos, 1);
    assert.equal(a?.qos, 1);
    assert.equal(full.contentType, 'application/octet-stream');
    assert.deepEqual(full.userProperties, [['origin', 'test']]);
    assert.ok(full.expiresAt !== null && full.expiresAt >= before + 60_000);
    assert.equal((await b.admin.retainedMessage('other/c'))?.publisherClientId, null);
    assert.equal(await b.admin.retainedMessage('r/none'), undefined);
  });
});
