/**
 * The node a session moves to is killed during the move (issue #11: nothing acknowledged is
 * lost). The old node let go of the session and handed its owner key over; the new node's
 * answer never comes (gated-node-main.ts, `GATE_RELEASED`: the stand-in for the moment no kill
 * can hit on purpose), so its stand-in keeps what it parked, in memory, read from its inbox.
 * The new node commits its inbox position meanwhile (it goes idle); then it is killed
 * (SIGKILL). The survivor that adopts the session reads the dead node's inbox: the parked
 * messages come before the committed position, and before the parked cursor
 * (src/cluster/parked-position.ts) they were lost, though their publisher had its PUBACK.
 * Messages published while the old node runs its route barrier (the third node's part of it
 * held back, control-tap.ts) reach both: queued by the old node, parked by the new one; the
 * survivor leaves them out by message id (the session holds them), so each comes once.
 * Nodes: the old one and a third one (publisher, survivor) in this process, the new one a
 * child process, all on a real redis-server with the Redis store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { connectBytes, RawClient } from '../helpers/raw-client.js';
import { type CollectingClient, connectCollecting, waitForRoute } from './cluster-nodes.js';
import { movingClient, numbered } from './cluster-test-values.js';
import { ControlTap } from './control-tap.js';
import { MoveTrio } from './move-trio.js';
import { kill, startGatedNode } from './recovery-fixture.js';

describe('cluster: the new node dies during a session move', () => {
  let trio: MoveTrio;

  before(async () => {
    trio = await MoveTrio.start();
  });

  after(() => trio.stop());

  it('delivers what the new node parked, once, from its inbox after it is killed: every QoS 1 message a third node acknowledged [MQTT-3.1.4-3] [MQTT-3.1.2-5]', async () => {
    const { redis, old, third, clients, raws } = trio;
    const first = await connectCollecting(old.url, movingClient('nd-sub'));
    await first.client.subscribeAsync('nd/t', { qos: 1 });
    await endClient(first.client);
    await waitForRoute(third, old.nodeId, 'nd/t');
    const publisher = await connectClient(third.url, { protocolVersion: 5 });
    clients.push(publisher);
    const publishAll = async (payloads: string[]) => {
      for (const payload of payloads) await publisher.publishAsync('nd/t', payload, { qos: 1 });
    };
    const queued = numbered('queued', 3);
    await publishAll(queued); // queued on the old node, for the offline session

    // A longer lease: the new node waits three for the answer before it lands the session on
    // its own (then nothing parked is left to read again), and one for the hold.
    const next = await startGatedNode(redis.url, { GATE_RELEASED: '1', LEASE_MS: '4000' });
    trio.next = next;
    const nextId = next.nodeId;
    // The third node's marker of the route barrier waits: the old node still holds the session.
    const tap = new ControlTap(third);
    tap.hold((m) => m.t === 'barrier');
    // The client connects on the new node: a move (its CONNACK never comes).
    const raw = await RawClient.open(Number(new URL(next.url).port), 5);
    raws.push(raw);
    raw.write(
      connectBytes(5, 'nd-sub', { clean: false, properties: { sessionExpiryInterval: 300 } }),
    );
    await waitFor(() => tap.held.length > 0, 20_000, 'the old node to run its route barrier');
    // The third node has the new node's route (announced before the barrier was asked for)
    // and the old node's: these are queued by the old node and parked by the new one.
    const both = numbered('both', 4);
    await publishAll(both);
    tap.stopHolding(true);
    let released = false;
    void next.gated.then(() => {
      released = true;
    });
    await waitFor(() => released || raw.received.length > 0, 30_000, 'the release');
    // The old node let go and handed the key over; its answer was dropped, the client waits.
    assert.deepEqual(raw.received, [], 'the client was answered: the move did not go as planned');
    assert.equal((await redis.redis.get('pipit:owner:nd-sub'))?.split('/')[0], String(nextId));

    // The old node let go: these reach the new node's stand-in only, through its inbox.
    const during = numbered('during', 10);
    await publishAll(during);
    // The new node read them and committed its position up to its inbox's last entry.
    const instance = await redis.redis.hget('pipit:instances', String(nextId));
    const inboxEnd = async () =>
      (await redis.redis.xrevrange(`pipit:inbox:${nextId}`, '+', '-', 'COUNT', 1))[0]?.[0];
    await waitFor(
      async () => {
        const keys = await redis.redis.keys(`*cursor:inbox:${instance}`);
        const at = keys[0] === undefined ? null : await redis.redis.get(keys[0]);
        return at !== null && at === (await inboxEnd());
      },
      20_000,
      'the new node to commit its inbox position',
    );

    // Still waiting: the session did not land on the new node (its parked messages are in memory).
    assert.deepEqual(raw.received, [], 'the session landed before the kill');
    await kill(next.child);
    // A survivor adopts the session with the dead node's inbox.
    await waitFor(
      async () => {
        const owner = (await redis.redis.get('pipit:owner:nd-sub'))?.split('/')[0];
        const recovering = await redis.redis.exists(`pipit:recovering:${nextId}`);
        return owner !== undefined && owner !== String(nextId) && recovering === 0;
      },
      30_000,
      'a survivor to adopt the session',
    );
    const moved: CollectingClient = await connectCollecting(third.url, movingClient('nd-sub'));
    clients.push(moved.client);
    assert.equal(moved.sessionPresent, true);
    const later = numbered('after', 2);
    await publishAll(later);

    const expected = [...queued, ...both, ...during, ...later];
    const got = (): string[] => moved.messages.map((m) => m.payload);
    // A safety net only: the assertions below say what is missing.
    await waitFor(() => expected.every((p) => got().includes(p)), 30_000).catch(() => {});
    const missing = expected.filter((p) => !got().includes(p));
    assert.deepEqual(missing, [], `acknowledged and never delivered: ${missing.join(', ')}`);
    const twice = expected.filter((p) => got().filter((q) => q === p).length > 1);
    assert.deepEqual(twice, [], `delivered twice: ${twice.join(', ')}`);
    // The messages both nodes had were read again and left out by id, on whichever survivor.
    const leftOut = [old, third].reduce(
      (n, node) => n + node.broker.cluster!.status().orphans.duplicates,
      0,
    );
    assert.ok(leftOut >= both.length, `${leftOut} left out by message id`);
  });
});
