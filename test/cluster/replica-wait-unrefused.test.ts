/**
 * `cluster.wait` for the writes nothing can refuse: an owner key a node takes without a
 * connect's claim (here: the sessions it restores at start) rides the node's next `WAIT`;
 * with the replica stopped (SIGSTOP) it comes back short, which is counted
 * (`status().replicaWait.unconfirmed`) and logged, and the key is kept (the node that held the
 * session let go of it already: refusing would strand it). Two Pipit nodes in this process
 * with the shared store, on a real redis-server with one real replica.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { capturingLogger } from '../helpers/capturing-logger.js';
import { startSharedNode, type TestNode } from './cluster-nodes.js';
import { REPLICA_WAIT_LEASE as LEASE, REPLICA_WAIT as WAIT } from './cluster-test-values.js';
import { RedisFixture } from './redis-fixture.js';
import { ReplicaFixture } from './replica-fixture.js';

describe('cluster: cluster.wait for the owner keys taken without a claim (counted, not refused)', () => {
  let redis: RedisFixture;
  let replica: ReplicaFixture;
  let restoring: TestNode | undefined;
  const lines: string[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    replica = await ReplicaFixture.start(redis);
  });

  after(async () => {
    replica?.resume();
    await restoring?.close();
    await replica?.stop();
    await redis?.stop();
  });

  it('the owner key of a session restored at start rides the next WAIT: short (replica stopped), it is counted and logged, and kept', async () => {
    const cluster = { url: redis.url, ...LEASE, wait: WAIT };
    // A persistent session left in the shared store by a node that stopped.
    const first = await startSharedNode(redis, { cluster });
    const client = await connectClient(first.url, {
      protocolVersion: 5,
      clientId: 'restored-here',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    });
    await client.subscribeAsync('kept/#', { qos: 1 });
    await endClient(client);
    await first.close();

    replica.pause();
    try {
      restoring = await startSharedNode(redis, { cluster, logger: capturingLogger(lines) });
      const node = restoring;
      assert.ok(node.broker.core.sessions.has('restored-here'), 'the session restored at start');
      await waitFor(
        () => (node.broker.cluster!.status().replicaWait?.unconfirmed ?? 0) >= 1,
        10_000,
        'the restored owner key’s WAIT to come back short',
      );
      assert.ok(
        lines.some((l) =>
          l.startsWith(
            'cluster: the owner keys of sessions restored at start not on enough Redis replicas in time',
          ),
        ),
        lines.join(' | '),
      );
      // Kept, not let go: the node holds the session.
      const owner = await redis.redis.get('pipit:owner:restored-here');
      assert.equal(owner?.split('/')[0], String(node.nodeId));
    } finally {
      replica.resume();
    }
  });
});
