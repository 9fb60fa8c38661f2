/**
 * The cluster on a real 3-master Redis Cluster (issue #11's Proof): two Pipit nodes in this
 * process and one `pipit broker --cluster` child whose configuration file names the Redis
 * Cluster's seed nodes (`cluster.nodes`), all with the default store (the Redis store on the
 * same Redis Cluster) and the default prefix `{pipit}:`. Cross-node QoS 0/1/2 for 3.1.1 and
 * 5.0, retained messages, a shared subscription, takeover, a persistent session resumed on
 * another node, a node killed (its client's will published, its session adopted), and every
 * key of the Pipit cluster in one hash slot.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Cluster } from 'ioredis';
import type { MqttClient } from 'mqtt';
import {
  collectUntil,
  connectClient,
  endClient,
  nextMessages,
  waitFor,
} from '../helpers/broker.js';
import { type CliNode, killNode, startCliNode } from './cli-node.js';
import { connectCollecting, type TestNode, waitForRoute } from './cluster-nodes.js';
import { RedisClusterFixture, startNodeOn } from './redis-cluster-fixture.js';

/** The node id in a client's owner key (`<node id>/<instance>`), or undefined. */
async function ownerOf(redis: Cluster, clientId: string): Promise<number | undefined> {
  const value = await redis.get(`{pipit}:owner:${clientId}`);
  return value === null ? undefined : Number(value.split('/')[0]);
}

describe('cluster: on a 3-master Redis Cluster (one hash slot per Pipit cluster)', () => {
  let fixture: RedisClusterFixture;
  let redis: Cluster;
  let a: TestNode;
  let b: TestNode;
  let doomed: CliNode;
  const clients: MqttClient[] = [];

  async function client(node: { url: string }, options: Parameters<typeof connectClient>[1] = {}) {
    const c = await connectClient(node.url, options);
    clients.push(c);
    return c;
  }

  before(async () => {
    fixture = await RedisClusterFixture.start();
    redis = fixture.client();
    a = await startNodeOn(fixture);
    b = await startNodeOn(fixture);
    const dir = mkdtempSync(join(tmpdir(), 'pipit-rcluster-'));
    const file = join(dir, 'pipit.yaml');
    const nodes = fixture.ports.map((port) => `127.0.0.1:${port}`).join(', ');
    writeFileSync(file, `cluster:\n  nodes: [${nodes}]\n  leaseMs: 1000\n  heartbeatMs: 100\n`);
    // The file names the seed nodes and no URL (on a Redis Cluster it would give only
    // credentials and TLS, here none), and no --cluster: the file alone makes the node.
    doomed = await startCliNode(undefined, ['-c', file]);
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    await killNode(doomed);
    await a?.close();
    await b?.close();
    redis?.disconnect();
    await fixture?.stop();
  });

  for (const protocolVersion of [4, 5] as const) {
    it(`delivers QoS 0, 1 and 2 from a publisher on one node to a subscriber on another (v${protocolVersion === 4 ? '3.1.1' : '5'})`, async () => {
      const topic = `rc/qos/v${protocolVersion}`;
      const sub = await client(b, { protocolVersion });
      await sub.subscribeAsync(topic, { qos: 2 });
      await waitForRoute(a, b.nodeId, topic);
      const pub = await client(a, { protocolVersion });
      const got = nextMessages(sub, 3);
      await pub.publishAsync(topic, 'zero', { qos: 0 });
      await pub.publishAsync(topic, 'one', { qos: 1 });
      await pub.publishAsync(topic, 'two', { qos: 2 });
      assert.deepEqual(
        (await got).map((m) => [m.payload.toString(), m.packet.qos]),
        [
          ['zero', 0],
          ['one', 1],
          ['two', 2],
        ],
      );
    });
  }

  it('sends a retained message set on one node to a new subscriber on another [MQTT-3.3.1-6] (3.1.1)', async () => {
    const pub = await client(a, { protocolVersion: 4 });
    await pub.publishAsync('rc/retained', '21.5', { qos: 1, retain: true });
    await waitFor(
      () => b.broker.core.retained.match('rc/retained', Date.now()).length === 1,
      5000,
      "b's index to learn the retained message",
    );
    const sub = await connectCollecting(b.url, { protocolVersion: 4 });
    clients.push(sub.client);
    await sub.client.subscribeAsync('rc/retained', { qos: 1 });
    await waitFor(() => sub.messages.length === 1, 5000, 'the retained message on b');
    assert.equal(sub.messages[0]!.payload, '21.5');
    assert.equal(sub.messages[0]!.packet.retain, true);
  });

  it('gives each message of a shared subscription to exactly one member across the nodes', async () => {
    const onA = await client(a, { protocolVersion: 5 });
    const onB = await client(b, { protocolVersion: 5 });
    await onA.subscribeAsync('$share/g/rc/jobs/+', { qos: 1 });
    await onB.subscribeAsync('$share/g/rc/jobs/+', { qos: 1 });
    await onA.subscribeAsync('rc/jobs-end', { qos: 1 });
    await onB.subscribeAsync('rc/jobs-end', { qos: 1 });
    await waitForRoute(a, b.nodeId, '$share/g/rc/jobs/+');
    await waitForRoute(a, b.nodeId, 'rc/jobs-end');
    const pub = await client(a, { protocolVersion: 5 });
    const gotA = collectUntil(onA, 'rc/jobs-end');
    const gotB = collectUntil(onB, 'rc/jobs-end');
    for (let i = 0; i < 20; i++) await pub.publishAsync('rc/jobs/x', String(i), { qos: 1 });
    await pub.publishAsync('rc/jobs-end', '', { qos: 1 });
    const received = [...(await gotA), ...(await gotB)].map((m) => Number(m.payload.toString()));
    assert.deepEqual(
      received.sort((x, y) => x - y),
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  it('takes a session over from another node: the old connection gets DISCONNECT 0x8E [MQTT-3.1.4-3]', async () => {
    const old = await client(a, { protocolVersion: 5, clientId: 'rc-roaming' });
    assert.equal(await ownerOf(redis, 'rc-roaming'), a.nodeId);
    const disconnected = new Promise<number | undefined>((resolve) =>
      old.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    const moved = await client(b, { protocolVersion: 5, clientId: 'rc-roaming' });
    assert.equal(await disconnected, 0x8e);
    assert.equal(moved.connected, true);
    assert.equal(await ownerOf(redis, 'rc-roaming'), b.nodeId);
  });

  it('resumes a persistent session on another node with the messages queued meanwhile [MQTT-3.2.2-2] (3.1.1)', async () => {
    const persistent = { protocolVersion: 4, clientId: 'rc-resume', clean: false } as const;
    const first = await connectClient(a.url, persistent);
    await first.subscribeAsync('rc/resume', { qos: 1 });
    await endClient(first);
    await waitForRoute(b, a.nodeId, 'rc/resume');
    const pub = await client(b, { protocolVersion: 4 });
    await pub.publishAsync('rc/resume', 'queued', { qos: 1 });
    const back = await connectCollecting(b.url, persistent);
    clients.push(back.client);
    assert.equal(back.sessionPresent, true);
    await waitFor(() => back.messages.length === 1, 5000, 'the queued message on b');
    assert.equal(back.messages[0]!.payload, 'queued');
  });

  it('publishes the will of a client of a killed node and adopts its session', async () => {
    const watcher = await connectCollecting(a.url, { protocolVersion: 5 });
    clients.push(watcher.client);
    await watcher.client.subscribeAsync('rc/wills/#', { qos: 1 });
    const persistent = {
      protocolVersion: 5,
      clientId: 'rc-doomed',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
      will: { topic: 'rc/wills/doomed', payload: Buffer.from('gone'), qos: 1, retain: false },
    } as const;
    const first = await connectCollecting(doomed.url, persistent);
    first.client.on('error', () => {});
    await first.client.subscribeAsync('rc/death', { qos: 1 });
    const doomedId = await ownerOf(redis, 'rc-doomed');
    assert.ok(doomedId !== undefined && doomedId !== a.nodeId && doomedId !== b.nodeId);
    await waitForRoute(a, doomedId, 'rc/death');

    await killNode(doomed);
    await endClient(first.client, true);
    await waitFor(() => watcher.messages.length === 1, 15_000, 'the will of the dead node');
    assert.equal(watcher.messages[0]!.payload, 'gone');
    await waitFor(
      async () => {
        const owner = await ownerOf(redis, 'rc-doomed');
        return owner === a.nodeId || owner === b.nodeId;
      },
      15_000,
      'a survivor to adopt the session',
    );
    const survivor = (await ownerOf(redis, 'rc-doomed')) === a.nodeId ? a : b;
    // Until the departure is announced, a forward to the dead node's inbox is refused (0x97,
    // docs/cluster.md): publish once both survivors dropped its routes.
    await waitForRoute(a, doomedId, 'rc/death', false);
    await waitForRoute(b, doomedId, 'rc/death', false);
    const pub = await client(survivor, { protocolVersion: 5 });
    await pub.publishAsync('rc/death', 'kept', { qos: 1 });
    const back = await connectCollecting(survivor.url, persistent);
    clients.push(back.client);
    assert.equal(back.sessionPresent, true);
    await waitFor(() => back.messages.length === 1, 5000, 'the queued message');
    assert.equal(back.messages[0]!.payload, 'kept');
  });

  it('keeps every key of the Pipit cluster in the slot of its hash tag, on one master (CLUSTER KEYSLOT, COUNTKEYSINSLOT)', async () => {
    const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', 'pipit'));
    const perMaster: number[] = [];
    const kinds = new Set<string>();
    for (const master of redis.nodes('master')) {
      const inSlot = async (): Promise<number> =>
        Number(await master.call('CLUSTER', 'COUNTKEYSINSLOT', slot));
      // The nodes keep writing (heartbeats, stats): read the keys between two equal counts.
      let keys: string[] = [];
      await waitFor(
        async () => {
          const before = await inSlot();
          keys = await master.keys('*');
          return before === (await inSlot()) && (keys.length === 0 || before === keys.length);
        },
        10_000,
        'the keys of a master between two equal COUNTKEYSINSLOT',
      );
      perMaster.push(keys.length);
      for (const key of keys) {
        assert.ok(key.startsWith('{pipit}:'), `${key} carries the prefix`);
        assert.equal(Number(await master.call('CLUSTER', 'KEYSLOT', key)), slot, key);
        kinds.add(key.slice('{pipit}:'.length).split(/[:{]/)[0]!);
      }
    }
    assert.equal(perMaster.filter((n) => n > 0).length, 1, `keys per master: ${perMaster}`);
    // The cluster's keys and the store's, all in that slot.
    for (const kind of ['node', 'nodes', 'routes', 'inbox', 'owner', 'sessions', 'meta', '']) {
      assert.ok(kinds.has(kind), `a "${kind}" key among ${[...kinds].join(', ')}`);
    }
  });
});
