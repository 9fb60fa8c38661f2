/**
 * The sessions of a node that dies (`kill -9`): once its lease has expired, the survivor that
 * removes its traces adopts the sessions it held (reads them from the shared store), so their
 * subscriptions are routed again and messages are queued until their clients come back. A
 * `pipit broker --cluster` child (the Redis store on the cluster's Redis) and a node in this
 * process, on a real redis-server.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectClient, endClient, type TestBroker, waitFor } from '../helpers/broker.js';
import { type CliNode, killNode, startCliNode } from './cli-node.js';
import { connectCollecting, startSharedNode, waitForRoute } from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

describe('cluster: the sessions of a dead node', () => {
  let redis: RedisFixture;
  let doomed: CliNode;
  let survivor: TestBroker & { nodeId: number };

  before(async () => {
    redis = await RedisFixture.start();
    const dir = mkdtempSync(join(tmpdir(), 'pipit-death-'));
    const file = join(dir, 'pipit.yaml');
    writeFileSync(file, `cluster:\n  url: ${redis.url}\n  leaseMs: 1000\n  heartbeatMs: 100\n`);
    doomed = await startCliNode(redis.url, ['-c', file]);
    survivor = await startSharedNode(redis);
  });

  after(async () => {
    await killNode(doomed);
    await survivor.close();
    await redis.stop();
  });

  it('are adopted by the survivor that removes its traces: messages are queued for them, and their clients resume there', async () => {
    const persistent = {
      protocolVersion: 5,
      clientId: 'survives',
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    } as const;
    const first = await connectCollecting(doomed.url, persistent);
    first.client.on('error', () => {});
    await first.client.subscribeAsync('death/#', { qos: 1 });
    const doomedId = Number((await redis.redis.get('pipit:owner:survives'))?.split('/')[0]);
    await waitForRoute(survivor, doomedId, 'death/#');

    await killNode(doomed);
    await endClient(first.client, true);
    await waitFor(
      () => survivor.broker.core.sessions.has('survives'),
      15_000,
      'the survivor to adopt the session',
    );
    assert.match(
      (await redis.redis.get('pipit:owner:survives')) ?? '',
      new RegExp(`^${survivor.nodeId}/`),
    );
    const publisher = await connectClient(survivor.url, { protocolVersion: 5 });
    await publisher.publishAsync('death/x', 'kept', { qos: 1 });
    await endClient(publisher);

    const back = await connectCollecting(survivor.url, persistent);
    try {
      assert.equal(back.sessionPresent, true);
      await waitFor(() => back.messages.length === 1, 5000, 'the queued message');
      assert.equal(back.messages[0]!.payload, 'kept');
    } finally {
      await endClient(back.client);
    }
  });
});
