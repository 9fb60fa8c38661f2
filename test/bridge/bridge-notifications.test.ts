/**
 * A bridge's state on the remote, as Mosquitto's remote notifications: `1` retained on the
 * notification topic once connected, `0` from the will when the bridge's process dies
 * (`kill -9` of `pipit broker`), `0` from the bridge itself on a clean stop; and the local
 * `$SYS/broker/connection/<name>/state` as before. The remote is a real mosquitto 2.0, which
 * lets clients write `$SYS/broker/connection/+/state` (Mosquitto's default topic).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connectClient, endClient, startBroker } from '../helpers/broker.js';
import { LoadBroker } from '../hostile/load/harness.js';
import { connectWithInbox, Mosquitto, waitBridge } from './remotes.js';

/** The retained value of `topic` on the broker at `port` now (a new subscriber's view). */
async function retainedAt(port: number, topic: string): Promise<string | undefined> {
  const { client, inbox } = await connectWithInbox(`mqtt://127.0.0.1:${port}`, {
    clientId: `look-${Math.random().toString(16).slice(2)}`,
  });
  try {
    await client.subscribeAsync(topic, { qos: 1 });
    // The SUBACK follows the retained messages [MQTT-3.3.1-6]: a ping round trip after it.
    await client.publishAsync('look/end', 'x', { qos: 1 });
    return inbox.on(topic).at(-1)?.payload;
  } finally {
    await endClient(client, true);
  }
}

/** Waits until the retained value of `topic` at `port` is `value`. */
async function waitRetained(port: number, topic: string, value: string): Promise<void> {
  let last: string | undefined;
  const deadline = Date.now() + 20_000;
  for (;;) {
    last = await retainedAt(port, topic);
    if (last === value) return;
    assert.ok(Date.now() < deadline, `${topic} retained ${last}, expected ${value}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function config(remotePort: number, extra: string[]): string {
  return [
    'bridges:',
    '  - name: notify',
    `    addresses: ["127.0.0.1:${remotePort}"]`,
    '    clientId: edge-7',
    '    reconnectDelay: 0.05',
    '    maxReconnectDelay: 0.3',
    ...extra.map((line) => `    ${line}`),
    '    topics:',
    '      - { pattern: "up/#", direction: out, qos: 1 }',
    '',
  ].join('\n');
}

describe('bridge notifications on the remote (mosquitto)', () => {
  const stops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  it('notificationsLocalOnly false: 1 retained on the remote, 0 by the will after kill -9', async () => {
    const mosquitto = await Mosquitto.start();
    stops.push(() => mosquitto.stop());
    const local = await LoadBroker.start({
      config: config(mosquitto.port, ['notificationsLocalOnly: false']),
    });
    stops.push(() => local.stop());
    const topic = '$SYS/broker/connection/edge-7/state';
    await waitRetained(mosquitto.port, topic, '1');
    // Locally, as before.
    await waitRetained(local.port, '$SYS/broker/connection/notify/state', '1');
    await local.proc.kill();
    await waitRetained(mosquitto.port, topic, '0');
  });

  it('notificationTopic names the remote topic; a clean stop sets it to 0 (no will then)', async () => {
    const mosquitto = await Mosquitto.start();
    stops.push(() => mosquitto.stop());
    const local = await startBroker({
      bridges: [
        {
          name: 'named',
          addresses: [{ host: '127.0.0.1', port: mosquitto.port }],
          clientId: 'edge-8',
          reconnectDelayMs: 50,
          notificationsLocalOnly: false,
          notificationTopic: 'site/edge-8/bridge',
          topics: [{ pattern: 'up/#', direction: 'out', qos: 1 }],
        },
      ],
    });
    stops.push(() => local.close());
    await waitBridge(local.broker, 'named');
    await waitRetained(mosquitto.port, 'site/edge-8/bridge', '1');
    assert.equal(
      await retainedAt(mosquitto.port, '$SYS/broker/connection/edge-8/state'),
      undefined,
    );
    await local.close();
    await waitRetained(mosquitto.port, 'site/edge-8/bridge', '0');
  });

  it('by default the state is published here only: nothing on the remote', async () => {
    const mosquitto = await Mosquitto.start();
    stops.push(() => mosquitto.stop());
    const local = await LoadBroker.start({ config: config(mosquitto.port, []) });
    stops.push(() => local.stop());
    await waitRetained(local.port, '$SYS/broker/connection/notify/state', '1');
    // The bridge is connected to mosquitto: a message goes through it.
    const { client: remote, inbox } = await connectWithInbox(`mqtt://127.0.0.1:${mosquitto.port}`, {
      clientId: 'remote-sink',
    });
    stops.push(() => endClient(remote, true));
    await remote.subscribeAsync('#', { qos: 1 });
    const pub = await connectClient(`mqtt://127.0.0.1:${local.port}`, { clientId: 'edge-pub' });
    await pub.publishAsync('up/x', 'through', { qos: 1 });
    await endClient(pub);
    await inbox.waitFor('up/x', 20_000);
    // Connected, yet nothing under Mosquitto's default topic (nor any other $SYS state).
    assert.equal(
      await retainedAt(mosquitto.port, '$SYS/broker/connection/edge-7/state'),
      undefined,
    );
  });
});
