/**
 * The read API (`broker.admin`) on sessions (connected or not), subscriptions and retained
 * messages, over real connections: each list returns what the test set up, in its order,
 * paged and filtered; results are plain JSON data.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminFixture, allPages, assertPlainJson, subscribeRaw } from '../helpers/admin-fixture.js';
import { testStoreKind } from '../helpers/test-store.js';

const fixture = adminFixture();

describe('admin API: sessions and subscriptions', () => {
  it('lists sessions connected or not, with their state; filters by prefix and connection', async () => {
    const { port, broker: b } = await fixture.broker();
    const persistent = { properties: { sessionExpiryInterval: 300 } };
    await fixture.raw(port, 'online', persistent, 5);
    const offline = await fixture.raw(port, 'offline', persistent, 5);
    await subscribeRaw(offline, 'q/#', 1);
    offline.send({ type: 'disconnect', reasonCode: 0 });
    await offline.closed;
    await fixture.raw(port, 'clean-one');
    const gone = await fixture.raw(port, 'gone', {}, 5);
    gone.send({ type: 'disconnect', reasonCode: 0 }); // expiry 0: the session ends with it
    await gone.closed;
    const pub = await fixture.raw(port, 'pub-q');
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
    const { port, broker: b } = await fixture.broker();
    const plan: [string, string[]][] = [
      ['s-b', ['z/#', 'a/+', '$share/g/jobs/#']],
      ['s-a', ['a/+', 'm']],
      ['s-c', ['$share/g/jobs/#']],
    ];
    for (const [id, filters] of plan) {
      const client = await fixture.raw(port, id, {}, 5);
      for (const filter of filters) await subscribeRaw(client, filter, 1);
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
    // No $SYS tree of the broker's own: the lists hold only what the test retains.
    const { url, broker: b } = await fixture.broker({ sysInterval: 0 });
    const before = Date.now();
    const big = Buffer.alloc(1000, 7);
    const pub = await fixture.mqtt(url, { clientId: 'retainer', protocolVersion: 5 });
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
