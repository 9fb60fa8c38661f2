/**
 * Two nodes moving sessions to each other while publishes on the new node wait for a landing
 * (issue #11). A publish on the node a session moves to that only the session's stand-in
 * matches is acknowledged once the session landed (src/cluster/landing-wait.ts); that wait
 * is the publish's own (src/core/ack-waits.ts). A first fix made the node's store commit wait
 * for the landing instead: every acknowledgement on the node that wrote waited for it, and so
 * did the hold and release a peer asked of the node, so two nodes moving sessions to each
 * other waited on each other until a move gave up (three leases), the client refused.
 *
 * Here the move of `cr-s1` from node A (in this process) into node B (a child process,
 * gated-node-main.ts) never lands: B drops the release's answer (`GATE_RELEASED`), and once it
 * gives up waiting its read of the session never resolves (`GATE_CLIENTS`). Meanwhile:
 * - a publish on B that B's stand-in parks is not acknowledged, nor the next publish of the
 *   same connection (acknowledgements keep their order), while a publisher on another
 *   connection of B gets every PUBACK/PUBCOMP of its publishes, which write (forwarded to A);
 * - `cr-s2`'s session moves from B to A (B holds and releases it: its control steps do not
 *   wait for the landing), while a publisher on A sends to it throughout: what A's stand-in
 *   parks waits for that landing. The client connects with its session, and every message
 *   acknowledged reaches it once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { connectBytes, RawClient } from '../helpers/raw-client.js';
import {
  type CollectingClient,
  connectCollecting,
  startSharedNode,
  type TestNode,
  waitForRoute,
} from './cluster-nodes.js';
import { persistentClient } from './cluster-test-values.js';
import { type GatedNode, kill, startGatedNode } from './recovery-fixture.js';
import { RedisFixture } from './redis-fixture.js';

describe('cluster: sessions moving between two nodes both ways, publishes waiting for landings', () => {
  let redis: RedisFixture;
  let a: TestNode;
  let b: GatedNode | undefined;
  const clients: MqttClient[] = [];
  const raws: RawClient[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    a = await startSharedNode(redis, {
      cluster: { url: redis.url, leaseMs: 2000, heartbeatMs: 100 },
    });
  });

  after(async () => {
    for (const raw of raws) raw.destroy();
    await Promise.all(clients.map((c) => endClient(c, true)));
    if (b) await kill(b.child);
    await a.close();
    await redis.stop();
  });

  const collect = async (url: string, clientId: string): Promise<CollectingClient> => {
    const collecting = await connectCollecting(url, persistentClient(clientId, 30_000));
    clients.push(collecting.client);
    return collecting;
  };

  it('acknowledges the publishes no landing holds, and the session moving the other way lands [MQTT-3.1.2-5]', async (t) => {
    // On A, before B starts (B reads A's routes when it joins): cr-s1, which moves to B, and
    // cr-other, which B's unrelated publishes are forwarded to.
    for (const [clientId, filter] of [
      ['cr-s1', 'cr/one'],
      ['cr-other', 'cr/other'],
    ] as const) {
      const first = await collect(a.url, clientId);
      await first.client.subscribeAsync(filter, { qos: 1 });
      await endClient(first.client);
    }
    b = await startGatedNode(redis.url, {
      GATE_RELEASED: '1',
      GATE_CLIENTS: 'cr-s1',
      LEASE_MS: '2000',
    });
    const s2 = await collect(b.url, 'cr-s2');
    await s2.client.subscribeAsync('cr/two', { qos: 1 });
    await endClient(s2.client);
    await waitForRoute(a, b.nodeId, 'cr/two');

    // cr-s1 connects on B: a move from A that B never lands.
    const raw = await RawClient.open(Number(new URL(b.url).port), 5);
    raws.push(raw);
    raw.write(
      connectBytes(5, 'cr-s1', { clean: false, properties: { sessionExpiryInterval: 300 } }),
    );
    await b.gated; // A let go and handed the key over; its answer was dropped
    assert.equal((await redis.redis.get('pipit:owner:cr-s1'))?.split('/')[0], String(b.nodeId));

    // A publish on B that only the stand-in matches, then one more on the same connection.
    const waiting = await connectClient(b.url, { protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(waiting);
    const acked: string[] = [];
    waiting.publish('cr/one', 'parked-0', { qos: 1 }, () => acked.push('parked-0'));
    waiting.publish('cr/other', 'behind-0', { qos: 1 }, () => acked.push('behind-0'));

    // Another connection on B: acknowledged although the landing never comes.
    const unrelated = await connectClient(b.url, { protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(unrelated);
    const sent: string[] = [];
    for (let i = 0; i < 10; i++) {
      const payload = `other-${i}`;
      unrelated.publish('cr/other', payload, { qos: i % 2 === 0 ? 1 : 2 }, (err) => {
        if (!err) sent.push(payload);
      });
    }
    // Bounded so that a stall fails the test rather than hang it (it is not a timing check).
    await waitFor(() => sent.length === 10, 30_000, 'the unrelated publisher’s PUBACK/PUBCOMP');

    // cr-s2 moves from B to A while a publisher on A sends to it, one message at a time.
    const publisherOnA = await connectClient(a.url, { protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(publisherOnA);
    const toS2: string[] = [];
    let moving = true;
    let published = false;
    void (async () => {
      for (let i = 0; moving || i < 5; i++) {
        await publisherOnA.publishAsync('cr/two', `two-${i}`, { qos: 1 });
        toS2.push(`two-${i}`);
      }
      published = true;
    })();
    const moved = await collect(a.url, 'cr-s2');
    moving = false;
    await waitFor(() => published, 30_000, 'the PUBACKs of the publisher on A');
    assert.equal(moved.sessionPresent, true, 'cr-s2 moved to A with its session');
    assert.equal((await redis.redis.get('pipit:owner:cr-s2'))?.split('/')[0], String(a.nodeId));

    // The landing into B never came: what waits for it is still not acknowledged.
    assert.deepEqual(acked, [], 'acknowledged without the landing, or out of order');
    assert.deepEqual(raw.received, [], 'cr-s1 was answered: its move did not stay open');

    const got = (): string[] => moved.messages.map((m) => m.payload);
    // A safety net only: the assertions below say what is missing.
    await waitFor(() => toS2.every((p) => got().includes(p)), 20_000).catch(() => {});
    assert.deepEqual(
      got().filter((p) => toS2.includes(p)),
      toS2,
      'every message acknowledged on A reached cr-s2, once, in order',
    );
    const { delivered, duplicates } = a.broker.cluster!.status().moves;
    t.diagnostic(`A's stand-in for cr-s2: ${delivered} delivered, ${duplicates} duplicates`);

    // What B acknowledged on the other connection stands: forwarded to A, queued for cr-other.
    const other = await collect(a.url, 'cr-other');
    const otherGot = (): string[] => other.messages.map((m) => m.payload);
    await waitFor(() => sent.every((p) => otherGot().includes(p)), 20_000).catch(() => {});
    // (Acknowledged out of order: a PUBCOMP comes a round trip after a PUBACK.)
    assert.deepEqual(
      otherGot()
        .filter((p) => sent.includes(p))
        .sort(),
      [...sent].sort(),
      'what B acknowledged reached cr-other, once',
    );
  });
});
