/**
 * MQTT 5 connection life over real TCP with MQTT.js: assigned client ids, CONNACK reason
 * codes, session present and expiry, Server Keep Alive, takeover, DISCONNECT reason codes
 * and wills, and broker shutdown.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import {
  collectFor,
  connectClient,
  endClient,
  nextMessages,
  startBroker,
  type TestBroker,
  waitFor,
} from '../helpers/broker.js';

const v5: IClientOptions = { protocolVersion: 5 };

/** Connects and resolves with the client and its CONNACK, or rejects with the refusal code. */
function connect5(
  url: string,
  options: IClientOptions,
): Promise<{ client: MqttClient; connack: IConnackPacket }> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...v5,
      ...options,
    });
    client.once('connect', (connack) => resolve({ client, connack }));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

async function refusalCode(url: string, options: IClientOptions): Promise<number | undefined> {
  try {
    const { client } = await connect5(url, options);
    await endClient(client, true);
    return 0;
  } catch (err) {
    return (err as { code?: number }).code;
  }
}

/** Resolves with the reason code of the DISCONNECT the server sends, once the socket closed. */
function serverDisconnect(client: MqttClient): Promise<number | undefined> {
  return new Promise((resolve) => {
    let code: number | undefined;
    client.once('disconnect', (packet) => {
      code = packet.reasonCode;
    });
    client.once('close', () => resolve(code));
  });
}

describe('integration v5: connect and sessions', { timeout: 60_000 }, () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker();
  });
  after(() => b.close());

  it('[MQTT-3.1.3-6] [MQTT-3.2.2-16] an empty client id is assigned and returned in CONNACK', async () => {
    const { client, connack } = await connect5(b.url, { clientId: '' });
    const assigned = connack.properties?.assignedClientIdentifier;
    assert.ok(assigned && assigned.length > 0);
    assert.notEqual(await b.broker.admin.session(assigned), undefined);
    await endClient(client);
  });

  it('[MQTT-3.2.2-7] CONNACK carries the refusal reason code (0x86, 0x87) and the connection closes', async () => {
    const other = await startBroker();
    other.broker.addHook({
      authenticate: ({ client }) =>
        client.username === 'banned' ? { result: 'deny', reasonCode: 0x87 } : 'deny',
    });
    try {
      assert.equal(await refusalCode(other.url, { clientId: 'x', username: 'u' }), 0x86);
      assert.equal(await refusalCode(other.url, { clientId: 'x', username: 'banned' }), 0x87);
      await waitFor(
        async () => (await other.broker.admin.counters()).connectionsOpen === 0,
        5000,
        'connections closed',
      );
    } finally {
      await other.close();
    }
  });

  it('[MQTT-3.2.2-2] [MQTT-3.2.2-3] session present follows clean start and the stored session', async () => {
    const opts = { clientId: 'sp5', clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await connect5(b.url, opts);
    assert.equal(first.connack.sessionPresent, false);
    await first.client.subscribeAsync('sp5/t', { qos: 1 });
    await endClient(first.client);
    const second = await connect5(b.url, opts);
    assert.equal(second.connack.sessionPresent, true);
    const got = nextMessages(second.client, 1);
    await b.broker.publish({ topic: 'sp5/t', payload: 'kept', qos: 1 });
    assert.equal((await got)[0]?.payload.toString(), 'kept', 'the subscription was kept');
    await endClient(second.client);
    const fresh = await connect5(b.url, { ...opts, clean: true });
    assert.equal(fresh.connack.sessionPresent, false);
    await endClient(fresh.client);
  });

  it('[MQTT-3.1.2-23] a session expiry longer than 24.8 days keeps the session after the disconnect', async () => {
    // 30 days in ms exceeds a Node timer's 2^31-1 ms range: the timer must not fire at once.
    const opts = {
      clientId: 'long-expiry',
      clean: false,
      properties: { sessionExpiryInterval: 30 * 24 * 3600 },
    };
    const first = await connect5(b.url, opts);
    await first.client.subscribeAsync('long/t', { qos: 1 });
    await endClient(first.client);
    await new Promise((r) => setTimeout(r, 50)); // let a wrongly clamped 1 ms timer fire
    const second = await connect5(b.url, opts);
    assert.equal(second.connack.sessionPresent, true);
    await endClient(second.client);
  });

  it('[MQTT-3.2.2-21] Server Keep Alive replaces a keep alive above maxKeepAlive (and 0)', async () => {
    const capped = await startBroker({ maxKeepAlive: 30 });
    try {
      const high = await connect5(capped.url, { clientId: 'ka-high', keepalive: 120 });
      assert.equal(high.connack.properties?.serverKeepAlive, 30);
      const zero = await connect5(capped.url, { clientId: 'ka-zero', keepalive: 0 });
      assert.equal(zero.connack.properties?.serverKeepAlive, 30);
      const low = await connect5(capped.url, { clientId: 'ka-low', keepalive: 10 });
      assert.equal(low.connack.properties?.serverKeepAlive, undefined);
      await Promise.all([high.client, zero.client, low.client].map((c) => endClient(c)));
    } finally {
      await capped.close();
    }
  });

  it('[MQTT-3.1.4-3] takeover: the old connection gets DISCONNECT 0x8E and the new one the session', async () => {
    const opts = { clientId: 'take5', clean: false, properties: { sessionExpiryInterval: 60 } };
    const old = await connect5(b.url, opts);
    await old.client.subscribeAsync('take5/t', { qos: 1 });
    const oldGone = serverDisconnect(old.client);
    const fresh = await connect5(b.url, opts);
    assert.equal(await oldGone, 0x8e);
    assert.equal(fresh.connack.sessionPresent, true);
    const got = nextMessages(fresh.client, 1);
    await b.broker.publish({ topic: 'take5/t', payload: 'moved', qos: 1 });
    assert.equal((await got)[0]?.payload.toString(), 'moved');
    await endClient(fresh.client);
    await endClient(old.client, true);
  });

  it('[MQTT-3.1.4-3] takeover with clean start 1: the old session is discarded', async () => {
    const old = await connect5(b.url, {
      clientId: 'take5c',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await old.client.subscribeAsync('take5c/t', { qos: 1 });
    const oldGone = serverDisconnect(old.client);
    const fresh = await connect5(b.url, { clientId: 'take5c', clean: true });
    assert.equal(await oldGone, 0x8e);
    assert.equal(fresh.connack.sessionPresent, false);
    const got = collectFor(fresh.client, 100);
    await b.broker.publish({ topic: 'take5c/t', payload: 'x', qos: 1 });
    assert.deepEqual(await got, []);
    await endClient(fresh.client);
    await endClient(old.client, true);
  });

  it('[MQTT-3.1.0-2] a second CONNECT gets DISCONNECT 0x82', async () => {
    const { client } = await connect5(b.url, { clientId: 'twice5' });
    const gone = serverDisconnect(client);
    // CONNECT v5: "MQTT" level 5, clean, keep alive 0, no properties, client id "a".
    client.stream.write(
      Buffer.from([0x10, 0x0e, 0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 2, 0, 0, 0, 0, 1, 0x61]),
    );
    assert.equal(await gone, 0x82);
    await endClient(client, true);
  });

  it('[MQTT-3.14.4-3] DISCONNECT 0x00 discards the will; 0x04 publishes it', async () => {
    const watcher = await connectClient(b.url, { ...v5, clientId: 'w5' });
    await watcher.subscribeAsync('will5/#', { qos: 1 });
    const will = { topic: 'will5/x', payload: Buffer.from('w'), qos: 1 as const, retain: false };
    const normal = await connect5(b.url, { clientId: 'd0', will });
    const none = collectFor(watcher, 150);
    await new Promise<void>((r) => normal.client.end(false, { reasonCode: 0 }, () => r()));
    assert.deepEqual(await none, []);
    const withWill = await connect5(b.url, { clientId: 'd4', will });
    const got = nextMessages(watcher, 1);
    await new Promise<void>((r) => withWill.client.end(false, { reasonCode: 0x04 }, () => r()));
    assert.equal((await got)[0]?.topic, 'will5/x');
    await endClient(watcher);
  });

  it('[MQTT-3.1.2-8] the will is published when the socket is destroyed, with its properties', async () => {
    const watcher = await connectClient(b.url, { ...v5, clientId: 'w5b' });
    await watcher.subscribeAsync('will5b/#', { qos: 2 });
    const dying = await connect5(b.url, {
      clientId: 'dying5',
      will: {
        topic: 'will5b/x',
        payload: Buffer.from('bye'),
        qos: 2,
        retain: false,
        properties: { contentType: 'text/plain', userProperties: { k: 'v' } },
      },
    });
    const got = nextMessages(watcher, 1);
    dying.client.stream.destroy();
    const [msg] = await got;
    assert.equal(msg?.packet.qos, 2);
    assert.equal(msg?.packet.properties?.contentType, 'text/plain');
    assert.deepEqual({ ...msg?.packet.properties?.userProperties }, { k: 'v' });
    await endClient(watcher);
    await endClient(dying.client, true);
  });

  it('[MQTT-3.1.3-9] a will with a Will Delay Interval is sent when the session (expiry 0) ends', async () => {
    const watcher = await connectClient(b.url, { ...v5, clientId: 'w5c' });
    await watcher.subscribeAsync('will5c/#', { qos: 1 });
    const dying = await connect5(b.url, {
      clientId: 'dying5c',
      will: {
        topic: 'will5c/x',
        payload: Buffer.from('late'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 3600 },
      },
    });
    const got = nextMessages(watcher, 1);
    dying.client.stream.destroy();
    const [msg] = await got;
    assert.equal(msg?.payload.toString(), 'late');
    assert.equal(
      (msg?.packet.properties as Record<string, unknown> | undefined)?.willDelayInterval,
      undefined,
    );
    await endClient(watcher);
    await endClient(dying.client, true);
  });

  it('DISCONNECT setting a session expiry after connecting with 0 is a protocol error', async () => {
    const { client } = await connect5(b.url, { clientId: 'raise', clean: false });
    const gone = serverDisconnect(client);
    // DISCONNECT 0x00 with Session Expiry Interval 30, written raw (MQTT.js is closing otherwise).
    client.stream.write(Buffer.from([0xe0, 0x07, 0x00, 0x05, 0x11, 0, 0, 0, 30]));
    assert.equal(await gone, 0x82);
    await waitFor(
      async () => (await b.broker.admin.session('raise')) === undefined,
      5000,
      'session ended',
    );
    await endClient(client, true);
  });

  it('broker.close() sends v5 clients DISCONNECT 0x8B', async () => {
    const own = await startBroker();
    const { client } = await connect5(own.url, { clientId: 'bye' });
    const gone = serverDisconnect(client);
    await own.close();
    assert.equal(await gone, 0x8b);
    await endClient(client, true);
  });
});
