/**
 * The read API (`broker.admin`) on connected clients, over real connections (MQTT.js and raw
 * clients): the list returns what the test set up, paging covers every client once in a
 * stable order while clients come and go, the filters select what they name, one client's
 * details match its session, results are plain JSON data.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminFixture, allPages, assertPlainJson, subscribeRaw } from '../helpers/admin-fixture.js';
import { waitFor } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const fixture = adminFixture();

describe('admin API: clients', () => {
  it('lists the connected clients with who they are, in client id order', async () => {
    const { url, port, broker: b } = await fixture.broker();
    const before = Date.now();
    await fixture.mqtt(url, {
      clientId: 'alpha',
      username: 'alice',
      protocolVersion: 5,
      keepalive: 30,
      properties: { sessionExpiryInterval: 120 },
    });
    await fixture.mqtt(url, {
      clientId: 'beta',
      username: 'bob',
      protocolVersion: 4,
      keepalive: 10,
    });
    await fixture.raw(port, 'gamma', { keepAlive: 0 }, 3);
    fixture.track(await RawClient.open(port, 4)); // no CONNECT yet: not a client
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
    const { port, broker: b } = await fixture.broker();
    const ids = Array.from({ length: 23 }, (_, i) => `c${String(i).padStart(2, '0')}`);
    const byId = new Map<string, RawClient>();
    for (const id of ids) byId.set(id, await fixture.raw(port, id));
    const first = await b.admin.clients({ limit: 5 });
    assert.deepEqual(
      first.items.map((c) => c.clientId),
      ids.slice(0, 5),
    );
    assert.ok(first.nextCursor !== null);
    // Between pages: one joins before the cursor, one after it, one not yet listed leaves.
    await fixture.raw(port, 'a-late');
    await fixture.raw(port, 'c99');
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
    const { url, port, broker: b } = await fixture.broker();
    const plant = await b.listen({ port: 0, host: '127.0.0.1', name: 'plant' });
    await fixture.mqtt(url, { clientId: 'dev-1', username: 'carol' });
    await fixture.mqtt(url, { clientId: 'dev-2', username: 'dave' });
    await fixture.mqtt(`mqtt://127.0.0.1:${plant.port}`, { clientId: 'dev-3', username: 'carol' });
    // Another loopback address looks like another source.
    const other = fixture.track(await RawClient.openFrom(port, 4, '127.0.0.7'));
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
    const { port, broker: b } = await fixture.broker();
    const sub = await fixture.raw(
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
    await subscribeRaw(sub, 'd/#', 1, {}, 7);
    await subscribeRaw(sub, 'e', 0, { noLocal: true });
    const pub = await fixture.raw(port, 'detail-pub');
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
