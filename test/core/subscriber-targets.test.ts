/**
 * Subscribers behind an interface (src/core/subscriber.ts): the router delivers to a local
 * session or to any other Subscriber (a remote node, a bridge; here a target the test
 * implements, as a cluster will) through the same path, and shared-subscription groups
 * choose among members of either kind, online members first.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BrokerCore, Delivery, Subscriber, Subscription } from '../../src/core/index.js';
import type { QoS } from '../../src/protocol/index.js';
import {
  connectV5,
  createTestCore,
  type FakeClient,
  publish,
  publishes,
  subscribe,
} from '../helpers/core-harness.js';

/** A subscriber that is not a session: it keeps what the router hands it. */
class RemoteTarget implements Subscriber {
  readonly deliveries: Delivery[] = [];
  online = true;
  matchStamp = 0;
  matchQos = 0;
  matchRetainAsPublished = false;
  matchSubscriptionIds: number[] | undefined = undefined;

  constructor(readonly subscriberId: string) {}

  deliver(delivery: Delivery): void {
    this.deliveries.push(delivery);
  }
}

function subscribeTarget(
  core: BrokerCore,
  target: Subscriber,
  filter: string,
  qos: QoS,
  subscriptionId?: number,
): void {
  const shared = /^\$share\/([^/]+)\//.exec(filter);
  const subscription: Subscription = {
    subscriber: target,
    filter,
    qos,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    subscriptionId,
    shareGroup: shared?.[1],
  };
  core.router.add(subscription);
}

/** Topics of the PUBLISH packets `client` got since the last call. */
function topicsOf(client: FakeClient): string[] {
  return publishes(client.take()).map((p) => p.payload.toString());
}

describe('core: subscribers that are not sessions', () => {
  it('[MQTT-3.3.4-2] [MQTT-3.3.4-4] a remote target gets one delivery per publish: overlapping filters merged at the highest QoS, with every subscription id', () => {
    const { core } = createTestCore();
    const node = new RemoteTarget('node/b');
    subscribeTarget(core, node, 'a/+', 0, 1);
    subscribeTarget(core, node, 'a/#', 1, 2);
    const local = connectV5(core, 'local');
    subscribe(local, 'a/b', 1);
    const pub = connectV5(core, 'pub');
    publish(pub, { topic: 'a/b', qos: 1, payload: Buffer.from('m') });
    const puback = pub.take()[0];
    assert.ok(puback?.type === 'puback');
    assert.equal(puback.reasonCode, 0, 'both subscribers count as matched');
    assert.equal(node.deliveries.length, 1);
    const [delivery] = node.deliveries;
    assert.equal(delivery!.qos, 1);
    assert.deepEqual([...delivery!.subscriptionIds!].sort(), [1, 2]);
    assert.equal(delivery!.message.topic, 'a/b');
    assert.deepEqual(topicsOf(local), ['m']);
    assert.equal(core.router.remove(node, 'a/#'), true);
    publish(pub, { topic: 'a/b', qos: 0, payload: Buffer.from('n') });
    assert.equal(node.deliveries.length, 2);
    assert.deepEqual(node.deliveries[1]!.subscriptionIds, [1]);
  });

  it('a shared group chooses among a session and a remote target in turn, online members first', () => {
    const { core } = createTestCore();
    const member = connectV5(core, 'member');
    subscribe(member, '$share/g/s/t', 0);
    const node = new RemoteTarget('node/b');
    subscribeTarget(core, node, '$share/g/s/t', 0);
    const pub = connectV5(core, 'pub');
    for (let i = 0; i < 4; i++) publish(pub, { topic: 's/t', payload: Buffer.from(`m${i}`) });
    assert.deepEqual(topicsOf(member), ['m0', 'm2']);
    assert.deepEqual(
      node.deliveries.map((d) => d.message.payload.toString()),
      ['m1', 'm3'],
    );
    assert.equal(node.deliveries[0]!.shareFilter, '$share/g/s/t');
    node.online = false; // unreachable: the online session takes everything
    for (let i = 4; i < 7; i++) publish(pub, { topic: 's/t', payload: Buffer.from(`m${i}`) });
    assert.deepEqual(topicsOf(member), ['m4', 'm5', 'm6']);
    assert.equal(node.deliveries.length, 2);
  });

  it('a message in flight to a shared member that leaves goes to a remote member of its group', () => {
    const { core } = createTestCore();
    const member = connectV5(core, 'member');
    subscribe(member, '$share/g/q/t', 1);
    const node = new RemoteTarget('node/b');
    subscribeTarget(core, node, '$share/g/q/t', 1);
    const pub = connectV5(core, 'pub');
    publish(pub, { topic: 'q/t', qos: 1, payload: Buffer.from('unacknowledged') });
    assert.deepEqual(topicsOf(member), ['unacknowledged'], 'sent, never acknowledged');
    assert.equal(node.deliveries.length, 0);
    member.connection.transportClosed();
    assert.deepEqual(
      node.deliveries.map((d) => [d.message.payload.toString(), d.qos, d.shareFilter]),
      [['unacknowledged', 1, '$share/g/q/t']],
    );
  });
});
