/**
 * The hook chain as clients see it: decisions (first non-defer wins, all-defer denies),
 * transforms (onPublish, onDeliver), notifications, and hooks that throw.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokerCore, Hook } from '../../src/core/index.js';
import type { Packet, ProtocolVersion, PublishPacket, QoS } from '../../src/protocol/index.js';
import {
  createTestCore,
  FakeClient,
  flush,
  publish as sendPublish,
} from '../helpers/core-harness.js';

async function connect(core: BrokerCore, clientId: string, version: ProtocolVersion = 5) {
  const client = new FakeClient(core, version);
  client.connect({ clientId });
  await flush();
  const connack = client.received.shift();
  assert.ok(connack?.type === 'connack', 'CONNACK');
  return { client, code: connack.reasonCode };
}

async function connected(core: BrokerCore, clientId: string, version: ProtocolVersion = 5) {
  const { client, code } = await connect(core, clientId, version);
  assert.equal(code, 0);
  return client;
}

async function subscribe(client: FakeClient, filter: string, qos: QoS = 0): Promise<number> {
  client.send({
    type: 'subscribe',
    packetId: 1,
    subscriptions: [{ filter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0 }],
  });
  await flush();
  const suback = client.take().find((p) => p.type === 'suback');
  assert.ok(suback?.type === 'suback', 'SUBACK');
  return suback.reasonCodes[0]!;
}

/** Publishes through the harness (topic 't', payload 'x' by default) and lets hooks settle. */
async function publish(client: FakeClient, fields: Partial<PublishPacket> = {}): Promise<void> {
  sendPublish(client, fields);
  await flush();
}

function publishes(packets: Packet[]): PublishPacket[] {
  return packets.filter((p): p is PublishPacket => p.type === 'publish');
}

function pubackCode(client: FakeClient): number | undefined {
  const puback = client.take().find((p) => p.type === 'puback');
  assert.ok(puback?.type === 'puback', 'PUBACK');
  return puback.reasonCode;
}

describe('core hooks: decisions', () => {
  it('authenticate: the first non-defer answer wins', async () => {
    const { core } = createTestCore();
    core.addHook({ authenticate: () => 'defer' });
    core.addHook({ authenticate: (r) => (r.client.clientId === 'ok' ? 'allow' : 'deny') });
    core.addHook({ authenticate: () => 'allow' }); // never reached
    assert.equal((await connect(core, 'ok')).code, 0);
    assert.equal((await connect(core, 'no')).code, 0x86);
  });

  it('authenticate: async and sync answers chain alike (a deferring async hook passes on)', async () => {
    const { core } = createTestCore();
    const asked: string[] = [];
    core.addHook({
      authenticate: async (r) => {
        asked.push(`async ${r.client.clientId}`);
        return r.client.clientId === 'async-no' ? 'deny' : 'defer';
      },
    });
    core.addHook({
      authenticate: (r) => {
        asked.push(`sync ${r.client.clientId}`);
        return r.client.clientId === 'sync-ok' ? 'allow' : 'defer';
      },
    });
    core.addHook({
      authenticate: async (r) => ({ result: r.client.clientId === 'last-ok' ? 'allow' : 'deny' }),
    });
    assert.equal((await connect(core, 'sync-ok')).code, 0);
    assert.equal((await connect(core, 'last-ok')).code, 0);
    assert.equal((await connect(core, 'async-no')).code, 0x86);
    assert.equal((await connect(core, 'other')).code, 0x86);
    assert.deepEqual(asked, [
      'async sync-ok',
      'sync sync-ok',
      'async last-ok',
      'sync last-ok',
      'async async-no',
      'async other',
      'sync other',
    ]);
  });

  it('authenticate: hooks that answer synchronously get CONNACK written within the CONNECT', () => {
    const { core } = createTestCore();
    core.addHook({ authenticate: () => 'defer' });
    core.addHook({ authenticate: (r) => (r.closed === false ? 'allow' : 'deny') });
    const client = new FakeClient(core, 5);
    client.connect({ clientId: 'sync' });
    // No await in between: nothing on the way was asynchronous (no promise, no paused read).
    const connack = client.received.shift();
    assert.ok(connack?.type === 'connack', 'CONNACK');
    assert.equal(connack.reasonCode, 0);
  });

  it('authenticate: all-defer denies once an authenticate hook exists (v5 0x86, v3 0x04)', async () => {
    const { core } = createTestCore();
    core.addHook({ authenticate: () => 'defer' });
    const v5 = await connect(core, 'a');
    assert.equal(v5.code, 0x86);
    assert.equal(v5.client.ended, true);
    const v3 = await connect(core, 'b', 4);
    assert.equal(v3.code, 0x04);
  });

  it('authenticate: anonymous clients are refused when allowAnonymous is false and no hook exists', async () => {
    const { core } = createTestCore({ allowAnonymous: false });
    assert.equal((await connect(core, 'a')).code, 0x87);
    assert.equal((await connect(core, 'b', 4)).code, 0x05);
  });

  it('authenticate: the hook can rename the user; authorize hooks see the new name', async () => {
    const { core } = createTestCore();
    const seen: (string | undefined)[] = [];
    core.addHook({
      authenticate: () => ({ result: 'allow', username: 'alice' }),
      authorizePublish: (client) => {
        seen.push(client.username);
        return 'allow';
      },
    });
    const client = await connected(core, 'c');
    await publish(client, { qos: 1 });
    assert.deepEqual(seen, ['alice']);
  });

  it('authorizePublish deny: v5 PUBACK 0x87, message not routed', async () => {
    const { core } = createTestCore();
    core.addHook({ authorizePublish: (_c, p) => (p.topic === 'open' ? 'allow' : 'deny') });
    const sub = await connected(core, 'sub');
    await subscribe(sub, '#');
    const pub = await connected(core, 'pub');
    await publish(pub, { topic: 'closed', qos: 1 });
    assert.equal(pubackCode(pub), 0x87);
    await publish(pub, { topic: 'open', qos: 1 });
    assert.equal(pubackCode(pub) ?? 0, 0);
    assert.deepEqual(
      publishes(sub.take()).map((p) => p.topic),
      ['open'],
    );
  });

  it('[MQTT-3.3.5-2] authorizePublish deny: a 3.1.1 client gets a plain PUBACK and stays connected', async () => {
    const { core } = createTestCore();
    core.addHook({ authorizePublish: () => 'deny' });
    const pub = await connected(core, 'pub', 4);
    await publish(pub, { qos: 1 });
    assert.equal(pubackCode(pub), undefined);
    assert.equal(pub.ended, false);
  });

  it('authorizePublish sees what the PUBLISH carried: topic, payload, QoS, retain, properties (3.1.1 and 5)', async () => {
    const { core } = createTestCore();
    const seen: unknown[] = [];
    core.addHook({
      authorizePublish: (_c, p) => {
        seen.push({
          topic: p.topic,
          payload: p.payload.toString(),
          qos: p.qos,
          retain: p.retain,
          properties: p.properties,
        });
        return 'allow';
      },
    });
    const v3 = await connected(core, 'v3', 4);
    await publish(v3, { topic: 'a/b', payload: Buffer.from('one'), qos: 1, retain: true });
    const v5 = await connected(core, 'v5');
    const properties = {
      contentType: 'text/plain',
      userProperties: [['k', 'v']] as [string, string][],
    };
    await publish(v5, { topic: 'c', payload: Buffer.from('two'), qos: 0, properties });
    assert.deepEqual(seen, [
      { topic: 'a/b', payload: 'one', qos: 1, retain: true, properties: undefined },
      { topic: 'c', payload: 'two', qos: 0, retain: false, properties },
    ]);
  });

  it('authorizePublish: first non-defer wins; all-defer denies', async () => {
    const { core } = createTestCore();
    core.addHook({ authorizePublish: (_c, p) => (p.topic === 'a' ? 'allow' : 'defer') });
    core.addHook({ authorizePublish: (_c, p) => (p.topic === 'b' ? 'allow' : 'defer') });
    core.addHook({ authorizePublish: (_c, p) => (p.topic === 'a' ? 'deny' : 'defer') });
    const pub = await connected(core, 'pub');
    await publish(pub, { topic: 'a', qos: 1 });
    assert.equal(pubackCode(pub) ?? 0, 0x10, 'allowed (no subscribers)');
    await publish(pub, { topic: 'b', qos: 1 });
    assert.equal(pubackCode(pub), 0x10);
    await publish(pub, { topic: 'c', qos: 1 });
    assert.equal(pubackCode(pub), 0x87);
  });

  it('[MQTT-3.9.3-2] authorizeSubscribe deny: v5 SUBACK 0x87, v3 SUBACK 0x80', async () => {
    const { core } = createTestCore();
    core.addHook({ authorizeSubscribe: (_c, s) => (s.filter === 'ok' ? 'allow' : 'defer') });
    const v5 = await connected(core, 'v5');
    assert.equal(await subscribe(v5, 'secret', 1), 0x87);
    assert.equal(await subscribe(v5, 'ok', 1), 1);
    const v3 = await connected(core, 'v3', 4);
    assert.equal(await subscribe(v3, 'secret', 1), 0x80);
    assert.equal(await subscribe(v3, 'ok', 1), 1);
  });

  it('[MQTT-3.8.4-7] (v5) authorizeSubscribe may lower the granted QoS', async () => {
    const { core } = createTestCore();
    core.addHook({ authorizeSubscribe: () => ({ result: 'allow', qos: 0 }) });
    const client = await connected(core, 'c');
    assert.equal(await subscribe(client, 't', 2), 0);
  });

  it('a denied subscription receives nothing', async () => {
    const { core } = createTestCore();
    core.addHook({ authorizeSubscribe: () => 'deny' });
    const sub = await connected(core, 'sub');
    await subscribe(sub, '#');
    const pub = await connected(core, 'pub');
    await publish(pub);
    assert.deepEqual(publishes(sub.take()), []);
  });
});

describe('core hooks: transforms', () => {
  it('onPublish changes the message before routing (and retaining)', async () => {
    const { core, admin } = createTestCore();
    core.addHook({
      onPublish: (_c, m) => ({ ...m, payload: Buffer.from(`${m.payload.toString()}!`) }),
    });
    core.addHook({
      onPublish: (_c, m) => ({ ...m, payload: Buffer.from(`<${m.payload.toString()}>`) }),
    });
    const sub = await connected(core, 'sub');
    await subscribe(sub, 't');
    const pub = await connected(core, 'pub');
    await publish(pub, { payload: Buffer.from('hi'), retain: true });
    assert.deepEqual(
      publishes(sub.take()).map((p) => p.payload.toString()),
      ['<hi!>'],
    );
    const retained = await admin.retainedMessage('t');
    assert.equal(Buffer.from(retained!.payloadBase64, 'base64').toString(), '<hi!>');
  });

  it('onPublish returning null drops the message (acknowledged, counted)', async () => {
    const { core } = createTestCore();
    core.addHook({ onPublish: (_c, m) => (m.topic === 'drop' ? null : m) });
    const sub = await connected(core, 'sub');
    await subscribe(sub, '#');
    const pub = await connected(core, 'pub');
    await publish(pub, { topic: 'drop', qos: 1 });
    assert.equal(pubackCode(pub) ?? 0, 0);
    await publish(pub, { topic: 'keep' });
    assert.deepEqual(
      publishes(sub.take()).map((p) => p.topic),
      ['keep'],
    );
    assert.equal(core.metrics.dropped.hook, 1);
  });

  it('onDeliver drops a message for one client only', async () => {
    const { core } = createTestCore();
    core.addHook({ onDeliver: (client, m) => (client.clientId === 'muted' ? null : m) });
    const muted = await connected(core, 'muted');
    await subscribe(muted, 't');
    const other = await connected(core, 'other');
    await subscribe(other, 't');
    const pub = await connected(core, 'pub');
    await publish(pub);
    assert.equal(publishes(muted.take()).length, 0);
    assert.equal(publishes(other.take()).length, 1);
    assert.equal(core.metrics.dropped.hook, 1);
  });

  it('onDeliver changes the message for one client only', async () => {
    const { core } = createTestCore();
    core.addHook({
      onDeliver: (client, m) =>
        client.clientId === 'upper' ? { ...m, payload: Buffer.from('X') } : m,
    });
    const upper = await connected(core, 'upper');
    await subscribe(upper, 't');
    const plain = await connected(core, 'plain', 4);
    await subscribe(plain, 't');
    const pub = await connected(core, 'pub');
    await publish(pub, { payload: Buffer.from('x') });
    assert.equal(publishes(upper.take())[0]?.payload.toString(), 'X');
    assert.equal(publishes(plain.take())[0]?.payload.toString(), 'x');
  });
});

describe('core hooks: notifications', () => {
  it('fire after the fact with the client and details', async () => {
    const { core } = createTestCore();
    const events: string[] = [];
    core.addHook({
      onConnected: (c) => events.push(`connected ${c.clientId}`),
      onSubscribed: (c, subs, granted) =>
        events.push(`subscribed ${c.clientId} ${subs[0]?.filter} ${granted[0]}`),
      onUnsubscribed: (c, filters) => events.push(`unsubscribed ${c.clientId} ${filters[0]}`),
      onPublished: (c, m) => events.push(`published ${c?.clientId} ${m.topic}`),
      onDelivered: (id, m) => events.push(`delivered ${id} ${m.topic}`),
      onDropped: (id, m, reason) => events.push(`dropped ${id} ${m.topic} ${reason}`),
      onDisconnected: (c, info) => events.push(`disconnected ${c.clientId} ${info.graceful}`),
    });
    const sub = await connected(core, 'sub');
    await subscribe(sub, 't', 1);
    await publish(sub, { topic: 't' });
    sub.send({ type: 'unsubscribe', packetId: 2, filters: ['t'] });
    sub.send({ type: 'disconnect', reasonCode: 0 });
    assert.deepEqual(events, [
      'connected sub',
      'subscribed sub t 1',
      'delivered sub t',
      'published sub t',
      'unsubscribed sub t',
      'disconnected sub true',
    ]);
  });

  it('onDropped reports why a message was not delivered', async () => {
    const { core } = createTestCore();
    const drops: string[] = [];
    core.addHook({ onDropped: (id, _m, reason) => drops.push(`${id}:${reason}`) });
    const client = new FakeClient(core, 5);
    client.connect({ clientId: 'small', properties: { maximumPacketSize: 30 } });
    await subscribe(client, 't');
    const pub = await connected(core, 'pub');
    await publish(pub, { payload: Buffer.alloc(100) });
    assert.deepEqual(drops, ['small:packet-too-large']);
  });
});

describe('core hooks: a hook that throws never takes the broker down', () => {
  const throwing: [string, Hook][] = [
    [
      'authorizePublish (sync)',
      {
        authorizePublish: () => {
          throw new Error('boom');
        },
      },
    ],
    [
      'authorizePublish (async)',
      { authorizePublish: async () => Promise.reject(new Error('boom')) },
    ],
    [
      'onPublish (sync)',
      {
        onPublish: () => {
          throw new Error('boom');
        },
      },
    ],
    ['onPublish (async)', { onPublish: async () => Promise.reject(new Error('boom')) }],
  ];
  for (const [name, hook] of throwing) {
    it(`${name}: the publisher is closed with DISCONNECT 0x83, others keep working`, async () => {
      const { core, admin } = createTestCore();
      core.addHook(hook);
      const sub = await connected(core, 'sub');
      await subscribe(sub, '#');
      const pub = await connected(core, 'pub');
      await publish(pub, { qos: 1 });
      const disconnect = pub.take().find((p) => p.type === 'disconnect');
      assert.equal(disconnect?.type === 'disconnect' && disconnect.reasonCode, 0x83);
      assert.equal(pub.ended, true);
      assert.deepEqual(publishes(sub.take()), []);
      sub.send({ type: 'pingreq' });
      assert.equal(sub.take()[0]?.type, 'pingresp');
      const fresh = await connected(core, 'fresh');
      assert.equal(fresh.ended, false);
      assert.equal((await admin.counters()).connectionsOpen, 2);
    });
  }

  it('authenticate (sync and async throw): CONNACK 0x83 (v3: a refusal), then the broker accepts others', async () => {
    const { core } = createTestCore();
    core.addHook({
      authenticate: (r) => {
        if (r.client.clientId === 'sync') throw new Error('boom');
        if (r.client.clientId === 'async') return Promise.reject(new Error('boom'));
        return 'allow';
      },
    });
    const a = await connect(core, 'sync');
    assert.equal(a.code, 0x83);
    assert.equal(a.client.ended, true);
    const b = await connect(core, 'async');
    assert.equal(b.code, 0x83);
    const v3 = await connect(core, 'sync', 4);
    assert.ok(v3.code > 0 && v3.code <= 5);
    assert.equal((await connect(core, 'fine')).code, 0);
  });

  it('authorizeSubscribe throwing closes the subscriber; others still subscribe', async () => {
    const { core } = createTestCore();
    core.addHook({
      authorizeSubscribe: (c) => {
        if (c.clientId === 'bad') throw new Error('boom');
        return 'allow';
      },
    });
    const bad = await connected(core, 'bad');
    bad.send({
      type: 'subscribe',
      packetId: 1,
      subscriptions: [
        { filter: 't', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    await flush();
    const disconnect = bad.take().find((p) => p.type === 'disconnect');
    assert.equal(disconnect?.type === 'disconnect' && disconnect.reasonCode, 0x83);
    const good = await connected(core, 'good');
    assert.equal(await subscribe(good, 't'), 0);
  });

  it('onDeliver and notifications that throw are isolated: delivery goes on', async () => {
    const { core, admin } = createTestCore();
    core.addHook({
      onDeliver: () => {
        throw new Error('boom');
      },
      onConnected: () => {
        throw new Error('boom');
      },
      onSubscribed: () => {
        throw new Error('boom');
      },
      onPublished: () => {
        throw new Error('boom');
      },
      onDelivered: () => {
        throw new Error('boom');
      },
      onDisconnected: () => {
        throw new Error('boom');
      },
    });
    const sub = await connected(core, 'sub');
    await subscribe(sub, 't');
    const pub = await connected(core, 'pub');
    await publish(pub, { payload: Buffer.from('still') });
    assert.equal(publishes(sub.take())[0]?.payload.toString(), 'still');
    pub.send({ type: 'disconnect', reasonCode: 0 });
    assert.equal(pub.ended, true);
    assert.equal((await admin.counters()).connectionsOpen, 1);
  });
});
