/**
 * No Local for the messages parked for a session on its way in (session-arrival.ts): the
 * stand-in's subscriber id is not the client id, so the router matched every subscription
 * of the session for it; on landing, an own message goes through the matching subscriptions
 * without No Local only, merged as the router merges overlapping subscriptions (one copy, the
 * highest QoS of those, their subscription identifiers only) [MQTT-3.8.3-3]. Before, an own
 * message was dropped only when every subscription of the session was No Local, and otherwise
 * delivered with every matching subscription's QoS and identifiers.
 *
 * Two nodes in this process on a real redis-server with the Redis store; the old node's
 * answer to the release is held back on the new node (control-tap.ts) while messages whose
 * origin is the moving client are routed on the old node (what a client's own publish looks
 * like to the router: `origin` is its client id; the client itself is disconnected during the
 * move, so they are put into the old node's pipeline directly), so they reach the new node's
 * stand-in only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { createMessage } from '../../src/core/index.js';
import { endClient, waitFor } from '../helpers/broker.js';
import { connectCollecting, startSharedNode, type TestNode } from './cluster-nodes.js';
import { persistentClient } from './cluster-test-values.js';
import { ControlTap } from './control-tap.js';
import { RedisFixture } from './redis-fixture.js';

describe('cluster: No Local on the messages parked for an arriving session', () => {
  let redis: RedisFixture;
  let old: TestNode;
  let next: TestNode;
  const clients: MqttClient[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    old = await startSharedNode(redis);
    next = await startSharedNode(redis);
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    await old.close();
    await next.close();
    await redis.stop();
  });

  /** Routes a QoS 2 message on the old node, published (as the router sees it) by `origin`. */
  function publishOnOld(topic: string, payload: string, origin: string): void {
    const { core } = old.broker;
    const fields = { topic, payload: Buffer.from(payload), qos: 2 as const, retain: false, origin };
    core.pipeline.route(createMessage(core.messageIds.take(), fields, Date.now()));
  }

  it('delivers an own parked message through the matching subscriptions without No Local only: once, with their QoS and subscription identifiers; not at all when each matching one is No Local [MQTT-3.8.3-3] [MQTT-3.3.4-4]', async () => {
    const options = persistentClient('nl-sub', 60_000);
    const first = await connectCollecting(old.url, options);
    await first.client.subscribeAsync('nl/#', {
      qos: 2,
      nl: true,
      properties: { subscriptionIdentifier: 1 },
    });
    await first.client.subscribeAsync('nl/+', {
      qos: 1,
      properties: { subscriptionIdentifier: 2 },
    });
    await endClient(first.client);

    const tap = new ControlTap(next);
    tap.hold((m) => m.t === 'released'); // the old node let go; the new node parks meanwhile
    const moving = connectCollecting(next.url, options);
    await waitFor(() => tap.held.length > 0, 20_000, 'the old node to let go of the session');
    const received = next.broker.cluster!.status().inbox.received;
    publishOnOld('nl/both', 'own-both', 'nl-sub'); // nl/# (No Local) and nl/+
    publishOnOld('nl/deep/er', 'own-no-local', 'nl-sub'); // nl/# (No Local) only
    publishOnOld('nl/other', 'not-own', 'someone-else'); // nl/# and nl/+
    await waitFor(
      () => next.broker.cluster!.status().inbox.received >= received + 3,
      20_000,
      'the new node to park the three messages',
    );
    tap.stopHolding(true); // the answer comes: the session lands with what was parked

    const moved = await moving;
    clients.push(moved.client);
    assert.equal(moved.sessionPresent, true);
    await waitFor(() => moved.messages.some((m) => m.payload === 'not-own'), 20_000, 'not-own');
    // Published after the parked ones: once it is here, the parked ones came (or never will).
    publishOnOld('nl/other', 'end', 'someone-else');
    await waitFor(() => moved.messages.some((m) => m.payload === 'end'), 20_000, 'the end mark');

    const got = (payload: string) => moved.messages.filter((m) => m.payload === payload);
    // One identifier comes as a number, several as an array (mqtt-packet).
    const ids = (payload: string) =>
      got(payload).map((m) => [m.packet.properties?.subscriptionIdentifier ?? []].flat());
    assert.equal(got('own-no-local').length, 0, 'an own message through a No Local subscription');
    assert.equal(got('own-both').length, 1);
    assert.equal(got('own-both')[0]!.packet.qos, 1, 'the QoS of the plain subscription only');
    assert.deepEqual(ids('own-both'), [[2]], 'the plain subscription’s identifier only');
    // Someone else's message: both subscriptions, as the router merges them.
    assert.equal(got('not-own').length, 1);
    assert.equal(got('not-own')[0]!.packet.qos, 2);
    assert.deepEqual(
      ids('not-own').map((list) => list.sort()),
      [[1, 2]],
    );
  });
});
