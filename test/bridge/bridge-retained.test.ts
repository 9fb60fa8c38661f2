/**
 * Retained messages that exist before a bridge starts, with a real mosquitto as the remote.
 * `in` rules: the bridge's subscription on the remote brings the remote's retained messages
 * [MQTT-3.3.1-6], which are then retained here. `out` rules: with `sendRetainedOnConnect` the
 * retained messages held here are sent to the remote on connecting, retained [MQTT-3.3.1-8];
 * by default (as Mosquitto) they are not.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { BridgeOptions } from '../../src/index.js';
import { connectClient, endClient, startBroker, type TestBroker } from '../helpers/broker.js';
import { connectWithInbox, Mosquitto, tempDir, waitBridge } from './remotes.js';

/** The retained messages under `filter` at `port` now, as a new subscriber gets them. */
async function retainedUnder(port: number, filter: string): Promise<Map<string, string>> {
  const { client, inbox } = await connectWithInbox(`mqtt://127.0.0.1:${port}`, {
    clientId: `look-${Math.random().toString(16).slice(2)}`,
  });
  try {
    await client.subscribeAsync(filter, { qos: 1 });
    // The retained messages come right after the SUBACK; a round trip after them.
    await client.publishAsync('look/end', 'x', { qos: 1 });
    return new Map(inbox.got.filter((m) => m.retain).map((m) => [m.topic, m.payload]));
  } finally {
    await endClient(client, true);
  }
}

/** Waits until `filter` at `port` holds exactly the retained messages `expected`. */
async function waitRetained(port: number, filter: string, expected: Record<string, string>) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const got = Object.fromEntries(await retainedUnder(port, filter));
    try {
      assert.deepEqual(got, expected);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function bridge(port: number, extra: Partial<BridgeOptions> = {}): BridgeOptions {
  return {
    name: 'ret',
    addresses: [{ host: '127.0.0.1', port }],
    clientId: 'pipit-ret',
    reconnectDelayMs: 50,
    maxReconnectDelayMs: 300,
    topics: [
      { pattern: 'up/#', direction: 'out', qos: 1, localPrefix: 'edge/', remotePrefix: 'site1/' },
      { pattern: 'down/#', direction: 'in', qos: 1, localPrefix: 'edge/', remotePrefix: 'site1/' },
    ],
    ...extra,
  };
}

/** A local broker with SQLite in `dataDir` holding retained messages, closed again. */
async function seedLocalRetained(dataDir: string): Promise<void> {
  const seed = await startBroker({ persistence: { kind: 'sqlite', dataDir } });
  const client = await connectClient(seed.url, { clientId: 'seed' });
  await client.publishAsync('edge/up/one', 'q1', { qos: 1, retain: true });
  await client.publishAsync('edge/up/zero', 'q0', { qos: 0, retain: true });
  await client.publishAsync('elsewhere/x', 'not mine', { qos: 1, retain: true });
  // A QoS 1 round trip: the QoS 0 one was handled before it.
  await client.publishAsync('edge/sync', 'x', { qos: 1 });
  await endClient(client);
  await seed.close();
}

describe('retained messages present when a bridge starts', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  async function start(options: Parameters<typeof startBroker>[0]): Promise<TestBroker> {
    const b = await startBroker(options);
    closers.push(() => b.close());
    return b;
  }

  it('[MQTT-3.3.1-6] in: the remote retained messages come in with the subscription and are retained here', async () => {
    const mosquitto = await Mosquitto.start();
    closers.push(() => mosquitto.stop());
    const remote = await connectClient(`mqtt://127.0.0.1:${mosquitto.port}`, { clientId: 'r' });
    await remote.publishAsync('site1/down/a', 'remote-a', { qos: 1, retain: true });
    await remote.publishAsync('site1/down/b/c', 'remote-bc', { qos: 0, retain: true });
    await remote.publishAsync('site1/down/sync', '', { qos: 1, retain: true });
    await endClient(remote);
    const local = await start({ bridges: [bridge(mosquitto.port)] });
    await waitBridge(local.broker, 'ret');
    await waitRetained(local.port, 'edge/down/#', {
      'edge/down/a': 'remote-a',
      'edge/down/b/c': 'remote-bc',
    });
  });

  it('[MQTT-3.3.1-8] out with sendRetainedOnConnect: the retained messages held here reach the remote, retained', async () => {
    const dataDir = tempDir('pipit-bridge-retained-');
    await seedLocalRetained(dataDir);
    const mosquitto = await Mosquitto.start();
    closers.push(() => mosquitto.stop());
    const local = await start({
      persistence: { kind: 'sqlite', dataDir },
      bridges: [bridge(mosquitto.port, { sendRetainedOnConnect: true })],
    });
    await waitBridge(local.broker, 'ret');
    await waitRetained(mosquitto.port, 'site1/up/#', {
      'site1/up/one': 'q1',
      'site1/up/zero': 'q0',
    });
  });

  it('out by default (as Mosquitto): the retained messages held here are not sent', async () => {
    const dataDir = tempDir('pipit-bridge-retained-');
    await seedLocalRetained(dataDir);
    const mosquitto = await Mosquitto.start();
    closers.push(() => mosquitto.stop());
    const local = await start({
      persistence: { kind: 'sqlite', dataDir },
      bridges: [bridge(mosquitto.port)],
    });
    await waitBridge(local.broker, 'ret');
    // A message published now goes through; the older retained ones did not go before it.
    const { client: sink, inbox } = await connectWithInbox(`mqtt://127.0.0.1:${mosquitto.port}`, {
      clientId: 'sink',
    });
    closers.push(() => endClient(sink, true));
    await sink.subscribeAsync('site1/up/#', { qos: 1 });
    const pub = await connectClient(local.url, { clientId: 'now' });
    await pub.publishAsync('edge/up/now', 'fresh', { qos: 1, retain: true });
    await endClient(pub);
    await inbox.waitFor('site1/up/now', 20_000);
    assert.deepEqual(Object.fromEntries(await retainedUnder(mosquitto.port, 'site1/up/#')), {
      'site1/up/now': 'fresh',
    });
  });
});
