/**
 * A connect's claim of a client id that completes after its client gave up (issue #11:
 * nothing acknowledged is lost; one owner per client id [MQTT-3.1.4-3]). Nodes in this
 * process on a real redis-server with the Redis store and short leases (1 s); control
 * messages are held back on the node that reads them (control-tap.ts).
 *
 * The claim took the owner key after its connection had closed: nothing asked for the session
 * again, and the node kept a mark that the client id's check had passed. Once another node
 * had taken the client id over (asking this one, which let go of the key), the client's next
 * connect here found the mark, skipped the check and read the session from the store while
 * the other node still held it, telling that node only afterwards. In the soak (seed 16,
 * rounds 1 and 2) that other node had just been killed, its lease still running: messages
 * this node had forwarded to its inbox for the client were never delivered, since the owner
 * key no longer named the dead node when a survivor read its inbox. Now a claim that found
 * the key elsewhere since asks its holder again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { endClient, waitFor } from '../helpers/broker.js';
import { connectCollecting, startSharedNode, type TestNode } from './cluster-nodes.js';
import { persistentClient } from './cluster-test-values.js';
import { ControlTap } from './control-tap.js';
import { MOVE_CONNECT_TIMEOUT_MS } from './move-give-up.js';
import { RedisFixture } from './redis-fixture.js';

const CLIENT = 'abandoned-claim';
const OWNER_KEY = `pipit:owner:${CLIENT}`;

describe('cluster: a claim completed after its client gave up', () => {
  let redis: RedisFixture;
  let here: TestNode;
  let other: TestNode;
  let third: TestNode;
  const clients: MqttClient[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    here = await startSharedNode(redis);
    other = await startSharedNode(redis);
    third = await startSharedNode(redis);
  });

  after(async () => {
    await Promise.all(clients.map((c) => endClient(c, true)));
    for (const node of [here, other, third]) await node.close();
    await redis.stop();
  });

  /** The owner key's value naming `node` (its node id and live instance). */
  async function ownerValue(node: TestNode): Promise<string> {
    const instance = await redis.redis.get(`pipit:node:${node.nodeId}`);
    assert.ok(instance, `node ${node.nodeId} has a lease`);
    return `${node.nodeId}/${instance}`;
  }

  it('asks the node that took the client id over since, rather than read the session it holds [MQTT-3.1.4-3]', async () => {
    // The claim here first asks the third node (named by hand; it holds no session, lets go of
    // the key and answers so); its answer is held back until the client gave up.
    await redis.redis.set(OWNER_KEY, await ownerValue(third));
    const hereTap = new ControlTap(here);
    hereTap.hold((m) => m.t === 'held');
    const gaveUp = mqtt.connect(here.url, { ...persistentClient(CLIENT), reconnectPeriod: 0 });
    gaveUp.on('error', () => {});
    await waitFor(() => hereTap.held.length > 0, 10_000, "the third node's answer");
    await endClient(gaveUp, true);
    hereTap.stopHolding(true);
    // The claim goes on without its client and takes the key.
    const hereOwner = await ownerValue(here);
    await waitFor(
      async () => (await redis.redis.get(OWNER_KEY)) === hereOwner,
      10_000,
      'the abandoned claim taking the key',
    );
    assert.equal(here.broker.core.sessions.has(CLIENT), false);

    // The client connects to the other node, which takes the client id over from this one,
    // subscribes, and leaves its session there, offline.
    const onOther = await connectCollecting(other.url, persistentClient(CLIENT));
    clients.push(onOther.client);
    await onOther.client.subscribeAsync('ac/t', { qos: 1 });
    await endClient(onOther.client);
    const otherOwner = await ownerValue(other);
    assert.equal(await redis.redis.get(OWNER_KEY), otherOwner);
    assert.equal(other.broker.core.sessions.has(CLIENT), true);

    // The other node stays silent (a slow node, or one killed whose lease still runs): a
    // connect here must wait for it to hold the session, not read the session it holds.
    const otherTap = new ControlTap(other);
    otherTap.hold((m) => m.clientId === CLIENT);
    let refusal: unknown;
    try {
      const back = await connectCollecting(
        here.url,
        persistentClient(CLIENT, MOVE_CONNECT_TIMEOUT_MS),
      );
      clients.push(back.client);
    } catch (err) {
      refusal = err;
    }
    assert.ok(otherTap.saw('hold', CLIENT), 'the other node was asked to hold the session');
    assert.match(String(refusal), /Server unavailable|did not let go/i);
    assert.equal(await redis.redis.get(OWNER_KEY), otherOwner, 'the key still names its holder');
    assert.equal(here.broker.core.sessions.has(CLIENT), false);
    assert.equal(other.broker.core.sessions.has(CLIENT), true);
    otherTap.stopHolding(false);
  });
});
