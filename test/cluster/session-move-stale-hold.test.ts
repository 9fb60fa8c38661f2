/**
 * A session move's hold that reaches the old node after the new node gave up on it (issue
 * #11: one owner per client id at a time, and a stale request acts on nothing). Nodes in this
 * process on a real redis-server with the Redis store and short leases (1 s: the new node
 * waits one lease for the hold's answer); the hold is held back on the old node
 * (control-tap.ts) to stand for a slow peer.
 *
 * The client connects on the new node, which asks the old node to hold its session; no answer
 * comes in time, so the client is refused (0x88) and connects to the old node again, which
 * resumes its session there. Only then does the old node read the hold: the asking node no
 * longer waits (its `asking:<client id>:<owner>` word is gone), so the old node does nothing.
 * Without that, it closed the client that had just connected (DISCONNECT 0x8E) for a move
 * nobody waited for any more.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IClientOptions } from 'mqtt';
import { connectClient, waitFor } from '../helpers/broker.js';
import { type TestNode, useTwoSharedNodes } from './cluster-nodes.js';
import { persistentClient } from './cluster-test-values.js';
import { connectUntilGivenUp, MOVE_CONNECT_TIMEOUT_MS } from './move-give-up.js';
import type { RedisFixture } from './redis-fixture.js';

const persistent = (clientId: string): IClientOptions =>
  persistentClient(clientId, MOVE_CONNECT_TIMEOUT_MS);

describe('cluster: a hold that reaches the old node after the new node gave up', () => {
  let redis: RedisFixture;
  let old: TestNode;
  let next: TestNode;
  const { clients, collecting } = useTwoSharedNodes((nodes) => ({ redis, old, next } = nodes));

  it('leaves the client that connected to the old node meanwhile connected, with its session: a QoS 1 message published to it arrives [MQTT-3.1.4-3] [MQTT-3.1.2-5]', async () => {
    const clientId = 'stale-hold';
    const topic = 'stale/hold';
    const { oldTap, nextTap } = await connectUntilGivenUp(
      { old, next },
      collecting,
      clients,
      clientId,
      topic,
      'hold',
    );

    // The client connects to the old node again: its session is there.
    const back = await collecting(old, persistent(clientId));
    assert.equal(back.sessionPresent, true);
    let closed = false;
    const disconnects: (number | undefined)[] = [];
    back.client.on('close', () => {
      closed = true;
    });
    back.client.on('disconnect', (packet) => disconnects.push(packet.reasonCode));

    // The stale hold reaches the old node now.
    const stale = () => old.broker.cluster!.status().moves.staleHolds ?? 0;
    const staleBefore = stale();
    const heldAnswers = () => nextTap.seen.filter((m) => m.t === 'held').length;
    oldTap.stopHolding(true);
    await waitFor(
      () => stale() > staleBefore || heldAnswers() > 0 || closed,
      20_000,
      'the old node to read the hold',
    );
    assert.deepEqual(disconnects, [], 'no DISCONNECT (0x8E) for a move nobody waits for');
    assert.equal(closed, false, 'the client connected meanwhile stays connected');
    assert.equal(stale(), staleBefore + 1, 'counted as stale');
    assert.equal(heldAnswers(), 0, 'nobody waits: no answer');

    // Its session stays on the old node, routed: a message published on the new node reaches it.
    const publisher = await connectClient(next.url, { protocolVersion: 5 });
    clients.push(publisher);
    await publisher.publishAsync(topic, 'after the stale hold', { qos: 1 });
    await waitFor(() => back.messages.length > 0, 10_000, 'the message published to it');
    assert.deepEqual(
      back.messages.map((m) => [m.topic, m.payload, m.packet.qos]),
      [[topic, 'after the stale hold', 1]],
    );
    assert.equal(closed, false);
    const owner = await redis.redis.get(`pipit:owner:${clientId}`);
    assert.equal(owner?.split('/')[0], String(old.nodeId), 'the old node still owns it');
    assert.equal(old.broker.core.sessions.has(clientId), true);
    assert.equal(next.broker.core.sessions.has(clientId), false);
    assert.deepEqual(await redis.redis.keys('pipit:asking:*'), [], 'no word left behind');
  });
});
