/**
 * A session move's hold whose asking node died before the old node acted on it (issue #11:
 * one owner per client id at a time, and a stale request acts on nothing). Nodes in this
 * process on a real redis-server with the Redis store.
 *
 * The failover soak (seed 14) found it: a node asked another for the holds of six sessions
 * and was killed while it waited; the old node acted on those holds 7 s later (they waited
 * there behind the Redis failover that followed), when the dead node's lease was long gone
 * but its `asking:<client id>:<owner>` word had not expired yet. It closed six connections
 * its clients had made since (DISCONNECT 0x8E) and held their sessions for a release that
 * could not come; one client then went on from another node while the old one still routed
 * its session, and QoS 2 messages it had completed came to it again as new ones.
 *
 * Here the dead node is one whose lease is gone (killed and removed): its word stands, as it
 * stood in the soak, and its hold reaches the old node while the client is connected there.
 * The old node must do nothing: the word alone is not enough, the asking node must be alive.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectClient, waitFor } from '../helpers/broker.js';
import { type TestNode, useTwoSharedNodes } from './cluster-nodes.js';
import { persistentClient } from './cluster-test-values.js';
import type { RedisFixture } from './redis-fixture.js';

describe('cluster: a hold from a node that died while it waited for the answer', () => {
  let redis: RedisFixture;
  let old: TestNode;
  let next: TestNode;
  const { clients, collecting } = useTwoSharedNodes((nodes) => ({ redis, old, next } = nodes));

  it('closes nothing: the client stays connected with its session, a QoS 1 message published to it arrives [MQTT-3.1.4-3] [MQTT-3.1.2-5]', async () => {
    const clientId = 'dead-asker';
    const topic = 'dead/asker';
    const connected = await collecting(old, persistentClient(clientId));
    await connected.client.subscribeAsync(topic, { qos: 1 });
    let closed = false;
    const disconnects: (number | undefined)[] = [];
    connected.client.on('close', () => {
      closed = true;
    });
    connected.client.on('disconnect', (packet) => disconnects.push(packet.reasonCode));

    // A node id that no live node holds: the asking node was killed, its lease is gone.
    let dead = 0;
    while (dead === old.nodeId || dead === next.nodeId) dead++;
    assert.equal(await redis.redis.exists(`pipit:node:${dead}`), 0, 'the asking node is dead');
    const owner = `${dead}/killed-instance`;
    // Its word, set before it asked, stands until it expires (two waits after it was set).
    await redis.redis.set(`pipit:asking:${clientId}:${owner}`, '1', 'PX', 60_000);

    // Its hold reaches the old node now.
    const stale = () => old.broker.cluster!.status().moves.staleHolds ?? 0;
    const staleBefore = stale();
    const hold = { t: 'hold', clientId, from: dead, req: `${dead}:1`, owner };
    await redis.redis.publish(`pipit:control:${old.nodeId}`, JSON.stringify(hold));
    await waitFor(() => stale() > staleBefore || closed, 20_000, 'the old node to read the hold');
    assert.deepEqual(disconnects, [], 'no DISCONNECT (0x8E) for a move nobody waits for');
    assert.equal(closed, false, 'the client stays connected');
    assert.equal(stale(), staleBefore + 1, 'counted as stale');

    // Its session stays on the old node, routed: a message published on the other node reaches it.
    const publisher = await connectClient(next.url, { protocolVersion: 5 });
    clients.push(publisher);
    await publisher.publishAsync(topic, 'after the dead node’s hold', { qos: 1 });
    await waitFor(() => connected.messages.length > 0, 10_000, 'the message published to it');
    assert.deepEqual(
      connected.messages.map((m) => [m.topic, m.payload, m.packet.qos]),
      [[topic, 'after the dead node’s hold', 1]],
    );
    assert.equal(closed, false);
    const ownerKey = await redis.redis.get(`pipit:owner:${clientId}`);
    assert.equal(ownerKey?.split('/')[0], String(old.nodeId), 'the old node still owns it');
    assert.equal(old.broker.core.sessions.get(clientId)?.output !== undefined, true, 'online');
  });
});
