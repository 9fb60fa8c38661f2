/**
 * A session move whose client comes back to the old node between the hold and the release
 * (issue #11: no QoS 2 duplicate; seen in the soak: docs/cluster.md, "With Redis failovers").
 * Nodes in this process on a real redis-server with the Redis store and leases of 3 s (the new
 * node waits 9 s for the release's answer); the release is held back on the old node
 * (control-tap.ts), standing for a route barrier that waits for a killed node's lease.
 *
 * The client connects on the new node, which has the old node hold its session (the client's
 * connection there closed), routes it to a stand-in and asks for the release. Meanwhile the
 * client comes back to the old node (its connect to the new node given up, or still waiting)
 * and resumes its session there, online; a QoS 2 message published then is delivered to it
 * there and completed, and the new node's stand-in parks a copy. Only then does the old node
 * read the release: the client connected there after the hold, so the session stays there
 * (as a stale hold leaves it) and the new node drops its stand-in; a connect still waiting on
 * the new node is refused (0x88). Without that, the old node handed the session over and let
 * go (closing the client, 0x8E); the store no longer held the completed message, so the new
 * node delivered its parked copy to the client as a new message: a QoS 2 duplicate.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import {
  connectCollecting,
  startSharedNode,
  type TestNode,
  waitForRoute,
} from './cluster-nodes.js';
import { persistentClient } from './cluster-test-values.js';
import { ControlTap } from './control-tap.js';
import { RedisFixture } from './redis-fixture.js';

const options = (clientId: string): IClientOptions => ({
  ...persistentClient(clientId, 60_000),
  reconnectPeriod: 0,
});

describe('cluster: a session move whose client came back to the old node before the release', () => {
  let redis: RedisFixture;
  let old: TestNode;
  let next: TestNode;
  const clients: MqttClient[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    // Leases of 3 s: the new node waits 9 s for the release, room for the steps in between.
    const cluster = { url: redis.url, leaseMs: 3000, heartbeatMs: 300 };
    old = await startSharedNode(redis, { cluster });
    next = await startSharedNode(redis, { cluster });
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    await old.close();
    await next.close();
    await redis.stop();
  });

  for (const newConnect of ['given up', 'still waiting'] as const) {
    it(`keeps the session on the old node and delivers the QoS 2 message completed there once (the connect to the new node ${newConnect}) [MQTT-3.1.4-3] [MQTT-4.3.3-2]`, async () => {
      const clientId = newConnect === 'given up' ? 'back-gone' : 'back-wait';
      const topic = `back/${clientId}`;
      /** Every message the client id got, on any of its connections. */
      const got: string[] = [];
      const collect = (c: MqttClient) => c.on('message', (_t, payload) => got.push(`${payload}`));

      const first = await connectCollecting(old.url, options(clientId));
      clients.push(first.client);
      await first.client.subscribeAsync(topic, { qos: 2 });
      await endClient(first.client);
      await waitForRoute(next, old.nodeId, topic);

      // The release reaches the old node only when the test hands it on.
      const oldTap = new ControlTap(old);
      const nextTap = new ControlTap(next);
      oldTap.hold((m) => m.t === 'release' && m.clientId === clientId);
      const moving = mqtt.connect(next.url, options(clientId));
      clients.push(moving);
      collect(moving);
      let refused: number | undefined;
      let movingConnected = false;
      moving.on('error', (err) => {
        refused = (err as { code?: number }).code;
      });
      moving.on('connect', () => {
        movingConnected = true;
      });
      await waitFor(() => oldTap.held.length === 1, 10_000, 'the release to reach the old node');
      // The old node forwards to the new node's stand-in from here on.
      await waitForRoute(old, next.nodeId, topic);
      if (newConnect === 'given up') await endClient(moving, true);

      // The client comes back to the old node: its session is there, held.
      const back = await connectCollecting(old.url, options(clientId));
      clients.push(back.client);
      assert.equal(back.sessionPresent, true);
      assert.equal(got.length, 0);
      collect(back.client);
      const disconnects: (number | undefined)[] = [];
      back.client.on('disconnect', (packet) => disconnects.push(packet.reasonCode));

      // A QoS 2 message delivered and completed there; the new node's stand-in parks a copy.
      const received = () => next.broker.cluster!.status().inbox.received;
      const receivedBefore = received();
      const publisher = await connectClient(old.url, { protocolVersion: 5 });
      clients.push(publisher);
      await publisher.publishAsync(topic, 'while back', { qos: 2 });
      await waitFor(() => got.length === 1, 10_000, 'the message on the old node');
      await waitFor(
        () => old.broker.core.sessions.get(clientId)?.inflightCount === 0,
        10_000,
        'the QoS 2 exchange completed on the old node',
      );
      await waitFor(() => received() > receivedBefore, 10_000, 'the copy parked on the new node');

      // The old node reads the release now; the new node still waits for its answer.
      const moves = () => next.broker.cluster!.status().moves;
      const droppedBefore = moves().dropped;
      const settledBefore = moves().arrived + droppedBefore;
      const kept = () => old.broker.cluster!.status().moves.keptReturned;
      const keptBefore = kept();
      const answers = () => nextTap.seen.filter((m) => m.t === 'released').length;
      const answersBefore = answers();
      oldTap.stopHolding(true);
      await waitFor(() => answers() > answersBefore, 20_000, 'the answer to the release');
      await waitFor(
        () => moves().arrived + moves().dropped > settledBefore,
        20_000,
        'the new node to land or drop the session',
      );
      if (newConnect === 'still waiting') {
        await waitFor(() => refused !== undefined || movingConnected, 10_000, 'its CONNACK');
      }

      const owner = await redis.redis.get(`pipit:owner:${clientId}`);
      const keptThere = owner?.split('/')[0] === String(old.nodeId) && kept() === keptBefore + 1;

      // Whatever happened, the client id connects once more on the new node (a full move) and
      // gets a message published after: every message it got, on any connection, is counted.
      const closedByOld = disconnects.length > 0 || !back.client.connected;
      await endClient(back.client);
      await endClient(moving, true);
      const last = await connectCollecting(next.url, options(clientId));
      clients.push(last.client);
      collect(last.client);
      await publisher.publishAsync(topic, 'after', { qos: 2 });
      await waitFor(() => got.includes('after'), 10_000, 'the message published after');
      assert.deepEqual(got, ['while back', 'after'], 'each QoS 2 message once');

      assert.equal(keptThere, true, 'the old node kept the owner key and counted it');
      assert.equal(closedByOld, false, 'the client that came back stayed connected');
      assert.deepEqual(disconnects, [], 'no DISCONNECT (0x8E) for the release');
      if (newConnect === 'still waiting') {
        assert.equal(refused, 0x88, 'the connect waiting on the new node: Server unavailable');
      }
      assert.equal(movingConnected, false, 'the new node never accepted the older connect');
      assert.equal(moves().dropped, droppedBefore + 1, 'the stand-in dropped its parked copy');
    });
  }
});
