/**
 * Bridges with a real mosquitto as the remote (MQTT 3.1.1): each direction at QoS 0/1/2 with
 * prefixes, the bridge flag that keeps a `both` rule from looping, the state on `$SYS`, and
 * a remote restart in the middle of a stream that loses nothing a local client got an ack for.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { BridgeOptions } from '../../src/index.js';
import { connectClient, endClient, startBroker, type TestBroker } from '../helpers/broker.js';
import { Inbox, Mosquitto, waitBridge } from './remotes.js';

/** The bridge of these tests, towards mosquitto on `port`. */
function bridgeTo(port: number, name: string, extra: Partial<BridgeOptions> = {}): BridgeOptions {
  return {
    name,
    addresses: [{ host: '127.0.0.1', port }],
    clientId: `pipit-${name}`,
    reconnectDelayMs: 50,
    maxReconnectDelayMs: 300,
    topics: [
      { pattern: 'up/#', direction: 'out', qos: 2, localPrefix: 'edge/', remotePrefix: 'site1/' },
      { pattern: 'down/#', direction: 'in', qos: 2, localPrefix: 'edge/', remotePrefix: 'site1/' },
      { pattern: `chat-${name}/#`, direction: 'both', qos: 1 },
    ],
    ...extra,
  };
}

describe('bridge to a real mosquitto (MQTT 3.1.1)', () => {
  let mosquitto: Mosquitto;
  let local: TestBroker;
  let localClient: MqttClient;
  let remoteClient: MqttClient;

  before(async () => {
    mosquitto = await Mosquitto.start();
    local = await startBroker({ bridges: [bridgeTo(mosquitto.port, 'm1')] });
    await waitBridge(local.broker, 'm1');
    localClient = await connectClient(local.url, { clientId: 'local-app' });
    remoteClient = await connectClient(`mqtt://127.0.0.1:${mosquitto.port}`, {
      clientId: 'remote-app',
    });
  });

  after(async () => {
    await endClient(localClient, true);
    await endClient(remoteClient, true);
    await local.close();
    await mosquitto.stop();
  });

  it('[MQTT-7.0.0-1] out: local edge/up/... reaches mosquitto as site1/up/... at QoS 0, 1 and 2', async () => {
    await remoteClient.subscribeAsync('site1/up/#', { qos: 2 });
    const inbox = new Inbox(remoteClient);
    for (const qos of [0, 1, 2] as const) {
      await localClient.publishAsync(`edge/up/q${qos}`, `out-${qos}`, { qos });
    }
    await inbox.waitFor('site1/up/q2');
    await inbox.waitFor('site1/up/q0');
    await inbox.waitFor('site1/up/q1');
    for (const qos of [0, 1, 2]) {
      const [m] = inbox.on(`site1/up/q${qos}`);
      assert.equal(m?.payload, `out-${qos}`);
      assert.equal(m?.qos, qos, `QoS ${qos} kept across the bridge`);
    }
    await remoteClient.unsubscribeAsync('site1/up/#');
  });

  it('in: mosquitto site1/down/... reaches local subscribers as edge/down/... at QoS 0, 1 and 2', async () => {
    await localClient.subscribeAsync('edge/down/#', { qos: 2 });
    const inbox = new Inbox(localClient);
    for (const qos of [0, 1, 2] as const) {
      await remoteClient.publishAsync(`site1/down/q${qos}`, `in-${qos}`, { qos });
    }
    for (const qos of [0, 1, 2]) await inbox.waitFor(`edge/down/q${qos}`);
    for (const qos of [0, 1, 2]) {
      const [m] = inbox.on(`edge/down/q${qos}`);
      assert.equal(m?.payload, `in-${qos}`);
      assert.equal(m?.qos, qos);
    }
    const status = local.broker.bridges()[0]!;
    assert.ok(status.messagesIn >= 3, JSON.stringify(status));
    await localClient.unsubscribeAsync('edge/down/#');
  });

  it('the state is retained on $SYS/broker/connection/<name>/state: 1 while connected', async () => {
    const watcher = await connectClient(local.url, { clientId: 'state-watcher' });
    const inbox = new Inbox(watcher);
    await watcher.subscribeAsync('$SYS/broker/connection/m1/state', { qos: 1 });
    await inbox.waitFor('$SYS/broker/connection/m1/state');
    assert.equal(inbox.got[0]?.payload, '1');
    assert.equal(inbox.got[0]?.retain, true);
    await endClient(watcher, true);
  });
});

describe('a both rule towards mosquitto does not loop', () => {
  /**
   * Publishes chat/a here and chat/b on mosquitto, then a marker on each side after the
   * other; returns what each side's subscriber received before its marker (an echo of a
   * message through the bridge comes before the marker, on the same ordered connection).
   */
  async function exchange(name: string, tryPrivate: boolean) {
    const mosquitto = await Mosquitto.start();
    const local = await startBroker({ bridges: [bridgeTo(mosquitto.port, name, { tryPrivate })] });
    try {
      await waitBridge(local.broker, name);
      const topic = `chat-${name}`;
      const here = await connectClient(local.url, { clientId: `${name}-here` });
      const there = await connectClient(`mqtt://127.0.0.1:${mosquitto.port}`, {
        clientId: `${name}-there`,
      });
      await here.subscribeAsync(`${topic}/#`, { qos: 1 });
      await there.subscribeAsync(`${topic}/#`, { qos: 1 });
      const hereInbox = new Inbox(here);
      const thereInbox = new Inbox(there);
      await here.publishAsync(`${topic}/a`, 'a', { qos: 1 });
      await thereInbox.waitFor(`${topic}/a`);
      await there.publishAsync(`${topic}/b`, 'b', { qos: 1 });
      await hereInbox.waitFor(`${topic}/b`);
      await there.publishAsync(`${topic}/marker-there`, 'm', { qos: 1 });
      await hereInbox.waitFor(`${topic}/marker-there`);
      await here.publishAsync(`${topic}/marker-here`, 'm', { qos: 1 });
      await thereInbox.waitFor(`${topic}/marker-here`);
      const before = (inbox: Inbox, marker: string) =>
        inbox.got
          .slice(
            0,
            inbox.got.findIndex((m) => m.topic === `${topic}/${marker}`),
          )
          .map((m) => m.topic.slice(topic.length + 1))
          .filter((t) => !t.startsWith('marker'))
          .sort();
      const result = {
        here: before(hereInbox, 'marker-there'),
        there: before(thereInbox, 'marker-here'),
      };
      await endClient(here, true);
      await endClient(there, true);
      return result;
    } finally {
      await local.close();
      await mosquitto.stop();
    }
  }

  it('with the bridge flag (protocol level | 0x80) each side gets each message once', async () => {
    const seen = await exchange('flag', true);
    assert.deepEqual(seen.here, ['a', 'b']);
    assert.deepEqual(seen.there, ['a', 'b']);
  });

  it('without it mosquitto echoes a local message once (No Local on the local side stops it there)', async () => {
    const seen = await exchange('noflag', false);
    assert.deepEqual(seen.here, ['a', 'a', 'b'], 'the echo the flag prevents');
    assert.deepEqual(seen.there, ['a', 'b']);
  });
});

describe('a mosquitto restart in the middle of a stream', () => {
  it('loses nothing a local publisher got a PUBACK for (QoS 1, 300 messages)', async () => {
    const mosquitto = await Mosquitto.start();
    const local = await startBroker({ bridges: [bridgeTo(mosquitto.port, 'rs')] });
    const sinkOptions = { clientId: 'sink', clean: false, reconnectPeriod: 50 } as const;
    const sink = await connectClient(`mqtt://127.0.0.1:${mosquitto.port}`, sinkOptions);
    try {
      await sink.subscribeAsync('site1/up/stream/#', { qos: 1 });
      const inbox = new Inbox(sink);
      await waitBridge(local.broker, 'rs');
      const publisher = await connectClient(local.url, { clientId: 'stream-pub' });
      const total = 300;
      for (let i = 0; i < total; i++) {
        if (i === total / 2) await mosquitto.restart();
        await publisher.publishAsync(`edge/up/stream/${i % 7}`, String(i), { qos: 1 });
      }
      await endClient(publisher, true);
      await waitUntilAll(inbox, total, () =>
        JSON.stringify({ bridge: local.broker.bridges()[0], mosquitto: mosquitto.output }),
      );
      const status = local.broker.bridges()[0]!;
      assert.ok(status.reconnects >= 1, `the bridge reconnected: ${JSON.stringify(status)}`);
    } finally {
      await endClient(sink, true);
      await local.close();
      await mosquitto.stop();
    }
  });
});

/** Waits until `inbox` holds payloads 0..total-1 (duplicates allowed at QoS 1). */
async function waitUntilAll(inbox: Inbox, total: number, state?: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (inbox.distinct('site1/up/stream/').size < total) {
    if (Date.now() > deadline) {
      const got = inbox.distinct('site1/up/stream/');
      const missing = [...Array(total).keys()].filter((i) => !got.has(String(i)));
      assert.fail(
        `missing ${missing.length} of ${total}: ${missing.slice(0, 20).join(',')}; ${state?.() ?? ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
