/**
 * A forward refused because its target node left the cluster (its removal renamed its inbox
 * and took it out of `nodes`, while this node's router still named it) is not acknowledged,
 * and the node says so: the log line names the refusal, not a failed store write. One node
 * with the Redis store on a real redis-server; the departed peer is a route announcement
 * of a node id that is not a member.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { capturingLogger } from '../helpers/capturing-logger.js';
import { startSharedNode, type TestNode, waitForRoute } from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

/** A node id no node holds: the departed peer. */
const DEPARTED = 250;

describe('cluster: a forward to a node that left', () => {
  let redis: RedisFixture;
  let node: TestNode;
  const lines: string[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    node = await startSharedNode(redis, { logger: capturingLogger(lines) });
    // The router still names a node that is no longer a member (as for the few ms between
    // a dead node's removal and the departure announcement).
    await redis.redis.publish(
      'pipit:routes',
      JSON.stringify({ node: DEPARTED, add: ['refused/#'] }),
    );
    await waitForRoute(node, DEPARTED, 'refused/#');
  });

  after(async () => {
    await node.close();
    await redis.stop();
  });

  it('is not acknowledged (v5 PUBACK 0x97) and is logged as a refused forward, not as a failed store write', async () => {
    const client = await connectClient(node.url, { protocolVersion: 5 });
    try {
      await assert.rejects(client.publishAsync('refused/x', 'lost?', { qos: 1 }), (err) => {
        assert.equal((err as { code?: number }).code, 0x97);
        return true;
      });
      await waitFor(
        () => lines.includes('forward refused: its node left the cluster: not acknowledging'),
        5000,
        'the refusal’s log line',
      );
      assert.ok(
        !lines.some((line) => line.startsWith('store write failed')),
        `no "store write failed" line: ${lines.join(' | ')}`,
      );
      assert.equal(node.broker.cluster!.status().outbox.refused, 1);
    } finally {
      await endClient(client);
    }
  });
});
