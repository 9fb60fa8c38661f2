/**
 * The start both "the old node answers after the new node gave up" tests share: a persistent
 * session subscribed on the old node, one control message of the move held back on the old
 * node, and the client's connect to the new node refused once the new node gave up waiting.
 */
import assert from 'node:assert/strict';
import type { IClientOptions, MqttClient } from 'mqtt';
import { endClient } from '../helpers/broker.js';
import {
  type CollectingClient,
  connectCollecting,
  type TestNode,
  waitForRoute,
} from './cluster-nodes.js';
import { persistentClient } from './cluster-test-values.js';
import { ControlTap } from './control-tap.js';

/** Connects to a move's new node may wait three leases (3 s in these tests). */
export const MOVE_CONNECT_TIMEOUT_MS = 30_000;

/** The taps left on both nodes: the old node's still holds the message back. */
export interface GaveUp {
  oldTap: ControlTap;
  nextTap: ControlTap;
}

/**
 * Leaves `clientId`'s session (subscribed to `topic` at QoS 1) offline on `old`, then
 * connects it to `next` while `old` holds back its `held` control message for the client;
 * asserts that `next` gave up (CONNACK 0x88) with that message still held. A client that
 * connected after all is pushed to `clients` (the assertion then fails).
 */
export async function connectUntilGivenUp(
  nodes: { old: TestNode; next: TestNode },
  collecting: (node: TestNode, options: IClientOptions) => Promise<CollectingClient>,
  clients: MqttClient[],
  clientId: string,
  topic: string,
  held: 'hold' | 'release',
): Promise<GaveUp> {
  const { old, next } = nodes;
  const options = persistentClient(clientId, MOVE_CONNECT_TIMEOUT_MS);
  const first = await collecting(old, options);
  await first.client.subscribeAsync(topic, { qos: 1 });
  await endClient(first.client);
  await waitForRoute(next, old.nodeId, topic);

  // The old node reads the message only after the new node gave up on it.
  const oldTap = new ControlTap(old);
  const nextTap = new ControlTap(next);
  oldTap.hold((m) => m.t === held && m.clientId === clientId);
  const refused = await connectCollecting(next.url, options).then(
    (c) => {
      clients.push(c.client);
      return undefined;
    },
    (err: { code?: number }) => err,
  );
  assert.equal(refused?.code, 0x88, 'the new node gave up: Server unavailable');
  assert.equal(oldTap.held.length, 1, `the ${held} was held back until then`);
  return { oldTap, nextTap };
}
