/**
 * A drain does not cancel the waiting (delayed) wills of the sessions it hands over: a will is
 * cancelled only when its session resumes [MQTT-3.1.3-9], or goes when it is sent
 * [MQTT-3.1.2-8]; a drain is neither. The will goes with the session to the peer that adopts
 * it and is sent there once, at its original due time, or dropped there when its client
 * resumes the session first. So does the will of a dead node's client that the draining node
 * held (`orphan-wills:<id>`). Nodes in this process (the drained one, its peer) on a real
 * redis-server with the shared store; the dead node is a `pipit broker --cluster` child.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IClientOptions, MqttClient } from 'mqtt';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { type CliNode, killNode, startCliNode } from './cli-node.js';
import {
  type CollectingClient,
  connectCollecting,
  startSharedNode,
  type TestNode,
} from './cluster-nodes.js';
import { delayedWillClient, joinedNodeId } from './cluster-test-values.js';
import { RedisFixture } from './redis-fixture.js';

/**
 * Publishes a marker on `node` after the will came, and waits for it: a second copy of the
 * will sent before the marker would be in `watcher.messages` ahead of it.
 */
async function markerAfter(node: TestNode, watcher: CollectingClient): Promise<void> {
  const publisher = await connectClient(node.url, { protocolVersion: 5 });
  const count = watcher.messages.length;
  await publisher.publishAsync('dw/marker', 'marker', { qos: 1 });
  await endClient(publisher);
  await waitFor(() => watcher.messages.length > count, 10_000, 'the marker');
}

describe('cluster: a drain hands the waiting wills over with the sessions', () => {
  let redis: RedisFixture;
  /** The peer the drained nodes hand their sessions to. */
  let peer: TestNode;
  const clients: MqttClient[] = [];
  const nodes: TestNode[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    peer = await startSharedNode(redis);
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    for (const node of nodes) await node.close();
    await peer.close();
    await redis.stop();
  });

  async function watching(node: TestNode): Promise<CollectingClient> {
    const watcher = await connectCollecting(node.url, { protocolVersion: 5 });
    clients.push(watcher.client);
    await watcher.client.subscribeAsync('dw/#', { qos: 1 });
    return watcher;
  }

  /**
   * Starts a node (it hands its sessions to `peer`, its only live peer), connects `options`
   * there and drops the connection without DISCONNECT: the will waits there, written in the
   * store with its due time. Returns the node, not drained yet.
   */
  async function leaveWillWaiting(options: IClientOptions): Promise<TestNode> {
    const node = await startSharedNode(redis);
    nodes.push(node);
    const client = await connectClient(node.url, options);
    client.stream.destroy(); // no DISCONNECT: the will waits its delay
    await endClient(client, true);
    await waitFor(
      () => node.broker.core.wills.has(options.clientId!),
      10_000,
      'the will waiting on the node',
    );
    return node;
  }

  it('goes with its session to the peer, which sends it once when due [MQTT-3.1.3-9] [MQTT-3.1.2-8]', async () => {
    const watcher = await watching(peer);
    const drained = await leaveWillWaiting(delayedWillClient('dw-drained', 3));
    const result = await drained.broker.drain();
    assert.equal(result.sessions, 1);
    assert.equal(peer.broker.core.sessions.has('dw-drained'), true, 'the session on the peer');
    // Either still waiting there, or sent already (a slow machine): never dropped.
    await waitFor(() => watcher.messages.length >= 1, 15_000, 'the will, from the peer');
    assert.equal(watcher.messages[0]!.payload, 'will of dw-drained');
    await markerAfter(peer, watcher);
    assert.deepEqual(
      watcher.messages.map((m) => m.payload),
      ['will of dw-drained', 'marker'],
    );
    assert.equal(peer.broker.core.wills.has('dw-drained'), false);
    await waitFor(
      async () => (await redis.redis.hexists('pipit:wills', 'dw-drained')) === 0,
      10_000,
      'the stored will to be deleted once sent',
    );
  });

  it('is dropped on the peer when its client resumes the session there before it is due [MQTT-3.1.3-9]', async () => {
    const watcher = await watching(peer);
    const drained = await leaveWillWaiting(delayedWillClient('dw-back', 120));
    await drained.broker.drain();
    assert.equal(peer.broker.core.wills.has('dw-back'), true, 'the will waiting on the peer');
    const back = await connectCollecting(peer.url, delayedWillClient('dw-back', 120));
    clients.push(back.client);
    assert.equal(back.sessionPresent, true);
    assert.equal(peer.broker.core.wills.has('dw-back'), false, 'the waiting will dropped');
    await endClient(back.client); // a normal DISCONNECT: this connection's will goes too
    await waitFor(
      async () => (await redis.redis.hexists('pipit:wills', 'dw-back')) === 0,
      10_000,
      'the stored will to be deleted',
    );
    await markerAfter(peer, watcher);
    assert.deepEqual(
      watcher.messages.map((m) => m.payload),
      ['marker'],
    );
  });
});

describe('cluster: a drain hands over the wills of dead nodes’ clients it held', () => {
  let redis: RedisFixture;
  let dir: string;
  const clients: MqttClient[] = [];
  const nodes: TestNode[] = [];
  let doomed: CliNode | undefined;

  before(async () => {
    redis = await RedisFixture.start();
    dir = mkdtempSync(join(tmpdir(), 'pipit-drain-wills-'));
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    if (doomed) await killNode(doomed);
    for (const node of nodes) await node.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('goes to the peer (`orphan-wills:<id>`), which sends it once at its deadline [MQTT-3.1.3-9] [MQTT-3.1.2-8]', async () => {
    const drained = await startSharedNode(redis);
    nodes.push(drained);
    const file = join(dir, 'pipit.yaml');
    writeFileSync(file, `cluster:\n  url: ${redis.url}\n  leaseMs: 1000\n  heartbeatMs: 100\n`);
    doomed = await startCliNode(undefined, ['-c', file]);
    // Connected when its node dies: the survivor (the only other node) takes its will.
    const client = await connectClient(doomed.url, delayedWillClient('dw-orphan', 5));
    clients.push(client);
    await waitFor(
      async () =>
        (await redis.redis.hexists(`pipit:wills:${joinedNodeId(doomed!)}`, 'dw-orphan')) === 1,
      10_000,
      'the copy of the connected client’s will',
    );
    await killNode(doomed);
    const held = `pipit:orphan-wills:${drained.nodeId}`;
    await waitFor(
      async () =>
        drained.broker.core.wills.has('dw-orphan') &&
        (await redis.redis.hexists(held, 'dw-orphan')) === 1,
      15_000,
      'the survivor to hold the dead node’s client’s will',
    );
    const peer = await startSharedNode(redis);
    nodes.push(peer);
    const watcher = await connectCollecting(peer.url, { protocolVersion: 5 });
    clients.push(watcher.client);
    await watcher.client.subscribeAsync('dw/#', { qos: 1 });
    await waitFor(
      () => drained.broker.cluster!.status().livePeers.includes(peer.nodeId),
      10_000,
      'the drained node to see its peer live',
    );
    await drained.broker.drain();
    assert.equal(await redis.redis.hexists(held, 'dw-orphan'), 0, 'moved off the drained node');
    await waitFor(() => watcher.messages.length >= 1, 15_000, 'the will, from the peer');
    assert.equal(watcher.messages[0]!.payload, 'will of dw-orphan');
    await markerAfter(peer, watcher);
    assert.deepEqual(
      watcher.messages.map((m) => m.payload),
      ['will of dw-orphan', 'marker'],
    );
    // Sent: its record is deleted once the publish is committed.
    await waitFor(
      async () =>
        (await redis.redis.hexists(`pipit:orphan-wills:${peer.nodeId}`, 'dw-orphan')) === 0,
      10_000,
      'the peer’s record of the will to be deleted once sent',
    );
  });
});
