/**
 * Hooks over real TCP with MQTT.js: authorization answers on the wire (v5 and 3.1.1), broker
 * events, and hooks that throw (sync and async) without taking the broker down.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Hook } from '../../src/index.js';
import type { TestBroker } from '../helpers/broker.js';
import { connectClient, endClient, nextMessages, startBroker, waitFor } from '../helpers/broker.js';

const V5: IClientOptions = { protocolVersion: 5 };

describe('integration: hooks', () => {
  let tb: TestBroker | undefined;
  const open: MqttClient[] = [];
  const connect = async (options: IClientOptions = {}): Promise<MqttClient> => {
    const c = await connectClient(tb!.url, options);
    open.push(c);
    return c;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => endClient(c, true)));
    await tb?.close();
    tb = undefined;
  });

  it('authorizeSubscribe deny: v5 SUBACK 0x87, 3.1.1 SUBACK 0x80; allowed filters still work', async () => {
    tb = await startBroker();
    tb.broker.addHook({
      authorizeSubscribe: (_c, s) => (s.filter.startsWith('ok/') ? 'allow' : 'deny'),
    });
    const v5 = await connect(V5);
    await assert.rejects(
      v5.subscribeAsync('secret/t', { qos: 1 }),
      (err: Error & { packet?: { granted?: number[] } }) => err.packet?.granted?.[0] === 0x87,
    );
    const v4 = await connect({ protocolVersion: 4 });
    await assert.rejects(
      v4.subscribeAsync('secret/t', { qos: 1 }),
      (err: Error & { packet?: { granted?: number[] } }) => err.packet?.granted?.[0] === 0x80,
    );
    const [granted] = await v4.subscribeAsync('ok/t', { qos: 1 });
    assert.equal(granted?.qos, 1);
    const got = nextMessages(v4, 1);
    await v5.publishAsync('ok/t', 'hello', { qos: 1 });
    assert.equal((await got)[0]!.payload.toString(), 'hello');
  });

  it('authorizePublish deny: v5 PUBACK 0x87, and the message is not routed', async () => {
    tb = await startBroker();
    tb.broker.addHook({ authorizePublish: (_c, p) => (p.topic === 'open' ? 'allow' : 'deny') });
    const sub = await connect(V5);
    await sub.subscribeAsync('#');
    const pub = await connect(V5);
    await assert.rejects(
      pub.publishAsync('closed', 'x', { qos: 1 }),
      (err: Error & { code?: number }) => err.code === 0x87,
    );
    const got = nextMessages(sub, 1);
    await pub.publishAsync('open', 'y', { qos: 1 });
    assert.equal((await got)[0]!.topic, 'open', 'the denied message never arrived');
  });

  it('authenticate: username/password checked by a hook; wrong password refused (v5 0x86, v3 0x04)', async () => {
    tb = await startBroker();
    tb.broker.addHook({
      authenticate: (r) =>
        r.client.username === 'u' && r.password?.toString() === 'p' ? 'allow' : 'deny',
    });
    await connect({ ...V5, username: 'u', password: 'p' });
    for (const [version, code] of [
      [5, 0x86],
      [4, 4],
    ] as const) {
      await assert.rejects(
        connectClient(tb.url, { protocolVersion: version, username: 'u', password: 'bad' }),
        (err: Error & { code?: number }) => err.code === code,
      );
    }
  });

  it('onPublish transform and onDeliver per-client drop over TCP', async () => {
    tb = await startBroker();
    tb.broker.addHook({
      onPublish: (_c, m) => ({ ...m, payload: Buffer.from(m.payload.toString().toUpperCase()) }),
      onDeliver: (client, m) => (client.clientId === 'muted' && m.topic === 'tr/t' ? null : m),
    });
    const muted = await connect({ ...V5, clientId: 'muted' });
    const mutedGot: string[] = [];
    muted.on('message', (_t, p) => mutedGot.push(p.toString()));
    await muted.subscribeAsync('tr/t');
    await muted.subscribeAsync('tr/marker');
    const sub = await connect(V5);
    await sub.subscribeAsync('tr/t');
    const got = nextMessages(sub, 1);
    const pub = await connect(V5);
    await pub.publishAsync('tr/t', 'shout', { qos: 1 });
    assert.equal((await got)[0]!.payload.toString(), 'SHOUT');
    const marker = nextMessages(muted, 1);
    await pub.publishAsync('tr/marker', 'm', { qos: 1 });
    await marker;
    assert.deepEqual(mutedGot, ['M'], 'the muted client got only the marker');
  });

  it('broker events fire for connect, subscribe, publish and disconnect', async () => {
    tb = await startBroker();
    const events: string[] = [];
    tb.broker.on('clientConnected', (c) => events.push(`connected:${c.clientId}`));
    tb.broker.on('subscribed', (c, subs) =>
      events.push(`subscribed:${c.clientId}:${subs[0]?.filter}`),
    );
    tb.broker.on('published', (c, m) => events.push(`published:${c?.clientId}:${m.topic}`));
    tb.broker.on('clientDisconnected', (c, info) =>
      events.push(`disconnected:${c.clientId}:${info.graceful}`),
    );
    const c = await connectClient(tb.url, { ...V5, clientId: 'ev' });
    await c.subscribeAsync('ev/t');
    await c.publishAsync('ev/t', 'x', { qos: 1 });
    await endClient(c);
    await waitFor(() => events.length === 4, 5000, 'four events');
    assert.deepEqual(events, [
      'connected:ev',
      'subscribed:ev:ev/t',
      'published:ev:ev/t',
      'disconnected:ev:true',
    ]);
  });

  const throwers: [string, Hook][] = [
    [
      'authorizePublish throws (sync)',
      {
        authorizePublish: (_c, p) => {
          if (p.topic === 'boom') throw new Error('boom');
          return 'allow';
        },
      },
    ],
    [
      'authorizePublish rejects (async)',
      {
        authorizePublish: async (_c, p) => {
          if (p.topic === 'boom') throw new Error('boom');
          return 'allow' as const;
        },
      },
    ],
    [
      'onPublish throws (sync)',
      {
        onPublish: (_c, m) => {
          if (m.topic === 'boom') throw new Error('boom');
          return m;
        },
      },
    ],
    [
      'onPublish rejects (async)',
      {
        onPublish: async (_c, m) => {
          if (m.topic === 'boom') throw new Error('boom');
          return m;
        },
      },
    ],
  ];
  for (const [name, hook] of throwers) {
    it(`${name}: the publisher gets DISCONNECT 0x83, the broker keeps serving`, async () => {
      tb = await startBroker();
      tb.broker.addHook(hook);
      const sub = await connect(V5);
      await sub.subscribeAsync('#');
      const bad = await connect(V5);
      const closed = new Promise<number | undefined>((resolve) =>
        bad.once('disconnect', (p) => resolve(p.reasonCode)),
      );
      bad.publish('boom', 'x', { qos: 1 });
      assert.equal(await closed, 0x83);
      const fresh = await connect(V5);
      const got = nextMessages(sub, 1);
      await fresh.publishAsync('fine', 'ok', { qos: 1 });
      assert.equal((await got)[0]!.topic, 'fine');
    });
  }

  it('authenticate throwing: the client is refused (0x83), the next one connects', async () => {
    tb = await startBroker();
    tb.broker.addHook({
      authenticate: async (r) => {
        if (r.client.clientId === 'boom') throw new Error('boom');
        return 'allow' as const;
      },
    });
    await assert.rejects(
      connectClient(tb.url, { ...V5, clientId: 'boom' }),
      (err: Error & { code?: number }) => err.code === 0x83,
    );
    const ok = await connect({ ...V5, clientId: 'ok' });
    assert.equal(ok.connected, true);
  });

  it('a notification listener that throws does not break delivery', async () => {
    tb = await startBroker();
    tb.broker.addHook({
      onPublished: () => {
        throw new Error('boom');
      },
      onConnected: () => {
        throw new Error('boom');
      },
    });
    const sub = await connect(V5);
    await sub.subscribeAsync('n/t');
    const got = nextMessages(sub, 1);
    const pub = mqtt.connect(tb.url, { ...V5, reconnectPeriod: 0 });
    open.push(pub);
    pub.publish('n/t', 'still');
    assert.equal((await got)[0]!.payload.toString(), 'still');
  });
});
