/**
 * Graceful drain of a cluster node (SIGTERM on `pipit broker --cluster`, or `broker.drain()`
 * when embedding): the node stops accepting connections, sends its MQTT 5 clients DISCONNECT
 * 0x9C Use another server with a Server Reference to a live peer that advertises where
 * clients reach it (`cluster.advertise`), closes its 3.x clients, without their wills (a
 * drain is not the clients' failure), lets go of their sessions (kept in the store, evicted
 * here) and hands them to that peer (it reads them from the store and routes their
 * subscriptions, so messages for them are queued while their clients move; a client that
 * connects to another node takes its session from there as usual), releases the owner keys
 * left, and then the broker closes (it leaves the cluster). The sessions' waiting wills go
 * with them, neither sent nor cancelled (drain-wills.ts); a peer that dies meanwhile is not
 * waited for: the next live one takes the sessions, or, with none, they stay in the store.
 */
import type { ClusterNode } from './cluster/index.js';
import type { BrokerCore } from './core/index.js';
import { ReasonCode } from './protocol/index.js';

/** What a drain did. */
export interface DrainResult {
  /** Connections closed (MQTT 5 ones with DISCONNECT 0x9C). */
  readonly clients: number;
  /** Sessions let go: kept in the store for another node. */
  readonly sessions: number;
  /** The peer's `host:port` sent as Server Reference; undefined when no live peer advertises one. */
  readonly serverReference: string | undefined;
}

/**
 * Drains `node`: `stopAccepting` closes the listeners (it stops accepting at once and
 * resolves once their sockets are closed); every connection is closed meanwhile.
 */
export async function drainNode(
  core: BrokerCore,
  node: ClusterNode,
  stopAccepting: () => Promise<void>,
): Promise<DrainResult> {
  // Peers (and their `GET /nodes`) see this node draining from now on.
  await node.markDraining();
  const closing = stopAccepting();
  let serverReference: string | undefined;
  try {
    serverReference = await node.serverReference();
  } catch (err) {
    core.logger.warn(
      { err: String(err) },
      'cluster: drain: no Server Reference (Redis unreachable?)',
    );
  }
  const properties = serverReference === undefined ? undefined : { serverReference };
  let clients = 0;
  for (const conn of [...core.connections]) {
    if (conn.closed) continue;
    conn.discardWill();
    conn.closeNow('server draining', ReasonCode.UseAnotherServer, properties);
    clients++;
  }
  let sessions = 0;
  try {
    sessions = await node.letGoOfSessions(await node.drainPeer(serverReference));
  } catch (err) {
    // The sessions stay in the store; the owner keys die with this node's lease.
    core.logger.warn({ err: String(err) }, 'cluster: drain: letting go of the sessions failed');
  }
  await closing;
  core.logger.info({ clients, sessions, serverReference }, 'cluster: drained');
  return { clients, sessions, serverReference };
}
