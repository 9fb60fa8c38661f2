/**
 * Redis `WAIT` on the connection that holds a Pipit cluster's writes, on one server or on a
 * Redis Cluster.
 *
 * `WAIT replicas timeout` counts the replicas that have every write of the connection it is
 * sent on. On one server (standalone or behind Sentinel) the client has one connection, so
 * `client.wait()` is right. On a Redis Cluster `WAIT` names no key, and ioredis 6 sends a
 * keyless command to any master, at random (cluster/index.js `sendCommand`: no slot, so
 * `getSampleInstance`): the answer would be about another master's writes. Every key of one
 * Pipit cluster carries one hash tag, so its writes go to the master of that tag's slot;
 * here `WAIT` goes there too, through the Cluster's `sendCommand(command, stream, node)` with
 * `node` = `{ slot }` (what its pipelines use: the slot's master from the slot map, queued
 * in order with the other commands while the Cluster is not ready). ioredis sets `node.redis`
 * to the connection it used, so the answer can be checked against the slot map: a MOVED or
 * a failover that moved the slot meanwhile makes it about the wrong master.
 */
import { Cluster, Command, type Redis } from 'ioredis';
import type { RedisClient } from './redis-client.js';

/** A `WAIT` sent: its answer, and whether it went to the slot's master as it is now. */
export interface SentWait {
  /** The number of replicas that had the connection's writes (rejects when WAIT failed). */
  readonly answer: Promise<number>;
  /**
   * True when the connection the `WAIT` went on is still the one to the master of the
   * slot (always on one server). Read once the answer came.
   */
  onSlotMaster(): boolean;
}

/** The hash slot of `key` (of its `{tag}`), as Redis Cluster and ioredis compute it. */
export function slotOf(key: string): number {
  return new Command('exists', [key]).getSlot();
}

/**
 * Sends `WAIT replicas timeoutMs` on the connection that holds the writes to `slot` (on one
 * server: its only connection), right behind the commands sent before it there.
 */
export function sendWait(
  client: RedisClient,
  slot: number,
  replicas: number,
  timeoutMs: number,
): SentWait {
  if (!(client instanceof Cluster)) {
    return { answer: client.wait(replicas, timeoutMs), onSlotMaster: () => true };
  }
  const node: { slot: number; redis?: Redis } = { slot };
  const command = new Command('wait', [replicas, timeoutMs]);
  client.sendCommand(command, undefined, node);
  return {
    answer: command.promise as Promise<number>,
    onSlotMaster: () => node.redis !== undefined && isSlotMaster(client, slot, node.redis),
  };
}

/** True when `connection` is the Cluster's live connection to the master of `slot`. */
function isSlotMaster(cluster: Cluster, slot: number, connection: Redis): boolean {
  const master = cluster.slots[slot]?.[0];
  const { host, port } = connection.options;
  return (
    master === `${host}:${port}` &&
    connection.status === 'ready' &&
    cluster.nodes('master').includes(connection)
  );
}
