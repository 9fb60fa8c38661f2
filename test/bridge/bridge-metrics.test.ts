/**
 * The bridge's metrics on /metrics (issue #14: "metrics per bridge: state, messages each
 * way, queue depth, reconnects"): Pipit bridged to Pipit, scraped over real HTTP while
 * messages cross in both directions and the remote goes away and comes back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type BridgeOptions, createBroker } from '../../src/index.js';
import { connectClient, endClient, startBroker, type TestBroker } from '../helpers/broker.js';
import { type Exposition, parseExposition } from '../helpers/prometheus-text.js';
import { waitBridge, waitUntil } from './remotes.js';

function bridgeTo(port: number): BridgeOptions {
  return {
    name: 'm1',
    addresses: [{ host: '127.0.0.1', port }],
    protocolVersion: 5,
    clientId: 'bridge-m1',
    reconnectDelayMs: 50,
    maxReconnectDelayMs: 200,
    topics: [
      { pattern: 'up/#', direction: 'out', qos: 1 },
      { pattern: 'down/#', direction: 'in', qos: 1 },
    ],
  };
}

async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  return parseExposition(await res.text());
}

describe('bridge metrics', () => {
  let remote: TestBroker;
  let local: TestBroker;
  let metricsUrl: string;
  const clients: MqttClient[] = [];

  before(async () => {
    remote = await startBroker();
    local = await startBroker({ bridges: [bridgeTo(remote.port)] });
    metricsUrl = `${(await local.broker.listen({ type: 'http', port: 0 })).url}/metrics`;
    await waitBridge(local.broker, 'm1');
  });

  after(async () => {
    for (const client of clients) await endClient(client, true);
    await local.close();
    await remote.close();
  });

  it('state, messages each way, queue and connections per bridge, as broker.bridges() counts them', async () => {
    const first = await scrape(metricsUrl);
    for (const [name, type] of [
      ['pipit_bridge_up', 'gauge'],
      ['pipit_bridge_queued_messages', 'gauge'],
      ['pipit_bridge_inflight_messages', 'gauge'],
      ['pipit_bridge_messages_total', 'counter'],
      ['pipit_bridge_connects_total', 'counter'],
      ['pipit_bridge_reconnects_total', 'counter'],
      ['pipit_bridge_connect_failures_total', 'counter'],
      ['pipit_bridge_dropped_total', 'counter'],
    ] as const) {
      assert.equal(first.families.get(name)?.type, type, name);
    }
    assert.equal(first.value('pipit_bridge_up', { bridge: 'm1' }), 1);
    assert.equal(first.value('pipit_bridge_connects_total', { bridge: 'm1' }), 1);

    const here = await connectClient(local.url, { clientId: 'here' });
    const there = await connectClient(remote.url, { clientId: 'there' });
    clients.push(here, there);
    await there.subscribeAsync('up/#', { qos: 1 });
    await here.subscribeAsync('down/#', { qos: 1 });
    for (let i = 0; i < 5; i++) await here.publishAsync(`up/${i}`, 'x', { qos: 1 });
    for (let i = 0; i < 3; i++) await there.publishAsync(`down/${i}`, 'y', { qos: 1 });
    const status = () => local.broker.bridges().find((b) => b.name === 'm1')!;
    await waitUntil(
      () => status().messagesOut >= 5 && status().messagesIn >= 3,
      10_000,
      () => JSON.stringify(status()),
    );
    const moved = await scrape(metricsUrl);
    const out = moved.value('pipit_bridge_messages_total', { bridge: 'm1', direction: 'out' });
    const into = moved.value('pipit_bridge_messages_total', { bridge: 'm1', direction: 'in' });
    assert.equal(out, status().messagesOut);
    assert.equal(into, status().messagesIn);
    assert.ok(out! >= 5 && into! >= 3, `out ${out}, in ${into}`);
  });

  it('the remote gone: up 0 and queued messages counted; back: a reconnect counted', async () => {
    const port = remote.port;
    await remote.close();
    await waitBridge(local.broker, 'm1', false);
    const here = await connectClient(local.url, { clientId: 'while-down' });
    clients.push(here);
    for (let i = 0; i < 4; i++) await here.publishAsync(`up/q${i}`, 'z', { qos: 1 });
    const down = await scrape(metricsUrl);
    assert.equal(down.value('pipit_bridge_up', { bridge: 'm1' }), 0);
    const waiting =
      down.value('pipit_bridge_queued_messages', { bridge: 'm1' })! +
      down.value('pipit_bridge_inflight_messages', { bridge: 'm1' })!;
    assert.equal(waiting, 4, 'the four messages wait for the remote');
    const again = createBroker();
    await again.listen({ port, host: '127.0.0.1' });
    remote = { broker: again, port, url: `mqtt://127.0.0.1:${port}`, close: () => again.close() };
    await waitBridge(local.broker, 'm1');
    const back = await scrape(metricsUrl);
    assert.equal(back.value('pipit_bridge_up', { bridge: 'm1' }), 1);
    assert.ok(back.value('pipit_bridge_reconnects_total', { bridge: 'm1' })! >= 1);
  });
});
