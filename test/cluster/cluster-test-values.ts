/**
 * Small values several cluster test files need: the node id a `pipit broker` child
 * logged, and a persistent MQTT 5 client whose will waits.
 */
import assert from 'node:assert/strict';
import type { IClientOptions } from 'mqtt';
import type { CliNode } from './cli-node.js';

/** The node id a `pipit broker --cluster` child logged when it joined (fails without one). */
export function joinedNodeId(node: CliNode): number {
  const joined = /"nodeId":(\d+)[^\n]*"msg":"cluster: joined"/.exec(node.output());
  assert.ok(joined, `no "cluster: joined" line in:\n${node.output()}`);
  return Number(joined[1]);
}

/**
 * A persistent v5 client (session expiry 300 s) whose QoS 1 will on `dw/<client id>` waits
 * `delay` seconds after its connection ends.
 */
export function delayedWillClient(clientId: string, delay: number): IClientOptions {
  return {
    protocolVersion: 5,
    clientId,
    clean: false,
    reconnectPeriod: 0,
    properties: { sessionExpiryInterval: 300 },
    will: {
      topic: `dw/${clientId}`,
      payload: Buffer.from(`will of ${clientId}`),
      qos: 1,
      retain: false,
      properties: { willDelayInterval: delay },
    },
  };
}

/**
 * A persistent v5 client (clean start 0, session expiry 300 s). `connectTimeout` (ms) for
 * connects that may wait on a session move's answer (a few leases).
 */
export function persistentClient(clientId: string, connectTimeout?: number): IClientOptions {
  const options: IClientOptions = {
    protocolVersion: 5,
    clientId,
    clean: false,
    properties: { sessionExpiryInterval: 300 },
  };
  if (connectTimeout !== undefined) options.connectTimeout = connectTimeout;
  return options;
}

/**
 * `cluster.wait` for the replica-wait tests: one replica, 3 s at most (a replica on this
 * shared machine may take a while to answer, and a healthy one must not look stopped).
 */
export const REPLICA_WAIT = { replicas: 1, timeoutMs: 3000 } as const;

/**
 * A lease longer than the other tests' (no node dies in the replica-wait tests), so that a
 * `WAIT` of {@link REPLICA_WAIT} fits within it and leaves the heartbeats room (options.ts).
 */
export const REPLICA_WAIT_LEASE = { leaseMs: 10_000, heartbeatMs: 1000 } as const;

/** A persistent v5 client whose connect may wait a whole session move's answer (60 s). */
export const movingClient = (clientId: string): IClientOptions =>
  persistentClient(clientId, 60_000);

/** `<prefix>-0` to `<prefix>-<n - 1>`: payloads that say their order. */
export const numbered = (prefix: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
