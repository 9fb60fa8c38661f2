/**
 * Closing a Pipit node whose Redis Cluster is gone (every server killed). ioredis's Cluster
 * queues a command sent while it reconnects (its offline queue), and its `disconnect()` in
 * that state settles none of them (cluster/index.js: `connectionPool.reset([])` on an empty
 * pool emits no "drain", so no "close", so `flushQueue` never runs). The node's inbox reader
 * and its leave steps await such commands: `close()` must return all the same, and say what
 * it did not wait for (issue #11: a node's close() that never returned held a test file).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../helpers/broker.js';
import { capturingLogger } from '../helpers/capturing-logger.js';
import type { TestNode } from './cluster-nodes.js';
import { RedisClusterFixture, startNodeOn } from './redis-cluster-fixture.js';

describe('cluster: a node on a Redis Cluster that is gone', () => {
  let fixture: RedisClusterFixture;
  let a: TestNode | undefined;
  const lines: string[] = [];

  before(async () => {
    fixture = await RedisClusterFixture.start();
    a = await startNodeOn(fixture, {}, capturingLogger(lines));
  });

  after(async () => {
    await fixture?.stop();
  });

  // The timeout only turns a hang (the bug) into a failure; close() itself takes seconds.
  it('closes: close() returns and names the Redis work it stopped waiting for', {
    timeout: 120_000,
  }, async () => {
    const node = a!;
    await fixture.stop();
    await waitFor(
      () => node.broker.cluster!.status().redis === 'reconnecting',
      30_000,
      'the node reconnecting to the Redis Cluster',
    );
    a = undefined;
    await node.close();
    // The leave's commands sat in the commands connection's offline queue (the inbox
    // reader's XREAD may have too, depending on where its loop was).
    assert.ok(
      lines.includes('cluster: stopping did not finish: leaving (address, summary, lease)'),
      lines.join(' | '),
    );
  });
});
