/**
 * Cluster test helpers: Pipit nodes in this process on one Redis, and waiting for one node
 * to see another's routes.
 */
import type { BrokerOptions } from '../../src/index.js';
import { startBroker, type TestBroker, waitFor } from '../helpers/broker.js';
import type { RedisFixture } from './redis-fixture.js';

/** Lease timing short enough for tests of departures (the defaults are 10 s / 2.5 s). */
export const TEST_LEASE = { leaseMs: 1000, heartbeatMs: 100 } as const;

/** A broker started as a cluster node on `redis` (memory store). */
export async function startNode(
  redis: RedisFixture,
  options: BrokerOptions = {},
): Promise<TestBroker & { nodeId: number }> {
  const node = await startBroker({
    persistence: { kind: 'memory' },
    ...options,
    cluster: { url: redis.url, ...TEST_LEASE, ...options.cluster },
  });
  return { ...node, nodeId: node.broker.cluster!.nodeId };
}

/** The filters `observer` has of peer `nodeId`'s route table. */
export function routesOf(observer: TestBroker, nodeId: number): string[] {
  const peer = observer.broker.cluster!.status().peers.find((p) => p.nodeId === nodeId);
  return peer?.filters ?? [];
}

/** Waits until `observer` routes `filter` to node `nodeId` (or no longer does, `present` false). */
export async function waitForRoute(
  observer: TestBroker,
  nodeId: number,
  filter: string,
  present = true,
): Promise<void> {
  await waitFor(
    () => routesOf(observer, nodeId).includes(filter) === present,
    5000,
    `node ${nodeId}'s route ${filter} ${present ? 'to appear' : 'to go'}`,
  );
}
