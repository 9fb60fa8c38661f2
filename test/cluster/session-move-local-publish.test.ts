/**
 * A message published on the node a session moves to, while the session moves, and that node
 * then killed (issue #11: nothing acknowledged is lost). The old node let go of the session and
 * handed its owner key over; the new node's answer never comes (gated-node-main.ts,
 * `GATE_RELEASED`), so its stand-in parks what it gets. A client connected to the new node
 * publishes at QoS 1: only the stand-in matches it there (the old node let go), and there is
 * no inbox entry to read again. Before parked-acks.ts its PUBACK came at once, with the
 * message in the new node's memory only, and the kill lost it; now the PUBACK waits until the
 * session landed and the store holds the message in its queue. Once the PUBACK came the new
 * node is killed (SIGKILL); the survivor that adopts the session delivers the message, once.
 * Nodes: the old one and a third one (the survivor) in this process, the new one a child
 * process, all on a real redis-server with the Redis store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { connectBytes, RawClient } from '../helpers/raw-client.js';
import { connectCollecting, waitForRoute } from './cluster-nodes.js';
import { movingClient } from './cluster-test-values.js';
import { MoveTrio } from './move-trio.js';
import { kill, startGatedNode } from './recovery-fixture.js';

describe('cluster: a message published on the new node during a session move', () => {
  let trio: MoveTrio;

  before(async () => {
    trio = await MoveTrio.start();
  });

  after(() => trio.stop());

  it('is delivered by the survivor, once, when the new node is killed after its PUBACK [MQTT-3.1.2-5]', async () => {
    const { redis, old, third, clients, raws } = trio;
    const first = await connectCollecting(old.url, movingClient('lp-sub'));
    await first.client.subscribeAsync('lp/t', { qos: 1 });
    await endClient(first.client);
    await waitForRoute(third, old.nodeId, 'lp/t');

    const next = await startGatedNode(redis.url, { GATE_RELEASED: '1', LEASE_MS: '2000' });
    trio.next = next;
    const nextId = next.nodeId;
    const publisher = await connectClient(next.url, { protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(publisher);
    // The client connects on the new node: a move (its CONNACK waits for the landing).
    const raw = await RawClient.open(Number(new URL(next.url).port), 5);
    raws.push(raw);
    raw.write(
      connectBytes(5, 'lp-sub', { clean: false, properties: { sessionExpiryInterval: 300 } }),
    );
    let released = false;
    void next.gated.then(() => {
      released = true;
    });
    await waitFor(() => released || raw.received.length > 0, 30_000, 'the release');
    // The old node let go and handed the key over; its answer was dropped: the stand-in parks.
    assert.deepEqual(raw.received, [], 'the client was answered: the move did not go as planned');
    assert.equal((await redis.redis.get('pipit:owner:lp-sub'))?.split('/')[0], String(nextId));

    // Published on the new node: only its stand-in has the session's route there now.
    await publisher.publishAsync('lp/t', 'local-0', { qos: 1 }); // PUBACK received
    await kill(next.child);

    await waitFor(
      async () => {
        const owner = (await redis.redis.get('pipit:owner:lp-sub'))?.split('/')[0];
        const recovering = await redis.redis.exists(`pipit:recovering:${nextId}`);
        return owner !== undefined && owner !== String(nextId) && recovering === 0;
      },
      30_000,
      'a survivor to adopt the session',
    );
    const moved = await connectCollecting(third.url, movingClient('lp-sub'));
    clients.push(moved.client);
    assert.equal(moved.sessionPresent, true);
    const probe = await connectClient(third.url, { protocolVersion: 5 });
    clients.push(probe);
    await probe.publishAsync('lp/t', 'after', { qos: 1 });

    const got = (): string[] => moved.messages.map((m) => m.payload);
    // A safety net only: the assertions below say what is missing.
    await waitFor(() => got().includes('after') && got().includes('local-0'), 20_000).catch(
      () => {},
    );
    assert.ok(got().includes('after'), `the session is routed on the survivor: ${got()}`);
    assert.deepEqual(
      got().filter((p) => p === 'local-0'),
      ['local-0'],
      'the message acknowledged on the new node, delivered once',
    );
  });
});
