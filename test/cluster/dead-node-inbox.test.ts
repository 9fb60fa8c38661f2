/**
 * What a dead node leaves in its inbox (issue #11: nothing acknowledged is lost when a node
 * dies). A `pipit broker --cluster` child holds two persistent sessions; a node in this
 * process publishes to them (its forwards go to the child's inbox, and the publisher gets
 * PUBACK/PUBCOMP once they are there). The child reads and commits the first messages, then
 * is frozen (SIGSTOP: it reads nothing more, its lease runs out) while more are published,
 * then killed. The survivor that removes it adopts its sessions and delivers the unread
 * entries to them, after the position the child committed: every message once, none twice
 * (a batch written twice, as a resent XADD is, included), and none to the survivor's own
 * subscriber, which had its copy directly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IClientOptions } from 'mqtt';
import { ClusterKeys } from '../../src/cluster/keys.js';
import { Outbox } from '../../src/cluster/outbox.js';
import type { RemoteNode } from '../../src/cluster/remote-node.js';
import type { Delivery } from '../../src/core/index.js';
import { silentLogger } from '../../src/ports/index.js';
import { connectClient, endClient, type TestBroker, waitFor } from '../helpers/broker.js';
import { type CliNode, killNode, startCliNode } from './cli-node.js';
import {
  type CollectingClient,
  connectCollecting,
  startSharedNode,
  waitForRoute,
} from './cluster-nodes.js';
import { joinAs } from './join-as.js';
import { RedisFixture } from './redis-fixture.js';

/** Messages published while the child still reads its inbox, and while it is frozen. */
const READ = 20;
const UNREAD = 20;

const v5 = (clientId: string): IClientOptions => ({
  protocolVersion: 5,
  clientId,
  clean: false,
  properties: { sessionExpiryInterval: 300 },
});
const v3 = (clientId: string): IClientOptions => ({ protocolVersion: 4, clientId, clean: false });

/** How many times each payload arrived. */
function counts(collecting: CollectingClient): Map<string, number> {
  const seen = new Map<string, number>();
  for (const m of collecting.messages) seen.set(m.payload, (seen.get(m.payload) ?? 0) + 1);
  return seen;
}

describe('cluster: a dead node’s unread inbox', () => {
  let redis: RedisFixture;
  let doomed: CliNode;
  let survivor: TestBroker & { nodeId: number };

  before(async () => {
    redis = await RedisFixture.start();
    const dir = mkdtempSync(join(tmpdir(), 'pipit-orphan-'));
    const file = join(dir, 'pipit.yaml');
    // A lease long enough for the frozen child's inbox to fill before the survivor removes it.
    writeFileSync(file, `cluster:\n  url: ${redis.url}\n  leaseMs: 4000\n  heartbeatMs: 100\n`);
    doomed = await startCliNode(redis.url, ['-c', file]);
    survivor = await startSharedNode(redis);
  });

  after(async () => {
    await killNode(doomed); // also a frozen one (SIGKILL ends a stopped process)
    await survivor.close();
    await redis.stop();
  });

  it('reaches the sessions adopted from it after the committed position: each QoS 1 and QoS 2 message once, to them only', async () => {
    const r = redis.redis;
    // Two persistent subscribers on the doomed node (v5 with a subscription id, 3.1.1), offline.
    for (const [options, qos] of [
      [v5('orphan-v5'), 2],
      [v3('orphan-v3'), 1],
    ] as const) {
      const first = await connectCollecting(doomed.url, options);
      await first.client.subscribeAsync('orphan/#', {
        qos,
        ...(options.protocolVersion === 5 ? { properties: { subscriptionIdentifier: 7 } } : {}),
      });
      await endClient(first.client);
    }
    const own = await connectCollecting(survivor.url, v5('survivor-own'));
    await own.client.subscribeAsync('orphan/#', { qos: 2 });
    const doomedId = Number((await r.get('pipit:owner:orphan-v5'))?.split('/')[0]);
    await waitForRoute(survivor, doomedId, 'orphan/#');
    const instance = (await r.hget('pipit:instances', String(doomedId)))!;
    const inbox = `pipit:inbox:${doomedId}`;
    const cursor = `pipit:cursor:inbox:${instance}`;

    const publisher = await connectClient(survivor.url, { protocolVersion: 5 });
    for (let i = 0; i < READ; i++) {
      await publisher.publishAsync('orphan/a', `read-${i}`, { qos: i % 2 === 0 ? 1 : 2 });
    }
    // The child read them, queued them in the store and committed its position with them.
    await waitFor(
      async () => {
        const [last] = await r.xrevrange(inbox, '+', '-', 'COUNT', 1);
        return last !== undefined && (await r.get(cursor)) === last[0];
      },
      15_000,
      'the doomed node to commit its inbox position',
    );
    // Trimmed up to that position (XTRIM MINID): the entry at it stays, the ones before go.
    await waitFor(async () => (await r.xlen(inbox)) === 1, 15_000, 'the inbox to be trimmed');

    doomed.child.kill('SIGSTOP');
    for (let i = 0; i < UNREAD; i++) {
      await publisher.publishAsync('orphan/b', `unread-${i}`, { qos: i % 2 === 0 ? 1 : 2 });
    }
    // A forward Redis ran twice (its reply lost with the connection, and ioredis sent it
    // again: src/cluster/batch-number.ts): the last unread batch once more, byte for byte.
    const [[, lastFields]] = await r.xrevrangeBuffer(inbox, '+', '-', 'COUNT', 1);
    await r.xadd(inbox, '*', 'm', lastFields[1]!);
    assert.equal(await r.xlen(inbox), 2 + UNREAD, 'the unread entries wait in the inbox');
    await killNode(doomed);
    await endClient(publisher);

    const cluster = survivor.broker.cluster!;
    await waitFor(() => cluster.status().orphans.inboxes === 1, 30_000, 'the inbox to be read');
    assert.equal(cluster.status().orphans.messages, UNREAD);
    // [MQTT-4.3.3-2] (3.1.1) [MQTT-4.3.3-10] (5.0): the resent batch is not delivered again.
    assert.equal(cluster.status().orphans.resent, 1);
    assert.deepEqual(await r.keys('pipit:orphan:*'), [], 'the renamed inbox is deleted');
    assert.equal(await r.exists(cursor), 0, 'the dead node’s position is deleted');

    const expected = [
      ...Array.from({ length: READ }, (_, i) => `read-${i}`),
      ...Array.from({ length: UNREAD }, (_, i) => `unread-${i}`),
    ];
    for (const options of [v5('orphan-v5'), v3('orphan-v3')]) {
      const back = await connectCollecting(survivor.url, options);
      try {
        assert.equal(back.sessionPresent, true);
        await waitFor(() => back.messages.length >= expected.length, 10_000, 'every message');
        const seen = counts(back);
        assert.deepEqual(
          expected.filter((p) => seen.get(p) !== 1),
          [],
          `${options.clientId}: messages not received exactly once`,
        );
        if (options.protocolVersion === 5) {
          const unread = back.messages.find((m) => m.payload === 'unread-1')!;
          assert.equal(unread.packet.qos, 2);
          assert.deepEqual(unread.packet.properties?.subscriptionIdentifier, 7);
        }
      } finally {
        await endClient(back.client);
      }
    }
    // The survivor's own subscriber had each message directly, never again from the inbox.
    await waitFor(() => own.messages.length >= expected.length, 10_000, 'the own subscriber');
    const ownSeen = counts(own);
    assert.deepEqual(
      expected.filter((p) => ownSeen.get(p) !== 1),
      [],
      'the survivor’s own subscriber: messages not received exactly once',
    );
    await endClient(own.client);
  });

  it('refuses a forward to a node that left the cluster rather than write it where no one reads', async () => {
    const r = redis.redis;
    const keys = new ClusterKeys('pipit-refusal:');
    const outbox = new Outbox(r, keys, silentLogger);
    const delivery = {
      message: { id: 1, topic: 't', payload: Buffer.from('x'), qos: 1, retain: false },
    } as unknown as Delivery;
    const node = (nodeId: number) => ({ nodeId }) as unknown as RemoteNode;
    await joinAs(r, keys, 1);
    outbox.forward(node(1), delivery);
    await outbox.commit();
    assert.equal(await r.xlen(keys.inbox(1)), 1, 'a member’s inbox gets the forward');

    outbox.forward(node(2), delivery);
    await assert.rejects(outbox.commit(), /refused: their node left the cluster/);
    assert.equal(outbox.counters.refused, 1);
    assert.equal(await r.exists(keys.inbox(2)), 0, 'nothing written for a node that left');
  });
});
