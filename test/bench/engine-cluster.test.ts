/**
 * The load generator's publisherPorts / subscriberPorts (what bench/cluster.bench.ts uses):
 * publishers on one Pipit cluster node, subscribers on the other, over a real redis-server.
 * Every message crosses the nodes: nothing lost, duplicated or reordered; each role is
 * connected where it was sent. Counts are asserted, never timing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runBench } from '../../src/bench/index.js';
import { TwoNodes } from '../cluster/cluster-nodes.js';

let nodes: TwoNodes;
before(async () => {
  nodes = await TwoNodes.start();
});
after(() => nodes.stop());

describe('engine: publishers and subscribers on different ports (two cluster nodes)', () => {
  for (const qos of [0, 1] as const) {
    test(`fanin 3→1 at QoS ${qos}, publishers on A, subscriber on B: every message crosses once, in order`, async () => {
      const { a, b } = nodes;
      let connected: [number, number] | undefined;
      const r = await runBench({
        scenario: 'fanin',
        count: 3,
        qos,
        durationMs: 1000,
        warmupMs: 200,
        port: a.port,
        publisherPorts: [a.port],
        subscriberPorts: [b.port],
        onMeasureStart: () => {
          connected = [
            a.broker.core.metrics.connectionsCurrent,
            b.broker.core.metrics.connectionsCurrent,
          ];
        },
      });
      assert.deepEqual(connected, [3, 1], 'three publishers on A, the subscriber on B');
      assert.equal(r.lost, 0, 'lost');
      assert.equal(r.duplicated, 0, 'duplicated');
      assert.equal(r.outOfOrder, 0, 'out of order');
      assert.equal(r.errors, 0, 'errors');
      assert.ok(r.delivered > 0, 'messages crossed while measuring');
      assert.equal(r.totalDelivered, r.totalSent, 'all delivered after the drain');
      assert.ok(b.broker.cluster!.status().inbox.received > 0, 'through B’s inbox');
    });
  }
});
