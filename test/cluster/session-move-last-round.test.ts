/**
 * A connect's claim whose last allowed round is a session move (issue #11: nothing
 * acknowledged is lost). Nodes in this process on a real redis-server with the Redis store
 * and short leases (1 s); answers to the new node are held back on it (control-tap.ts) so
 * that the test can name another owner in between, as other nodes' claims did in the soak.
 *
 * The claim reads the owner key, asks the live node it names for the session, and reads the
 * key again, at most four rounds. Its first three rounds here each find a third node named
 * (it holds no session: it lets go of the key and answers so), the fourth the node holding
 * the session, which hands it over: the key is the new node's and the old node let go. The
 * claim used to count that round as its last and refuse the client (0x88) there, dropping
 * its stand-in: the session sat in the store with no node routing it, and a QoS 1 message
 * acknowledged meanwhile matched nothing (the soak, seed 16 round 14: 760 messages published
 * on the node that had just handed six sessions over this way; seed 13 round 18: 945).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import {
  type CollectingClient,
  connectCollecting,
  startSharedNode,
  type TestNode,
  waitForRoute,
} from './cluster-nodes.js';
import { persistentClient } from './cluster-test-values.js';
import { ControlTap } from './control-tap.js';
import { MOVE_CONNECT_TIMEOUT_MS } from './move-give-up.js';
import { RedisFixture } from './redis-fixture.js';

const CLIENT = 'last-round';
const TOPIC = 'lr/t';
const OWNER_KEY = `pipit:owner:${CLIENT}`;

describe('cluster: a claim whose last round moves the session here', () => {
  let redis: RedisFixture;
  let old: TestNode;
  let next: TestNode;
  let third: TestNode;
  const clients: MqttClient[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    old = await startSharedNode(redis);
    next = await startSharedNode(redis);
    third = await startSharedNode(redis);
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    for (const node of [old, next, third]) await node.close();
    await redis.stop();
  });

  /** The owner key's value naming `node` (its node id and live instance). */
  async function ownerValue(node: TestNode): Promise<string> {
    const instance = await redis.redis.get(`pipit:node:${node.nodeId}`);
    assert.ok(instance, `node ${node.nodeId} has a lease`);
    return `${node.nodeId}/${instance}`;
  }

  it('lands the session and keeps it routed: a QoS 1 message acknowledged after the move reaches the client [MQTT-3.1.4-3] [MQTT-3.1.2-5]', async () => {
    const first = await connectCollecting(old.url, persistentClient(CLIENT));
    clients.push(first.client);
    await first.client.subscribeAsync(TOPIC, { qos: 1 });
    await waitForRoute(next, old.nodeId, TOPIC);
    const oldOwner = await ownerValue(old);
    const thirdOwner = await ownerValue(third);
    assert.equal(await redis.redis.get(OWNER_KEY), oldOwner);

    // Rounds 1-3 find the third node named; before the new node reads the key again after
    // the third node's answer, the key names it again (the third time: the old node).
    await redis.redis.set(OWNER_KEY, thirdOwner);
    const nextTap = new ControlTap(next);
    const isHeld = (m: { t?: unknown }) => m.t === 'held';
    nextTap.hold(isHeld);
    let refused: unknown;
    const connecting = connectCollecting(
      next.url,
      persistentClient(CLIENT, MOVE_CONNECT_TIMEOUT_MS),
    ).catch((err: unknown) => {
      refused = err;
      return undefined;
    });
    for (let round = 1; round <= 3; round++) {
      await waitFor(() => nextTap.held.length > 0, 10_000, `the third node's answer ${round}`);
      // The third node held no session: it let go of the key before it answered.
      assert.equal(await redis.redis.get(OWNER_KEY), null);
      await redis.redis.set(OWNER_KEY, round < 3 ? thirdOwner : oldOwner);
      nextTap.stopHolding(true);
      if (round < 3) nextTap.hold(isHeld);
    }
    const moved: CollectingClient | undefined = await connecting;
    if (moved) clients.push(moved.client);

    // Acknowledged by the old node after it handed the session over.
    const publisher = await connectClient(old.url, { protocolVersion: 5 });
    clients.push(publisher);
    await publisher.publishAsync(TOPIC, 'after the move', { qos: 1 });

    // Refused (before the fix), the client connects again: the session is in the store.
    const back = moved ?? (await connectCollecting(next.url, persistentClient(CLIENT)));
    if (moved === undefined) clients.push(back.client);
    assert.equal(back.sessionPresent, true);
    await waitFor(() => back.messages.length > 0, 10_000, 'the message published after the move');
    assert.deepEqual(
      back.messages.map((m) => [m.topic, m.payload]),
      [[TOPIC, 'after the move']],
    );
    assert.equal(refused, undefined, 'the claim that moved the session here connected its client');
    assert.equal(await redis.redis.get(OWNER_KEY), await ownerValue(next));
    assert.equal(old.broker.core.sessions.has(CLIENT), false);
    assert.equal(next.broker.core.sessions.has(CLIENT), true);
  });
});
