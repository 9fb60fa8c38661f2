/**
 * The delayed will of a session taken over from another node (issue #11). On one node, a new
 * connection with Clean Start 1 ends the old session, and the old connection's will, waiting
 * for its Will Delay Interval, is published then: the Server delays the will until the delay
 * passed or the session ends, whichever is first [MQTT-3.1.3-9] (test/core/will.test.ts). A
 * connection that resumes the session (Clean Start 0) before the delay passed means the will
 * is not sent. Across nodes the same: the node that held the session publishes the will when
 * it ends the session on a clean start, and drops it when the session moves on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IClientOptions } from 'mqtt';
import { connectClient, waitFor } from '../helpers/broker.js';
import { type TestNode, useTwoSharedNodes, waitForRoute } from './cluster-nodes.js';
import type { RedisFixture } from './redis-fixture.js';

/** A persistent v5 client whose will waits a minute after its connection ends. */
const withWill = (clientId: string): IClientOptions => ({
  protocolVersion: 5,
  clientId,
  clean: false,
  properties: { sessionExpiryInterval: 300 },
  will: {
    topic: `mw/${clientId}`,
    payload: Buffer.from(`will of ${clientId}`),
    qos: 1,
    retain: false,
    properties: { willDelayInterval: 60 },
  },
});

describe('cluster: the delayed will of a session taken over from another node', () => {
  let redis: RedisFixture;
  let old: TestNode;
  let next: TestNode;
  const { clients, collecting } = useTwoSharedNodes((nodes) => ({ redis, old, next } = nodes));

  /** No will waits for `clientId` on either node, nor in the store. */
  async function noWillLeft(clientId: string): Promise<void> {
    await waitFor(
      async () => (await redis.redis.hexists('pipit:wills', clientId)) === 0,
      10_000,
      'the stored will to be deleted',
    );
    assert.equal(old.broker.core.wills.has(clientId), false);
    assert.equal(next.broker.core.wills.has(clientId), false);
  }

  it('is sent when a connection with Clean Start 1 on another node ends the session, as on one node [MQTT-3.1.3-9] [MQTT-3.1.2-4]', async () => {
    const watcher = await collecting(next, { protocolVersion: 5 });
    await watcher.client.subscribeAsync('mw/#', { qos: 1 });
    await waitForRoute(old, next.nodeId, 'mw/#');
    const first = await collecting(old, withWill('mw-clean'));
    const taken = new Promise<number | undefined>((resolve) =>
      first.client.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    const fresh = await collecting(next, { protocolVersion: 5, clientId: 'mw-clean', clean: true });
    assert.equal(fresh.sessionPresent, false);
    assert.equal(await taken, 0x8e); // [MQTT-3.1.4-3]
    await waitFor(() => watcher.messages.length >= 1, 10_000, 'the will');
    assert.deepEqual(
      watcher.messages.map((m) => [m.topic, m.payload]),
      [['mw/mw-clean', 'will of mw-clean']],
    );
    await noWillLeft('mw-clean');
  });

  it('is not sent when a connection with Clean Start 0 on another node resumes the session before the delay passed [MQTT-3.1.3-9]', async () => {
    // Watched on the old node: a will it sent would reach the watcher before anything
    // published after the takeover completed.
    const watcher = await collecting(old, { protocolVersion: 5 });
    await watcher.client.subscribeAsync('mw/#', { qos: 1 });
    await waitForRoute(next, old.nodeId, 'mw/#');
    const first = await collecting(old, withWill('mw-resume'));
    const taken = new Promise<number | undefined>((resolve) =>
      first.client.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    const resumed = await collecting(next, {
      protocolVersion: 5,
      clientId: 'mw-resume',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    });
    assert.equal(resumed.sessionPresent, true);
    assert.equal(await taken, 0x8e);
    const publisher = await connectClient(next.url, { protocolVersion: 5 });
    clients.push(publisher);
    await publisher.publishAsync('mw/marker', 'after the takeover', { qos: 1 });
    await waitFor(() => watcher.messages.length >= 1, 10_000, 'the marker');
    assert.deepEqual(
      watcher.messages.map((m) => m.payload),
      ['after the takeover'],
    );
    await noWillLeft('mw-resume');
  });
});
