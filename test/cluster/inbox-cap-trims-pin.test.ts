/**
 * The senders' cap on an inbox (`cluster.inboxMaxLength`: each forward is `XADD ... MAXLEN ~
 * n`) trims entries a stand-in's pin keeps for a survivor (src/cluster/parked-position.ts):
 * a long session move under traffic. The parked messages are in the new node's memory and
 * reach the session when it lands; had the node died first, the survivor could not have read
 * them again. Before, that trim was silent; now the new node counts it
 * (`status().inbox.trimmedParked`) and logs it (src/cluster/trim-check.ts).
 *
 * The move is held half-way: the third node's marker of the old node's route barrier is held
 * back (control-tap.ts), so the old node keeps the session routed and the new node's stand-in
 * parks what its inbox brings, pinned. The third node then publishes more than the cap.
 * Nodes: three in this process on a real redis-server (7.0: `max-deleted-entry-id`) whose
 * streams are made of small nodes, so that `MAXLEN ~` trims a few entries at a time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { capturingLogger } from '../helpers/capturing-logger.js';
import {
  type CollectingClient,
  connectCollecting,
  startSharedNode,
  type TestNode,
  waitForRoute,
} from './cluster-nodes.js';
import { movingClient, numbered } from './cluster-test-values.js';
import { ControlTap } from './control-tap.js';
import { RedisFixture } from './redis-fixture.js';

/** The smallest cap the options take. */
const CAP = 100;
/** Published during the move: well past the cap. */
const DURING = 2 * CAP;
/** Long enough for the move to wait out the publishes: it gives up after 3 leases. */

describe('cluster: the inbox cap trims a pinned range', () => {
  let redis: RedisFixture;
  const nodes: TestNode[] = [];
  const clients: MqttClient[] = [];
  const lines: string[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    // Stream nodes of 4 entries: `MAXLEN ~ 100` keeps 100 to 103 (with the default 100 per
    // stream node it would trim nothing below 200).
    await redis.redis.config('SET', 'stream-node-max-entries', '4');
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    for (const node of nodes) await node.close();
    await redis?.stop();
  });

  it('counts and logs the trim of the entries a moving session’s parked messages came from, and still delivers them on landing', async () => {
    const start = async (logger?: ReturnType<typeof capturingLogger>) => {
      const node = await startSharedNode(redis, {
        cluster: { url: redis.url, leaseMs: 10_000, heartbeatMs: 1000, inboxMaxLength: CAP },
        ...(logger ? { logger } : {}),
      });
      nodes.push(node);
      return node;
    };
    const old = await start();
    const third = await start();
    const first = await connectCollecting(old.url, movingClient('cap-sub'));
    await first.client.subscribeAsync('cap/t', { qos: 1 });
    await endClient(first.client);
    await waitForRoute(third, old.nodeId, 'cap/t');
    const next = await start(capturingLogger(lines, ['error', 'warn']));
    const publisher = await connectClient(third.url, { protocolVersion: 5 });
    clients.push(publisher);

    // The old node's route barrier waits for the third node's marker: the move stays half-way.
    const tap = new ControlTap(third);
    tap.hold((m) => m.t === 'barrier');
    const moving = connectCollecting(next.url, movingClient('cap-sub'));
    await waitFor(() => tap.held.length > 0, 20_000, 'the old node to run its route barrier');
    await waitForRoute(third, next.nodeId, 'cap/t');

    // Routed to both: queued by the old node, parked (pinned) by the new node's stand-in.
    const during = numbered('during', DURING);
    for (const payload of during) await publisher.publishAsync('cap/t', payload, { qos: 1 });
    const status = () => next.broker.cluster!.status().inbox;
    await waitFor(() => status().trimmedParked > 0, 20_000, 'the trim of the pinned range');
    assert.equal(status().trimmedParked, 1, 'one pin, counted once');
    assert.equal(status().trimmedUnread, 0, 'the new node read every entry before the trims');
    assert.ok(
      lines.some((l) => /trimmed entries a moving session’s parked messages came from/.test(l)),
      `logged: ${lines.join(' | ')}`,
    );

    // The move completes: what was parked is in memory and reaches the session.
    tap.stopHolding(true);
    const moved: CollectingClient = await moving;
    clients.push(moved.client);
    assert.equal(moved.sessionPresent, true);
    const got = () => moved.messages.map((m) => m.payload);
    await waitFor(() => during.every((p) => got().includes(p)), 30_000).catch(() => {});
    assert.deepEqual(
      during.filter((p) => !got().includes(p)),
      [],
      'parked or queued and never delivered',
    );
  });
});
