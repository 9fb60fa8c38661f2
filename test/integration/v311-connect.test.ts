/**
 * MQTT 3.1 and 3.1.1 over real TCP with MQTT.js: protocol levels, client identifiers,
 * CONNACK return codes, session present, keep alive limits, takeover and wills.
 */
import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { ConnectPacket, Packet, ProtocolVersion } from '../../src/protocol/index.js';
import { Decoder, encode } from '../../src/protocol/index.js';
import {
  collectFor,
  connectClient,
  endClient,
  nextMessages,
  startBroker,
  type TestBroker,
  waitFor,
} from '../helpers/broker.js';

/** Connects and resolves with the CONNACK (return code 0) or rejects with the refusal code. */
function connectRaw(
  url: string,
  options: IClientOptions,
): Promise<{ client: MqttClient; sessionPresent: boolean }> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    client.once('connect', (connack) =>
      resolve({ client, sessionPresent: connack.sessionPresent }),
    );
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

/** Reads what the broker sends on a raw socket until it closes (or 3 s pass). */
function readUntilClose(
  socket: Socket,
  version: ProtocolVersion,
): Promise<{ packets: Packet[]; closed: boolean }> {
  return new Promise((resolve) => {
    const packets: Packet[] = [];
    const decoder = new Decoder({ protocolVersion: version });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ packets, closed: false });
    }, 3000);
    socket.on('data', (chunk) => decoder.push(chunk, (p) => packets.push(p)));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ packets, closed: true });
    });
  });
}

/** Sends one CONNECT on a raw socket (for packets MQTT.js refuses to send). */
function rawConnect(
  port: number,
  fields: Pick<ConnectPacket, 'protocolName' | 'protocolVersion' | 'clientId' | 'clean'>,
): Promise<{ packets: Packet[]; closed: boolean }> {
  const socket = createConnection({ host: '127.0.0.1', port });
  socket.write(encode({ type: 'connect', keepAlive: 0, ...fields }, fields.protocolVersion));
  return readUntilClose(socket, fields.protocolVersion);
}

/** The return code a refused CONNECT gets. */
async function refusalCode(url: string, options: IClientOptions): Promise<number | undefined> {
  try {
    const { client } = await connectRaw(url, options);
    await endClient(client, true);
    return 0;
  } catch (err) {
    return (err as { code?: number }).code;
  }
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

const v4: IClientOptions = { protocolVersion: 4 };

describe('integration v3.1.1: connect', { timeout: 60_000 }, () => {
  let b: TestBroker;
  before(async () => {
    b = await startBroker();
  });
  after(() => b.close());

  it('[MQTT31-1] [MQTT-3.1.4-4] accepts protocol level 3 (MQIsdp) and level 4 (MQTT)', async () => {
    const v31 = await connectClient(b.url, {
      protocolVersion: 3,
      protocolId: 'MQIsdp',
      clientId: 'level3',
    });
    const v311 = await connectClient(b.url, { ...v4, clientId: 'level4' });
    // Both can talk to each other.
    await v31.subscribeAsync('lv/t', { qos: 1 });
    const got = nextMessages(v31, 1);
    await v311.publishAsync('lv/t', 'hello', { qos: 1 });
    assert.equal((await got)[0]?.payload.toString(), 'hello');
    await Promise.all([endClient(v31), endClient(v311)]);
  });

  it('[MQTT-3.1.3-6] an empty client id with clean session 1 is accepted', async () => {
    const client = await connectClient(b.url, { ...v4, clientId: '', clean: true });
    await client.subscribeAsync('empty/t');
    const got = nextMessages(client, 1);
    await client.publishAsync('empty/t', 'x');
    assert.equal((await got).length, 1);
    await endClient(client);
  });

  it('[MQTT-3.1.3-8] [MQTT-3.2.2-4] an empty client id with clean session 0 is refused with 0x02', async () => {
    // MQTT.js will not send this CONNECT, so it goes over a raw socket.
    const reply = await rawConnect(b.port, {
      protocolName: 'MQTT',
      protocolVersion: 4,
      clientId: '',
      clean: false,
    });
    assert.deepEqual(reply.packets, [{ type: 'connack', sessionPresent: false, reasonCode: 0x02 }]);
    assert.equal(reply.closed, true, '[MQTT-3.2.2-5] the connection is closed');
  });

  it('[MQTT31-3] MQTT 3.1 refuses an empty client id (0x02)', async () => {
    const reply = await rawConnect(b.port, {
      protocolName: 'MQIsdp',
      protocolVersion: 3,
      clientId: '',
      clean: true,
    });
    assert.deepEqual(reply.packets, [{ type: 'connack', sessionPresent: false, reasonCode: 0x02 }]);
    assert.equal(reply.closed, true);
  });

  it('[MQTT-3.1.2-2] an unknown protocol level gets CONNACK 0x01 and is closed', async () => {
    const socket = createConnection({ host: '127.0.0.1', port: b.port });
    // CONNECT "MQTT" level 9, clean, keep alive 0, client id "a".
    socket.write(Buffer.from([0x10, 0x0d, 0, 4, 0x4d, 0x51, 0x54, 0x54, 9, 2, 0, 0, 0, 1, 0x61]));
    const reply = await readUntilClose(socket, 4);
    assert.deepEqual(reply.packets, [{ type: 'connack', sessionPresent: false, reasonCode: 0x01 }]);
    assert.equal(reply.closed, true);
  });

  it('[MQTT-3.2.2-5] refused CONNECTs get 0x04 (bad password) or 0x05 (not authorized) and are closed', async () => {
    const other = await startBroker();
    other.broker.addHook({
      authenticate: ({ client }) =>
        client.username === 'banned' ? { result: 'deny', reasonCode: 0x87 } : 'deny',
    });
    try {
      assert.equal(await refusalCode(other.url, { ...v4, clientId: 'nope', username: 'u' }), 0x04);
      assert.equal(
        await refusalCode(other.url, { ...v4, clientId: 'nope', username: 'banned' }),
        0x05,
      );
      await waitFor(
        async () => (await other.broker.admin.counters()).connectionsOpen === 0,
        5000,
        'connections closed',
      );
    } finally {
      await other.close();
    }
  });

  it('[MQTT-3.2.2-1] [MQTT-3.2.2-2] session present is 0 for clean session, 1 for a resumed session', async () => {
    const first = await connectRaw(b.url, { ...v4, clientId: 'sp', clean: false });
    assert.equal(first.sessionPresent, false);
    await endClient(first.client);
    const second = await connectRaw(b.url, { ...v4, clientId: 'sp', clean: false });
    assert.equal(second.sessionPresent, true);
    await endClient(second.client);
    const clean = await connectRaw(b.url, { ...v4, clientId: 'sp', clean: true });
    assert.equal(clean.sessionPresent, false);
    await endClient(clean.client);
  });

  it('refuses a v3.1.1 keep alive above maxKeepAlive (0x02), as Mosquitto does', async () => {
    const capped = await startBroker({ maxKeepAlive: 30 });
    try {
      assert.equal(await refusalCode(capped.url, { ...v4, clientId: 'ka', keepalive: 60 }), 0x02);
      assert.equal(await refusalCode(capped.url, { ...v4, clientId: 'ka', keepalive: 20 }), 0);
    } finally {
      await capped.close();
    }
  });

  it('[MQTT-3.1.0-2] a second CONNECT closes the connection', async () => {
    const client = await connectClient(b.url, { ...v4, clientId: 'twice' });
    const done = closed(client);
    client.stream.write(
      Buffer.from([0x10, 0x0d, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 0, 0, 1, 0x61]),
    );
    await done;
    await endClient(client, true);
  });

  it('[MQTT-3.1.4-2] takeover: the old connection is closed and the new one keeps the session', async () => {
    const watcher = await connectClient(b.url, { ...v4, clientId: 'to-watch' });
    await watcher.subscribeAsync('to/will', { qos: 1 });
    const old = await connectClient(b.url, {
      ...v4,
      clientId: 'to',
      clean: false,
      will: { topic: 'to/will', payload: Buffer.from('taken'), qos: 1, retain: false },
    });
    await old.subscribeAsync('to/data', { qos: 1 });
    const oldClosed = closed(old);
    const will = nextMessages(watcher, 1);
    const fresh = await connectRaw(b.url, { ...v4, clientId: 'to', clean: false });
    await oldClosed;
    assert.equal(fresh.sessionPresent, true);
    assert.equal(
      (await will)[0]?.payload.toString(),
      'taken',
      'the will of the taken over connection',
    );
    const data = nextMessages(fresh.client, 1);
    await watcher.publishAsync('to/data', 'still subscribed', { qos: 1 });
    assert.equal((await data)[0]?.payload.toString(), 'still subscribed');
    await Promise.all([endClient(fresh.client), endClient(watcher), endClient(old, true)]);
  });

  it('[MQTT-3.1.2-8] the will is published when the socket is destroyed', async () => {
    const watcher = await connectClient(b.url, { ...v4, clientId: 'w1' });
    await watcher.subscribeAsync('will/+', { qos: 2 });
    const dying = await connectClient(b.url, {
      ...v4,
      clientId: 'dying',
      will: { topic: 'will/dying', payload: Buffer.from('bye'), qos: 2, retain: false },
    });
    const got = nextMessages(watcher, 1);
    dying.stream.destroy();
    const [msg] = await got;
    assert.equal(msg?.topic, 'will/dying');
    assert.equal(msg?.payload.toString(), 'bye');
    assert.equal(msg?.packet.qos, 2, 'will QoS');
    await endClient(watcher);
    await endClient(dying, true);
  });

  it('[MQTT-3.1.2-10] no will after DISCONNECT', async () => {
    const watcher = await connectClient(b.url, { ...v4, clientId: 'w2' });
    await watcher.subscribeAsync('will2/+');
    const polite = await connectClient(b.url, {
      ...v4,
      clientId: 'polite',
      will: { topic: 'will2/polite', payload: Buffer.from('bye'), qos: 0, retain: false },
    });
    await endClient(polite);
    assert.deepEqual(await collectFor(watcher, 100), []);
    await endClient(watcher);
  });

  it('[MQTT-3.1.2-17] a retained will is kept for later subscribers', async () => {
    const dying = await connectClient(b.url, {
      ...v4,
      clientId: 'rw',
      will: { topic: 'rwill/rw', payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    const gone = closed(dying);
    dying.stream.destroy();
    await gone;
    await waitFor(
      async () => (await b.broker.admin.retainedMessage('rwill/rw')) !== undefined,
      5000,
      'retained will',
    );
    const later = await connectClient(b.url, { ...v4, clientId: 'rw-later' });
    const got = nextMessages(later, 1);
    await later.subscribeAsync('rwill/+', { qos: 1 });
    const [msg] = await got;
    assert.equal(msg?.payload.toString(), 'offline');
    assert.equal(msg?.packet.retain, true);
    await endClient(later);
  });

  it('several brokers in one process share no state', async () => {
    const other = await startBroker();
    try {
      const a = await connectClient(b.url, { ...v4, clientId: 'same-id' });
      const c = await connectClient(other.url, { ...v4, clientId: 'same-id' });
      // Same client id on both: no takeover across brokers, no shared retained store.
      await a.subscribeAsync('iso/t');
      await c.publishAsync('iso/t', 'other broker', { qos: 1, retain: true });
      assert.deepEqual(await collectFor(a, 100), []);
      assert.equal((await other.broker.admin.counters()).retainedMessages, 1);
      assert.equal(await b.broker.admin.retainedMessage('iso/t'), undefined);
      assert.equal(a.connected && c.connected, true);
      await Promise.all([endClient(a), endClient(c)]);
    } finally {
      await other.close();
    }
  });
});
