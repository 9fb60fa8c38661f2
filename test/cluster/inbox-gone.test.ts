/**
 * A forward is a plain `XADD ... NOMKSTREAM` that appends only to an existing inbox (outbox.ts):
 * a member's inbox is made when it joins, and the removal of a dead node renames it away. A
 * member whose inbox stream is gone anyway (deleted by hand; evicted under a `maxmemory`
 * policy other than `noeviction`) gets no forwards: each is refused (v5 PUBACK 0x97, counted
 * in `status().outbox.refused`, logged) until the node's next heartbeat makes the inbox again
 * (logged), then forwards are written and delivered as before. Two nodes in this process with
 * the Redis store (an acknowledgement waits for the forward's XADD) on a real redis-server; the subscriber's node beats every 2 s, so the deletion falls between
 * two of its beats (tried again if a beat came in between).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { connectClient, endClient, waitFor } from '../helpers/broker.js';
import { capturingLogger } from '../helpers/capturing-logger.js';
import {
  type CollectingClient,
  connectCollecting,
  startSharedNode,
  type TestNode,
  waitForRoute,
} from './cluster-nodes.js';
import { RedisFixture } from './redis-fixture.js';

const REMADE =
  'cluster: our inbox stream was gone (deleted or evicted?): made again; forwards to this node were refused meanwhile';

describe('cluster: a member whose inbox stream is gone', () => {
  let redis: RedisFixture;
  let a: TestNode;
  let b: TestNode;
  let subscriber: CollectingClient;
  let publisher: MqttClient;
  const aLines: string[] = [];
  const bLines: string[] = [];

  before(async () => {
    redis = await RedisFixture.start();
    a = await startSharedNode(redis, { logger: capturingLogger(aLines) });
    b = await startSharedNode(redis, {
      logger: capturingLogger(bLines),
      cluster: { url: redis.url, leaseMs: 20_000, heartbeatMs: 2_000 },
    });
    subscriber = await connectCollecting(b.url, { protocolVersion: 5, clientId: 'gone-sub' });
    await subscriber.client.subscribeAsync('gone/#', { qos: 1 });
    await waitForRoute(a, b.nodeId, 'gone/#');
    publisher = await connectClient(a.url, { protocolVersion: 5 });
  });

  after(async () => {
    await endClient(publisher);
    await endClient(subscriber.client);
    await a.close();
    await b.close();
    await redis.stop();
  });

  it('refuses forwards to it (0x97, counted, logged) until its next heartbeat makes the inbox again', async () => {
    await publisher.publishAsync('gone/before', 'before', { qos: 1 });
    let refused = 0;
    for (let attempt = 0; attempt < 5 && refused === 0; attempt++) {
      await redis.redis.del(`pipit:inbox:${b.nodeId}`);
      await publisher.publishAsync('gone/while', 'while', { qos: 1 }).catch((err) => {
        assert.equal((err as { code?: number }).code, 0x97);
        refused++;
      });
    }
    assert.equal(refused, 1, 'a forward to the missing inbox is refused');
    assert.equal(a.broker.cluster!.status().outbox.refused, 1);
    assert.equal(await redis.redis.exists(`pipit:inbox:${b.nodeId}`), 0, 'nothing made it again');
    await waitFor(
      () => aLines.some((line) => line.startsWith('cluster: forward refused')),
      5000,
      'the refusal’s log line',
    );

    await waitFor(() => bLines.includes(REMADE), 10_000, 'the inbox made again at a heartbeat');
    assert.equal(await redis.redis.type(`pipit:inbox:${b.nodeId}`), 'stream');
    await publisher.publishAsync('gone/after', 'after', { qos: 1 });
    await waitFor(
      () => subscriber.messages.some((m) => m.payload === 'after'),
      5000,
      'the forward after the heartbeat',
    );
    assert.ok(subscriber.messages.some((m) => m.payload === 'before'));
    assert.equal(a.broker.cluster!.status().outbox.refused, 1, 'no refusal after it');
  });
});
